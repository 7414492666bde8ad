"""The `[api]` listener: the panel API for programs, authenticated by bearer tokens, answering in the seed's
envelopes. A separate aiohttp application on its own address (providers may publish it behind a reverse proxy),
sharing the daemon's resources; the shim's listener never serves it and it never serves the shim's routes.

Routes: `GET|POST /s3/<action>`, and `/s3` or `/s3.php` with `action` as a parameter (as the seed's `s3.php`).
Parameters come from the query string (GET), a form or a JSON object (POST). The token goes in an
`Authorization: Bearer` header or a POST field `token`; never in the URL, where proxies and logs keep it.

The token is checked before the body is read: a request with a body but no Authorization header is refused unless
its body is a small form (`MAX_TOKEN_FORM` bytes, the seed's `token` field), read within the body deadline. JSON is
refused past `MAX_JSON_DEPTH` levels.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import structlog
from aiohttp import web
from multidict import MultiMapping

from bridge.config import Config
from bridge.domain.panel.envelope import PanelError, Unauthorized, failure
from bridge.domain.panel.tokens import bearer
from bridge.functions.context import Resources
from bridge.functions.panel.context import Caller
from bridge.functions.panel.entry import PanelRuntime
from bridge.logs import get_logger
from bridge.web.appkeys import BODY_TIMEOUT, PANEL, RESOURCES
from bridge.web.guard import BodyTimeout, head_deadline, loads_bounded, read_body

log = get_logger("s3bridge.api")
MAX_API_BODY = 1024 * 1024
MAX_TOKEN_FORM = 16 * 1024  # a body read to find a `token` field when there is no Authorization header
FORM = "application/x-www-form-urlencoded"


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
    if request.method == "GET" or not request.body_exists:
        return _flatten(request.query)
    try:
        body = await read_body(request, request.app[BODY_TIMEOUT])
    except BodyTimeout as e:
        raise PanelError(e.message, status=408) from None
    if request.content_type == "application/json":
        try:
            data = loads_bounded(body or b"{}")
        except (UnicodeDecodeError, ValueError) as e:
            raise PanelError(f"request body is not valid JSON: {e}") from None
        if not isinstance(data, dict):
            raise PanelError("request body must be a JSON object")
        return {**_flatten(request.query), **data}
    return {**_flatten(request.query), **_flatten(await request.post())}


async def _caller(request: web.Request, token: str) -> Caller:
    return await request.app[PANEL].authenticate(request.app[RESOURCES], token)


async def handle(request: web.Request) -> web.Response:
    request_id = uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, path=request.path)
    close = False
    try:
        if "token" in request.query:
            raise PanelError("send the token in an Authorization: Bearer header or a POST field, not in the URL")
        token = bearer(request.headers.get("Authorization", ""))
        caller = await _caller(request, token) if token else None  # before a byte of the body is read
        if caller is None and request.body_exists:
            small = request.content_length is not None and request.content_length <= MAX_TOKEN_FORM
            if request.content_type != FORM or not small:
                close = True
                raise Unauthorized(
                    "token required (Authorization: Bearer <token>); a token in a POST field is read only from a form"
                    f" ({FORM}) of at most {MAX_TOKEN_FORM} bytes"
                )
        params = await _params(request)
        action = request.match_info.get("action") or str(params.get("action") or "")
        if caller is None:
            posted = str(params.pop("token", "") or "")
            if not posted:
                raise Unauthorized("token required (Authorization: Bearer <token>)")
            caller = await _caller(request, posted)
        else:
            params.pop("token", None)
        status, body = await request.app[PANEL].from_caller(request.app[RESOURCES], caller, action, params)
    except PanelError as e:
        status, body = e.status, failure(e)
        close = close or e.status == 408
    except web.HTTPException:
        raise
    except Exception:
        log.exception("internal_error")
        status, body = 500, failure(PanelError(f"internal error in the s3bridge daemon; request {request_id}"))
    log.info("api_call", status=status)
    response = _json(status, body, request_id)
    if close:
        response.force_close()  # the unread body is not drained
    return response


async def not_found(request: web.Request) -> web.Response:
    return _json(404, failure(PanelError(f"no route {request.path[:100]}; use /s3/<action>")), uuid.uuid4().hex)


def create_api_app(resources: Resources, panel: PanelRuntime, config: Config) -> web.Application:
    """The bearer-token application on the daemon's shared resources and panel."""
    app = web.Application(client_max_size=MAX_API_BODY, middlewares=[head_deadline])
    app[RESOURCES], app[PANEL] = resources, panel
    app[BODY_TIMEOUT] = config.api.limits.body_timeout if config.api else 30.0
    for path in (r"/s3/{action:[a-z_]{1,64}}", "/s3", "/s3.php"):
        app.router.add_route("GET", path, handle)
        app.router.add_route("POST", path, handle)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app
