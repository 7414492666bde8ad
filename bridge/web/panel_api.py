"""The `[api]` listener: the panel API for programs, authenticated by bearer tokens, answering in the seed's
envelopes. A separate aiohttp application on its own address (providers may publish it behind a reverse proxy),
sharing the daemon's resources; the shim's listener never serves it and it never serves the shim's routes.

Routes: `GET|POST /s3/<action>`, and `/s3` or `/s3.php` with `action` as a parameter (as the seed's `s3.php`).
Parameters come from the query string (GET), a form or a JSON object (POST). The token goes in an
`Authorization: Bearer` header or a POST field `token`; never in the URL, where proxies and logs keep it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from aiohttp import web
from multidict import MultiMapping

from bridge.domain.panel.envelope import PanelError, Unauthorized, failure
from bridge.domain.panel.tokens import bearer
from bridge.logs import get_logger
from bridge.web.appkeys import PANEL, RESOURCES

log = get_logger("s3bridge.api")
MAIN_APP = web.AppKey("main_app", web.Application)
MAX_API_BODY = 1024 * 1024


def _json(status: int, body: dict[str, Any], request_id: str) -> web.Response:
    r = web.json_response(body, status=status, dumps=lambda o: json.dumps(o, default=str))
    r.headers["X-Request-Id"] = request_id
    r.headers["Cache-Control"] = "no-store"
    return r


def _flatten(data: MultiMapping[Any]) -> dict[str, Any]:
    """Form or query fields; a repeated field (or `name[]`) becomes a list."""
    out: dict[str, Any] = {}
    for key in set(data.keys()):
        values = [v for v in data.getall(key) if isinstance(v, str)]
        name = key[:-2] if key.endswith("[]") else key
        out[name] = values if key.endswith("[]") or len(values) > 1 else (values[0] if values else "")
    return out


async def _params(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        return _flatten(request.query)
    if request.content_type == "application/json":
        try:
            data = json.loads(await request.read() or b"{}")
        except (UnicodeDecodeError, ValueError) as e:
            raise PanelError(f"request body is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise PanelError("request body must be a JSON object")
        return {**_flatten(request.query), **data}
    return {**_flatten(request.query), **_flatten(await request.post())}


async def handle(request: web.Request) -> web.Response:
    request_id = uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, path=request.path)
    try:
        if "token" in request.query:
            raise PanelError("send the token in an Authorization: Bearer header or a POST field, not in the URL")
        params = await _params(request)
        action = request.match_info.get("action") or str(params.get("action") or "")
        token = bearer(request.headers.get("Authorization", "")) or str(params.pop("token", "") or "")
        if not token:
            raise Unauthorized("token required (Authorization: Bearer <token>)")
        main = request.app[MAIN_APP]
        status, body = await main[PANEL].from_token(main[RESOURCES], token, action, params)
    except PanelError as e:
        status, body = e.status, failure(e)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("internal_error")
        status, body = 500, failure(PanelError(f"internal error in the s3bridge daemon; request {request_id}"))
    log.info("api_call", status=status)
    return _json(status, body, request_id)


async def not_found(request: web.Request) -> web.Response:
    return _json(404, failure(PanelError(f"no route {request.path[:100]}; use /s3/<action>")), uuid.uuid4().hex)


def create_api_app(main: web.Application) -> web.Application:
    """The bearer-token application; `main` is the daemon's app (its resources exist once it has started)."""
    app = web.Application(client_max_size=MAX_API_BODY)
    app[MAIN_APP] = main
    for path in (r"/s3/{action:[a-z_]{1,64}}", "/s3", "/s3.php"):
        app.router.add_route("GET", path, handle)
        app.router.add_route("POST", path, handle)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
