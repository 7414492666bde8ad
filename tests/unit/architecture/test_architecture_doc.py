"""docs/ARCHITECTURE.md tells the truth about bridge/: its "Every module" section lists every module (one table row
each, the path from bridge/) and no row names a module that is gone."""

from __future__ import annotations

import re
from pathlib import Path

from rig.paths import REPO

DOC = REPO / "docs" / "ARCHITECTURE.md"
BRIDGE = REPO / "bridge"
ROW = re.compile(r"^\| `([\w/]+\.py)` \| \S", re.M)


def listed(doc: str) -> list[str]:
    """The module paths of the "Every module" section's rows (a row needs a description)."""
    section = doc.split("\n## Every module\n", 1)[1].split("\n## ", 1)[0]
    return ROW.findall(section)


def modules(root: Path = BRIDGE) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*.py") if p.name != "__init__.py"}


def unlisted_and_gone(doc: str, root: Path = BRIDGE) -> tuple[list[str], list[str]]:
    rows = listed(doc)
    return sorted(modules(root) - set(rows)), sorted(set(rows) - modules(root))


def test_architecture_md_lists_every_module_of_bridge_and_no_module_that_is_gone() -> None:
    unlisted, gone = unlisted_and_gone(DOC.read_text())
    assert unlisted == [], "describe each new module in docs/ARCHITECTURE.md, 'Every module'"
    assert gone == [], "take the rows of removed or moved modules out of docs/ARCHITECTURE.md, 'Every module'"


def test_each_module_has_one_row() -> None:
    rows = listed(DOC.read_text())
    assert sorted(r for r in set(rows) if rows.count(r) > 1) == []


def test_the_check_sees_a_new_module_and_a_stale_row(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "functions" / "call.py").write_text("")
    (tmp_path / "functions" / "rebuild.py").write_text("")
    doc = "# A\n\n## Every module\n\n| module | what |\n| --- | --- |\n| `functions/call.py` | the path |\n"
    doc += "| `functions/gone.py` | was here |\n\n## Next\n| `functions/rebuild.py` | not in the section |\n"
    assert unlisted_and_gone(doc, tmp_path) == (["functions/rebuild.py"], ["functions/gone.py"])
