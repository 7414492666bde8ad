"""Every account function takes the one path of bridge/functions/call.py (lock, record, settle) rather than writing
its own opening: a use case that holds the service lock itself is one of the few named here, each with its reason."""

from __future__ import annotations

import ast
from pathlib import Path

FUNCTIONS = Path(__file__).resolve().parent.parent / "bridge" / "functions"

# (module, function) -> why it takes the service lock itself instead of `call.account`
OWN_LOCK = {
    ("lifecycle", "create_account"): "no account yet is its normal start",
    ("lifecycle", "terminate_account"): "an account already gone is success",
    ("usage_update", "_enforce"): "server-wide loop; locks only the services whose policy changes",
    ("areas", "client_area"): "locks only when a rotation is pending; 'not ready' is its own answer",
    ("decider", "_apply"): "the audit stream's limit decision, outside any WHMCS call; locks only on a policy change",
}


def lock_holders() -> set[tuple[str, str]]:
    found = set()
    for path in FUNCTIONS.rglob("*.py"):  # subpackages too (functions/meter/, functions/panel/)
        if path.stem == "call":
            continue
        for fn in ast.walk(ast.parse(path.read_text())):
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Attribute) and node.attr == "hold":
                        found.add((path.stem, fn.name))
    return found


def test_only_the_named_functions_hold_the_service_lock_outside_call_py() -> None:
    assert lock_holders() == set(OWN_LOCK)
