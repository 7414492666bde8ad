"""The app factory: the one place the daemon is assembled, used by `s3bridge serve` and by the tests."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from aiohttp import web

from bridge import redact
from bridge.backends.directory import ServerDirectory
from bridge.backends.registry import Backends
from bridge.config import SOURCE_EMAIL_TEMPLATES, Config
from bridge.domain.sealing import SecretBox
from bridge.functions.context import FunctionSpec, MeterSettings, Resources
from bridge.functions.meter.service import start_meter
from bridge.functions.panel.entry import PanelRuntime
from bridge.functions.registry import FUNCTIONS as DEFAULT_FUNCTIONS
from bridge.views.emails import Mailer
from bridge.web.admission import Admission
from bridge.web.appkeys import ADMISSION, CLOCK, CONFIG, DB, FUNCTIONS, PANEL, RESOURCES, SERVERS, VERIFIER
from bridge.web.audit_listener import create_audit_app
from bridge.web.routes import MAX_BODY, add_routes, request_context
from bridge.web.signing import WINDOW_SECONDS, RequestVerifier
from bridge.whmcs.db import Database
from bridge.whmcs.nonce_store import SharedNonces
from bridge.whmcs.pending_store import PURPOSE as PENDING_PURPOSE
from bridge.whmcs.pending_store import PendingSecrets
from bridge.whmcs.records import ServiceRecords
from bridge.whmcs.service_locks import ServiceLocks


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    db = Database(config.whmcs_db)
    app[DB] = db
    app[VERIFIER] = RequestVerifier(
        secrets=config.daemon.secrets, clock=app[CLOCK], nonces=SharedNonces(db, window=WINDOW_SECONDS)
    )
    yield
    db.close()


async def backends_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    backends = Backends(config.backend)
    templates = Path(config.daemon.email_templates or SOURCE_EMAIL_TEMPLATES)
    app[SERVERS] = ServerDirectory(backends)
    locks = ServiceLocks(config.whmcs_db, wait_s=config.daemon.lock_wait, retry_after=config.backend.retry_after)
    app[RESOURCES] = Resources(
        db=app[DB],
        backend_for=app[SERVERS],
        records=ServiceRecords(app[DB]),
        mailer=Mailer(templates),
        locks=locks,
        pending=PendingSecrets(app[DB], SecretBox.from_config(config.sealing_materials(), PENDING_PURPOSE)),
        usage_budget_s=config.backend.listing_budget,
        meter=MeterSettings(config.meter, config.daemon.secrets) if config.meter.listen is not None else None,
    )
    yield
    await backends.close()
    locks.close()


async def meter_ctx(app: web.Application) -> AsyncIterator[None]:
    """Traffic metering: the audit listener on its own port, and the batch writer behind it."""
    config = app[CONFIG]
    listen = config.meter.listen
    if listen is None:
        yield
        return
    meter = start_meter(app[RESOURCES], config, app[SERVERS])
    runner = web.AppRunner(create_audit_app(meter, config.daemon.secrets), access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.TCPSite(runner, listen.host, listen.port).start()
    yield
    await runner.cleanup()  # stop accepting posts, then write what is queued
    await meter.close()


def create_app(
    config: Config,
    *,
    clock: Callable[[], float] = time.time,
    functions: dict[str, FunctionSpec] | None = None,
) -> web.Application:
    redact.register_static(config.secret_values())
    app = web.Application(middlewares=[request_context], client_max_size=MAX_BODY)
    app[CONFIG] = config
    panel = PanelRuntime(config)
    app[PANEL] = panel
    base = functions if functions is not None else DEFAULT_FUNCTIONS
    app[FUNCTIONS] = {**base, "Panel": panel.function_spec()}
    if "ClientArea" in base:
        app[FUNCTIONS]["ClientArea"] = panel.client_area_spec(base["ClientArea"])
    app[CLOCK] = clock
    app[ADMISSION] = Admission(config.backend.max_concurrency, config.backend.max_queued, config.backend.retry_after)
    app.cleanup_ctx.append(database_ctx)
    app.cleanup_ctx.append(backends_ctx)
    app.cleanup_ctx.append(meter_ctx)
    app.on_cleanup.append(lambda a: a[PANEL].close())
    add_routes(app)
    return app
