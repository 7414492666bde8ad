"""The WHMCS schema fixtures made by tools/gen_whmcs_schema.py are what the generator makes of their markdown now:
nobody edited the SQL by hand, and the markdown still passes the generator's own cross-checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rig.paths import REPO


def test_the_invoice_tables_fixture_is_generated_from_its_markdown(tmp_path: Path) -> None:
    out = tmp_path / "whmcs_schema_invoices.sql"
    run = subprocess.run([sys.executable, "tools/gen_whmcs_schema.py", "rig/whmcs_tables_invoices.md", str(out)],
                         cwd=REPO, capture_output=True, text=True, check=False)  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "(2 tables)" in run.stdout
    assert out.read_text(encoding="utf-8") == (REPO / "rig" / "whmcs_schema_invoices.sql").read_text(encoding="utf-8")
