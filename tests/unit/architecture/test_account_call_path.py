"""Every change to a service's account goes through bridge/functions/call.py (the service's lock, the record read
again under it, the state checked, a pending rotation settled): a side door anywhere under bridge/ fails here.

Read from the source with `ast` (nothing is imported). A *change* is a call of a storage method that changes an
account (`ACCOUNT_CHANGES`). It is on the path inside `async with account(...)`, `service(...)` (call.py) or the
panel's `changing(...)` (which opens `account`), inside a function that is only called from there, and in call.py
itself. A function nothing under bridge/ calls by name (a module function, a panel handler, a listener's callback)
that reaches a change off the path is a side door. Holding the service lock (`locks.hold`) outside call.py is for
the few functions named in `OWN_LOCK`, each with its reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from rig.paths import REPO

BRIDGE = REPO / "bridge"
NOT_CALLERS = ("backends", "domain")  # the drivers implement the changes; the domain does no I/O
LOCKS = "whmcs/service_locks.py"  # the lock itself

# The storage methods that change an account (base.StorageBackend and the capabilities).
ACCOUNT_CHANGES = frozenset(
    {
        "provision", "set_enabled", "set_secret", "apply_policy", "set_group", "delete_account",
        "begin_key_rotation", "finish_key_rotation", "set_rate_limits", "set_quota_gb", "set_bucket_quotas_gb",
        "create_bucket", "delete_bucket", "create_access_key", "revoke_access_key",
    }
)  # fmt: skip
PATHS = frozenset({"account", "service", "changing"})  # call.py's context managers, and the panel's over `account`

# (file under bridge/, function) -> why it takes the service lock itself instead of call.py's path
OWN_LOCK: dict[tuple[str, str], str] = {}
# (file under bridge/, function) -> why it may change an account off the path
OFF_PATH = {
    ("functions/reconcile.py", "_delete_orphan"): "an orphan that no service's record names has no service to lock",
}


@dataclass
class Function:
    where: str  # "functions/panel/storage.py:create_bucket"
    lock_holds: list[int] = field(default_factory=list)
    changes: list[tuple[int, str]] = field(default_factory=list)  # off the path
    calls: set[str] = field(default_factory=set)  # names called off the path
    called_at_all: bool = False


def _name(call: ast.expr) -> str:
    if isinstance(call, ast.Call):
        call = call.func
    if isinstance(call, ast.Attribute):
        return call.attr
    return call.id if isinstance(call, ast.Name) else ""


def _scan(fn: ast.AST, record: Function, own_lock: bool) -> None:
    def visit(node: ast.AST, on_path: bool) -> None:
        if isinstance(node, ast.With | ast.AsyncWith):
            opens = {_name(item.context_expr) for item in node.items}
            for item in node.items:
                visit(item.context_expr, on_path)
            inside = on_path or bool(opens & PATHS) or (own_lock and "hold" in opens)
            for stmt in node.body:
                visit(stmt, inside)
            return
        if isinstance(node, ast.Attribute) and node.attr == "hold":
            record.lock_holds.append(node.lineno)
        if isinstance(node, ast.Call):
            name = _name(node)
            if isinstance(node.func, ast.Attribute) and name in ACCOUNT_CHANGES:
                if not on_path:
                    record.changes.append((node.lineno, name))
            elif name and not on_path:
                record.calls.add(name)
        for child in ast.iter_child_nodes(node):
            visit(child, on_path)

    for stmt in fn.body:  # type: ignore[attr-defined]
        visit(stmt, False)


def functions(root: Path = BRIDGE) -> dict[str, list[Function]]:
    """Every function under `root` (drivers and domain left out) by its name, with what it does off the path."""
    by_name: dict[str, list[Function]] = {}
    called: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.split("/")[0] in NOT_CALLERS:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called.add(_name(node))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                record = Function(f"{rel}:{node.name}")
                _scan(node, record, (rel, node.name) in OWN_LOCK)
                by_name.setdefault(node.name, []).append(record)
    for name, records in by_name.items():
        for record in records:
            record.called_at_all = name in called and name not in ACCOUNT_CHANGES
    return by_name


def side_doors(root: Path = BRIDGE) -> list[str]:
    by_name = functions(root)
    reaches: dict[str, str] = {}  # function -> the first change it reaches off the path, as a sentence

    def reach(f: Function, seen: frozenset[str]) -> str:
        if f.where in reaches:
            return reaches[f.where]
        found = ""
        if f.where.startswith("functions/call.py:") or tuple(f.where.split(":")) in OFF_PATH:
            found = ""
        elif f.changes:
            line, method = f.changes[0]
            found = f"{method}() at line {line}"
        else:
            for name in sorted(f.calls):
                for g in by_name.get(name, []):
                    if g.where not in seen and (via := reach(g, seen | {g.where})):
                        found = f"{via} through {g.where}"
                        break
                if found:
                    break
        reaches[f.where] = found
        return found

    doors = []
    for records in by_name.values():
        for f in records:
            if not f.called_at_all and (what := reach(f, frozenset({f.where}))):
                doors.append(f"{f.where} changes an account off call.py's path: {what}")
    return sorted(doors)


def lock_holders(root: Path = BRIDGE) -> set[tuple[str, str]]:
    return {
        tuple(f.where.split(":"))  # type: ignore[misc]
        for records in functions(root).values()
        for f in records
        if f.lock_holds and not f.where.startswith(("functions/call.py:", LOCKS + ":"))
    }


def test_no_module_under_bridge_changes_an_account_off_the_one_path() -> None:
    assert side_doors() == []


def test_only_the_named_functions_hold_the_service_lock_outside_call_py() -> None:
    assert lock_holders() == set(OWN_LOCK)


def test_the_check_finds_a_side_door_and_passes_the_path(tmp_path: Path) -> None:
    """The check itself: a panel handler that changes storage without the lock (the old `context.target`), also
    through a helper, is caught; the same under `changing(...)` or `account(...)`, or in a helper only called
    from there, is not."""
    (tmp_path / "functions" / "panel").mkdir(parents=True)
    (tmp_path / "functions" / "panel" / "storage.py").write_text(
        "async def create_bucket(ctx, p):\n"
        "    t = await target(ctx, p)\n"
        "    await t.storage.create_bucket(t.username, 'b')\n"
        "async def create_key(ctx, p):\n"
        "    t = await target(ctx, p)\n"
        "    return await _make_key(t)\n"
        "async def _make_key(t):\n"
        "    return await t.backend.create_access_key(t.username, None)\n"
        "async def delete_bucket(ctx, p):\n"
        "    async with changing(ctx, p) as t:\n"
        "        await t.storage.delete_bucket(t.username, 'b')\n"
        "async def revoke_key(resources, target, params):\n"
        "    async with account(resources, target, params) as rec:\n"
        "        await _revoke(target, rec)\n"
        "async def _revoke(target, rec):\n"
        "    await target.backend.revoke_access_key(rec.username, 'k')\n"
    )
    assert side_doors(tmp_path) == [
        "functions/panel/storage.py:create_bucket changes an account off call.py's path: create_bucket() at line 3",
        "functions/panel/storage.py:create_key changes an account off call.py's path: create_access_key() at line 8"
        " through functions/panel/storage.py:_make_key",
    ]
