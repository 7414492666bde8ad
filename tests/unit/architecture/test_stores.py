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
WRITE = re.compile(r"\b(UPDATE|INSERT\s+INTO|DELETE\s+FROM|REPLACE\s+INTO)\s+mod_s3bridge_services\b", re.I)
# file -> why it still writes the services table itself
WRITES_SERVICES = {
    "whmcs/usage_store.py": "the usage cycle's batched figure writes (issue 23 is reshaping them into steps)",
    "whmcs/meter_store.py": "the meter's figure times and decisions (issue 17 is reshaping the meter)",
}


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
    assert services_writers() == {SERVICES_TABLE_OWNER, *WRITES_SERVICES}


def test_the_checks_see_a_store_built_on_the_spot_and_a_second_writer(tmp_path: Path) -> None:
    (tmp_path / "functions").mkdir()
    (tmp_path / "whmcs").mkdir()
    (tmp_path / "functions" / "areas.py").write_text("async def f(resources):\n    return UsageStore(resources.db)\n")
    (tmp_path / "whmcs" / "area_queries.py").write_text('Q = "UPDATE mod_s3bridge_services SET policy = %s"\n')
    assert stores_built(tmp_path) == {"functions/areas.py": [2]}
    assert services_writers(tmp_path) == {"whmcs/area_queries.py"}
