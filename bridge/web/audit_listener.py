"""The audit listener: MinIO's `audit_webhook` target posts here, on a port of its own (`[meter] listen`).

`POST /v1/audit/<server id>` with `Authorization: <token>` (the token `Enable Traffic Metering` configured, derived
from the daemon's secret for that server id). 200 only once the events are committed, with how many entries were
dropped; an entry that fails a check is dropped, counted and logged, never failing its POST. 401 for a wrong token;
400 only for a body with no audit entry at all; 503 while the database cannot take the events (MinIO keeps the
entries in its queue_dir and sends them again, so nothing is lost while the daemon or its database is down). The
shim's signed channel stays on the main listener: this one takes audit posts only.
"""

from __future__ import annotations

from aiohttp import web

from bridge.domain.audit_events import AuditFormatError, decode_post
from bridge.domain.audit_token import token_ok
from bridge.functions.meter.ingest import Meter
from bridge.logs import get_logger
from bridge.web.appkeys import BODY_TIMEOUT
from bridge.web.guard import BodyTimeout, head_deadline, read_body

METER = web.AppKey("meter", Meter)
SECRETS = web.AppKey("audit_secrets", tuple)
MAX_AUDIT_BODY = 256 * 1024 * 1024  # a queued batch of a busy server; entries are ~2 KB
log = get_logger("s3bridge.audit_listener")


async def receive(request: web.Request) -> web.Response:
    meter = request.app[METER]
    server_id = int(request.match_info["serverid"])
    if not token_ok(request.app[SECRETS], server_id, request.headers.get("Authorization", "")):
        log.warning("audit_refused", server_id=server_id, remote=request.remote, reason="bad token")
        return web.json_response({"error": "bad token for this server id"}, status=401)
    try:
        body = await read_body(request, request.app[BODY_TIMEOUT])
    except BodyTimeout as e:
        response = web.json_response({"error": e.message}, status=408)
        response.force_close()
        return response
    try:
        post = decode_post(body)
    except AuditFormatError as e:
        log.warning("audit_body_refused", server_id=server_id, error=str(e))
        return web.json_response({"error": str(e)}, status=400)
    meter.note_dropped(server_id, post)
    try:
        new = await meter.submit(server_id, post.events)
    except Exception as e:  # the database: MinIO keeps the entries and sends them again
        log.warning("audit_not_stored", server_id=server_id, error=type(e).__name__)
        return web.json_response({"error": "the audit entries could not be stored now; send them again"}, status=503)
    return web.json_response({"events": len(post.events), "new": new, "dropped": len(post.dropped)})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def create_audit_app(meter: Meter, body_timeout: float, secrets: tuple[str, ...]) -> web.Application:
    app = web.Application(client_max_size=MAX_AUDIT_BODY, middlewares=[head_deadline])
    app[METER] = meter
    app[BODY_TIMEOUT] = body_timeout
    app[SECRETS] = secrets
    app.router.add_post(r"/v1/audit/{serverid:[0-9]{1,10}}", receive)
    app.router.add_get("/healthz", healthz)
    return app
