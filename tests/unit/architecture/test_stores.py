"""Stores are built once and own their tables: a use case takes the store from `Resources.stores` (built once by
`Resources`), never builds one on the spot; only `whmcs/services.py` (the services store) writes
`mod_s3bridge_services`. Read from the source with `ast` (nothing is imported)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from rig.paths import REPO

BRIDGE = REPO / "bridge"
STORES = frozenset({"UsageStore", "MeterStore", "AreaQueries", "PanelStore", "DriftStore", "FleetStore", "Heartbeats"})
# file -> why it still builds stores on the spot
BUILDS_ITS_OWN: dict[str, str] = {}
SERVICES_TABLE_OWNER = "whmcs/services.py"
# A statement that writes the table: INSERT [IGNORE] INTO / REPLACE INTO / DELETE [alias] FROM it, or an UPDATE that
# names it among the tables it updates (before SET: `UPDATE tblhosting h JOIN mod_s3bridge_services s ... SET`).
WRITE = re.compile(
    r"\b(?:(?:INSERT(?:\s+IGNORE)?|REPLACE)\s+INTO|DELETE(?:\s+\w+)?\s+FROM)\s+mod_s3bridge_services\b"
    r"|\bUPDATE\b(?:(?!\bSET\b).)*?\bmod_s3bridge_services\b",
    re.I | re.S,
)


def stores_built(root: Path = BRIDGE) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for path in sorted((root / "functions").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel == "functions/context.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in STORES:
                found.setdefault(rel, []).append(node.lineno)
    return found


def services_writers(root: Path = BRIDGE) -> set[str]:
    found = set()
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and WRITE.search(node.value):
                found.add(path.relative_to(root).as_posix())
    return found


def test_use_cases_take_their_stores_from_resources() -> None:
    assert set(stores_built()) == set(BUILDS_ITS_OWN)


def test_only_the_services_store_writes_the_services_table() -> None:
    assert services_writers() == {SERVICES_TABLE_OWNER}


def test_the_checks_see_a_store_built_on_the_spot_and_a_second_writer(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "whmcs").mkdir()
    (tmp_path / "functions" / "areas.py").write_text("async def f(resources):\n    return UsageStore(resources.db)\n")
    (tmp_path / "whmcs" / "area_queries.py").write_text('Q = "UPDATE mod_s3bridge_services SET policy = %s"\n')
    writes = {
        "joined.py": 'f"UPDATE tblhosting h JOIN mod_s3bridge_services s ON s.serviceid = h.id SET s.{c} = 1"',
        "insert.py": '"INSERT IGNORE INTO mod_s3bridge_services (serviceid) VALUES (%s)"',
        "delete.py": '"DELETE s FROM mod_s3bridge_services s WHERE s.serviceid = %s"',
        "replace.py": '"REPLACE INTO mod_s3bridge_services (serviceid) VALUES (%s)"',
    }
    reads = {
        "read.py": '"SELECT used_bytes FROM mod_s3bridge_services WHERE serviceid = %s"',
        "subquery.py": '"UPDATE tblhosting SET x = (SELECT 1 FROM mod_s3bridge_services s WHERE s.serviceid = id)"',
        "other.py": '"DELETE FROM mod_s3bridge_disk_writes WHERE serviceid IN (SELECT serviceid FROM mod_s3bridge_services)"',  # noqa: E501
    }
    for name, text in {**writes, **reads}.items():
        (tmp_path / "whmcs" / name).write_text(f"Q = {text}\n")
    assert stores_built(tmp_path) == {"functions/areas.py": [2]}
    assert services_writers(tmp_path) == {"whmcs/area_queries.py", *(f"whmcs/{name}" for name in writes)}
