"""The audit listener: MinIO's `audit_webhook` target posts here, on a port of its own (`[meter] listen`).

`POST /v1/audit/<server id>` with `Authorization: <token>` (the token `Enable Traffic Metering` configured, derived
from the daemon's secret for that server id). 200 only once the events are committed; 401 for a wrong token and 400
for a body that is not audit JSON (MinIO keeps the entries in its queue_dir and sends them again, so nothing is lost
while the daemon or its database is down: 503). The shim's signed channel stays on the main listener: this one takes
audit posts only.
"""

from __future__ import annotations

from aiohttp import web

from bridge.domain.audit_events import AuditFormatError, parse_body
from bridge.errors import BridgeError
from bridge.functions.metering import Meter, token_ok
from bridge.logs import get_logger
from bridge.web.appkeys import BODY_TIMEOUT
from bridge.web.guard import BodyTimeout, head_deadline, read_body

METER = web.AppKey("meter", Meter)
MAX_AUDIT_BODY = 256 * 1024 * 1024  # a queued batch of a busy server; entries are ~2 KB
log = get_logger("s3bridge.audit_listener")


async def receive(request: web.Request) -> web.Response:
    meter = request.app[METER]
    sid_text = request.match_info["serverid"]
    server_id = int(sid_text)
    if not token_ok(meter.secrets, server_id, request.headers.get("Authorization", "")):
        log.warning("audit_refused", server_id=server_id, remote=request.remote, reason="bad token")
        return web.json_response({"error": "bad token for this server id"}, status=401)
    try:
        body = await read_body(request, request.app[BODY_TIMEOUT])
    except BodyTimeout as e:
        response = web.json_response({"error": e.message}, status=408)
        response.force_close()
        return response
    try:
        events = list(parse_body(body))
    except AuditFormatError as e:
        return web.json_response({"error": str(e)}, status=400)
    try:
        new = await meter.submit(server_id, events)
    except BridgeError as e:
        return web.json_response({"error": e.message}, status=503)
    return web.json_response({"events": len(events), "new": new})


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def create_audit_app(meter: Meter, body_timeout: float) -> web.Application:
    app = web.Application(client_max_size=MAX_AUDIT_BODY, middlewares=[head_deadline])
    app[METER] = meter
    app[BODY_TIMEOUT] = body_timeout
    app.router.add_post(r"/v1/audit/{serverid:[0-9]{1,10}}", receive)
    app.router.add_get("/healthz", healthz)
    return app
