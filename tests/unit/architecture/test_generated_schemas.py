"""The WHMCS schema fixtures made by tools/gen_whmcs_schema.py are what the generator makes of their markdown now:
nobody edited the SQL by hand, and the markdown still passes the generator's own cross-checks."""

from __future__ import annotations

from rig.paths import REPO
from tools.gen_whmcs_schema import parse, render, validate


def test_the_invoice_tables_fixture_is_generated_from_its_markdown() -> None:
    source = REPO / "rig" / "whmcs_tables_invoices.md"
    tables, overview = parse(source.read_text(encoding="utf-8"))
    validate(tables, overview)
    assert [t.name for t in tables] == ["tblinvoiceitems", "tblinvoices"]
    assert render(tables, source.name) == (REPO / "rig" / "whmcs_schema_invoices.sql").read_text(encoding="utf-8")
