"""docs/PROTOCOL.md tells the truth: every error code and HTTP status the daemon can send is listed, and every route it
serves is named (and no route it does not serve). Read from the source with `ast`, so a new code fails here until
the page says what it means."""

from __future__ import annotations

import ast
import re

from aiohttp import web

from bridge.web.routes import add_routes
from rig.paths import REPO

ROOT = REPO
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text()


def _codes_and_statuses() -> tuple[set[str], set[int]]:
    codes: set[str] = set()
    statuses: set[int] = {200}
    for path in (ROOT / "bridge").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                name, value = node.targets[0].id, node.value
                if name == "code" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    codes.add(value.value)
                if name == "status" and isinstance(value, ast.Constant) and isinstance(value.value, int):
                    statuses.add(value.value)
            elif isinstance(node, ast.keyword) and node.arg == "code" and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, str):
                    codes.add(node.value.value)
            elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "json_response" and len(node.args) > 1:
                status = node.args[1]
                if isinstance(status, ast.Constant) and isinstance(status.value, int):
                    statuses.add(status.value)
    return codes, statuses


def test_every_error_code_the_daemon_sends_is_documented() -> None:
    codes, _ = _codes_and_statuses()
    assert len(codes) > 20  # the scan found the codes
    assert sorted(c for c in codes if f"`{c}`" not in DOC) == []


def test_every_http_status_the_daemon_sends_has_a_row() -> None:
    _, statuses = _codes_and_statuses()
    assert {400, 401, 403, 404, 409, 502, 503} <= statuses
    assert sorted(s for s in statuses if not re.search(rf"^\| {s} \|", DOC, re.M)) == []


def test_every_route_is_documented_and_no_other() -> None:
    app = web.Application()
    add_routes(app)
    served = {r.get_info().get("path") or r.get_info().get("formatter", "") for r in app.router.resources()}
    assert served == {"/healthz", "/readyz", "/v1/module/{function}"}
    for route in ("`GET /healthz`", "`GET /readyz`", "`POST /v1/module/<Function>`"):
        assert route in DOC
    assert "/v1/hook" not in DOC
