"""HTTP layer: request ids, JSON errors (never a stack trace), the signed module endpoint, health checks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from bridge import logs, metrics, redact
from bridge.domain.params import ServerParams, optional_int
from bridge.domain.secret import secrets_in
from bridge.errors import AuthError, BadParam, BadRequest, BridgeError, Busy, MissingParam, UnknownFunction
from bridge.functions.panel.events import record_lifecycle
from bridge.logs import get_logger
from bridge.web.appkeys import ADMISSION, BODY_TIMEOUT, DB, FUNCTIONS, RESOURCES, VERIFIER
from bridge.web.guard import BodyTimeout, loads_bounded, read_body
from bridge.whmcs import audit

log = get_logger("s3bridge.web")

MAX_BODY = 4 * 1024 * 1024


def error_body(err: BridgeError) -> dict[str, Any]:
    return {"ok": False, "error": {"code": err.code, "message": redact.scrub(err.message)}, "effects": []}


def json_response(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, default=str))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request.headers.get("X-Request-Id", "")
    if not (0 < len(request_id) <= 64 and request_id.replace("-", "").isalnum()):
        request_id = uuid.uuid4().hex
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id, path=request.path)
    try:
        response = await handler(request)
    except web.HTTPException as e:
        if e.status == 404:
            response = json_response(error_body(BridgeError(f"no route {request.path}", code="not_found")), 404)
        elif e.status == 405:
            response = json_response(
                error_body(
                    BridgeError(f"method {request.method} not allowed on {request.path}", code="method_not_allowed")
                ),
                405,
            )
        elif e.status == 413:
            response = json_response(error_body(BadRequest("request body too large", code="too_large")), 413)
        else:
            raise
    except BridgeError as e:
        log.info("call_failed", code=e.code, status=e.status, error=e.message)
        response = json_response(error_body(e), e.status)
        if isinstance(e, BodyTimeout):
            response.force_close()
        if isinstance(e, Busy):
            response.headers["Retry-After"] = str(e.retry_after)
    except Exception:
        log.exception("internal_error")
        response = json_response(
            error_body(BridgeError(f"internal error in the s3bridge daemon; see its log for request {request_id}")),
            500,
        )
    response.headers["X-Request-Id"] = request_id
    return response


def parse_body(body: bytes) -> dict[str, Any]:
    try:
        data = loads_bounded(body)
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest(f"request body is not valid JSON: {e}", code="bad_json") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object", code="bad_json")
    params = data.get("params")
    if params is None:
        raise MissingParam("params")
    if not isinstance(params, dict):
        raise BadParam("params", "must be a JSON object")
    try:  # JSON may escape lone surrogates (\\ud800): text no database, storage server or log can take
        json.dumps(params, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest(
            "request body holds a lone surrogate (\\ud800-\\udfff), which is not text", code="bad_json"
        ) from None
    return params


async def module_call(request: web.Request) -> web.Response:
    """`_module_call`, counted and timed by function and outcome (bridge/metrics.py)."""
    name = request.match_info["function"]
    label = name if name in request.app[FUNCTIONS] else "other"
    started = time.perf_counter()
    outcome = "ok"
    try:
        return await _module_call(request, name)
    except BridgeError as e:
        outcome = e.code
        if isinstance(e, AuthError):
            metrics.REFUSED.labels(e.code).inc()
        elif isinstance(e, Busy):
            metrics.OVERLOADED.labels(e.code).inc()
        raise
    except Exception:
        outcome = "internal"
        raise
    finally:
        metrics.CALLS.labels(label, outcome).inc()
        metrics.CALL_SECONDS.labels(label, outcome).observe(time.perf_counter() - started)


async def _module_call(request: web.Request, name: str) -> web.Response:
    body = await read_body(request, request.app[BODY_TIMEOUT])
    try:
        await request.app[VERIFIER].verify(request.method, request.path, request.headers, body)
    except AuthError as e:
        await audit.record(
            request.app[DB],
            request_id=logs.request_id(),
            action=f"auth:{name}",
            outcome="refused",
            detail=f"{e.code}: {e.message}",
            peer=request.remote or "",
        )
        raise
    spec = request.app[FUNCTIONS].get(name)
    if spec is None:
        raise UnknownFunction(f"the s3bridge daemon has no module function '{name}'")
    params = parse_body(body)
    redact.add_request_secrets(
        str(params[k]) for k in ("serverpassword", "serveraccesshash", "password", "bridge_csrf_token") if params.get(k)
    )
    for field in spec.required:
        if params.get(field) in (None, ""):
            raise MissingParam(field)
    structlog.contextvars.bind_contextvars(function=name, serviceid=params.get("serviceid"))
    server = ""
    if any(k in params for k in ("serverhostname", "serverip")):
        server = ServerParams.from_params(params).endpoint
        structlog.contextvars.bind_contextvars(server=server)
    async with request.app[ADMISSION].admit(server):
        try:
            outcome = await spec.handler(request.app[RESOURCES], params)
        except BridgeError as e:
            if optional_int(params, "bridge_client_id"):  # a client-area call: the customer reads this sentence
                shown = redact.public(e.message)
                if shown != e.message:
                    log.info("client_error_hidden", code=e.code, error=e.message)
                    e.message = shown
            raise
    await record_lifecycle(request.app[RESOURCES], name, params, outcome)
    log.info("call_done", function=name)
    # The shim masks these in WHMCS's module log: this call's request secrets, and every Secret the answer carries
    # (new passwords, pending ones handed out again, key pairs, API tokens), wherever in the answer it is.
    redact.add_request_secrets(secrets_in(outcome.result, outcome.effects))
    secrets = redact.request_secrets()
    return json_response({"ok": True, "result": outcome.result, "effects": outcome.effects, "secrets": secrets})


async def healthz(_request: web.Request) -> web.Response:
    return json_response({"ok": True, "status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[DB].ping()
    except BridgeError as e:
        return json_response({"ok": False, "status": "not ready", "error": {"code": e.code, "message": e.message}}, 503)
    return json_response({"ok": True, "status": "ready"})


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_post(r"/v1/module/{function:[A-Za-z][A-Za-z0-9_]{0,63}}", module_call)
