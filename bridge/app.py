"""The daemon, assembled in one place: every pool, worker and listener, started in one readable order and stopped in
the reverse one (`running`), and the shim's application factory (`create_app`, shared by `serve` and the tests).

Start order (stop is the reverse):
  1. the WHMCS database pool
  2. the storage servers' HTTP pools and the service locks' connections
  3. the panel's WHMCS API session
  4. the workers: the heartbeat (mod_s3bridge_daemons) and its scrape-time metrics; the meter's batch writer (when
     this process runs the `meter` listener)
  5. the listeners: the shim's first, then `[api]`, `[meter]` and `[fleet] metrics_listen`
So on SIGTERM the other listeners stop accepting first, the shim's finishes the calls in flight, the meter writes
what it has queued, the heartbeat says goodbye, and only then do the pools close.

One process runs every configured listener by default; `s3bridge serve --only api` (or `meter`, or `shim`) runs
one of them in a process of its own (README "Public listeners"); the metrics listener goes with the shim's.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from aiohttp import web

from bridge import __version__, metrics, redact
from bridge.backends.directory import ServerDirectory
from bridge.backends.registry import Backends
from bridge.config import SOURCE_EMAIL_TEMPLATES, Config, ListenerLimits
from bridge.domain.sealing import SecretBox
from bridge.functions.context import FunctionSpec, Resources
from bridge.functions.heartbeat import Heartbeat
from bridge.functions.meter.ingest import Meter
from bridge.functions.meter.service import start_meter
from bridge.functions.panel.entry import PanelRuntime
from bridge.functions.registry import FUNCTIONS as DEFAULT_FUNCTIONS
from bridge.logs import get_logger
from bridge.views.emails import Mailer
from bridge.web.admission import Admission
from bridge.web.appkeys import (
    ADMISSION,
    BODY_TIMEOUT,
    CLOCK,
    CONFIG,
    DB,
    FUNCTIONS,
    PANEL,
    RESOURCES,
    SERVERS,
    VERIFIER,
)
from bridge.web.audit_listener import create_audit_app
from bridge.web.guard import ConnectionGuard, head_deadline
from bridge.web.listener import ListenerPlan, listening, open_file_budget, raise_open_file_limit
from bridge.web.metrics_listener import create_metrics_app
from bridge.web.panel_api import create_api_app
from bridge.web.routes import MAX_BODY, add_routes, request_context
from bridge.web.signing import WINDOW_SECONDS, RequestVerifier
from bridge.whmcs.db import Database
from bridge.whmcs.nonce_store import SharedNonces
from bridge.whmcs.pending_store import PURPOSE as PENDING_PURPOSE
from bridge.whmcs.pending_store import PendingSecrets
from bridge.whmcs.service_locks import ServiceLocks
from bridge.whmcs.services import ServiceRecords

LISTENERS = ("shim", "api", "meter")  # what `serve --only` takes
METRICS_LIMITS = ListenerLimits(max_connections=64)
log = get_logger("s3bridge")


@dataclass
class Core:
    """The pools and workers the listeners share."""

    db: Database
    servers: ServerDirectory
    resources: Resources
    panel: PanelRuntime
    meter: Meter | None = None  # the audit batch writer, when this process runs the [meter] listener


@contextlib.asynccontextmanager
async def core(config: Config, *, meter_worker: bool) -> AsyncIterator[Core]:
    """Steps 1-4 of the start order (the module docstring)."""
    redact.register_static(config.secret_values())
    async with contextlib.AsyncExitStack() as stack:
        db = Database(config.whmcs_db)  # 1
        stack.callback(db.close)
        backends = Backends(config.backend)  # 2
        stack.push_async_callback(backends.close)
        locks = ServiceLocks(config.whmcs_db, wait_s=config.daemon.lock_wait, retry_after=config.backend.retry_after)
        stack.callback(locks.close)
        servers = ServerDirectory(backends)
        resources = Resources(
            db=db,
            backend_for=servers,
            records=ServiceRecords(db),
            mailer=Mailer(Path(config.daemon.email_templates or SOURCE_EMAIL_TEMPLATES)),
            locks=locks,
            pending=PendingSecrets(db, SecretBox.from_config(config.sealing_materials(), PENDING_PURPOSE)),
            usage_budget_s=config.backend.listing_budget,
            meter_config=config.meter if config.meter.listen is not None else None,
            meter_secrets=config.daemon.secrets,
            orphan_grace=timedelta(hours=config.fleet.orphan_grace_hours),
        )
        panel = PanelRuntime(config)  # 3
        stack.push_async_callback(panel.close)
        heartbeat = Heartbeat(resources, __version__)  # 4
        heartbeat.start()
        stack.push_async_callback(heartbeat.close)
        stack.push_async_callback(resources.stores.fleet.written)  # before the database closes
        stack.callback(metrics.register_sampled(heartbeat.samples))
        meter: Meter | None = None
        if meter_worker and config.meter.listen is not None:
            meter = start_meter(resources, config, servers)
            heartbeat.meter = meter  # the Servers page's per-server metering figures go with each beat
            stack.push_async_callback(meter.close)  # after its listener stopped: writes what is queued
            stack.callback(metrics.register_sampled(lambda: _meter_samples(meter)))
        yield Core(db=db, servers=servers, resources=resources, panel=panel, meter=meter)


def _admission_samples(admission: Admission) -> Iterator[metrics.Sample]:
    running, waiting = admission.depth()
    yield metrics.Sample("s3bridge_calls_running", "Module calls running now", "gauge", running)
    yield metrics.Sample("s3bridge_calls_queued", "Module calls waiting for a slot now", "gauge", waiting)


def _meter_samples(meter: Meter) -> Iterator[metrics.Sample]:
    s, counter = meter.stats, "counter"
    yield metrics.Sample("s3bridge_ingest_events", "Audit events received from MinIO", counter, s.events)
    yield metrics.Sample("s3bridge_ingest_counted", "Audit events counted to a service", counter, s.counted)
    yield metrics.Sample("s3bridge_ingest_duplicates", "Audit events dropped as resends", counter, s.duplicates)
    yield metrics.Sample("s3bridge_ingest_dropped", "Audit events of no service, dropped", counter, s.unattributed)
    yield metrics.Sample("s3bridge_ingest_invalid", "Audit entries that failed a check, dropped", counter, s.dropped)
    yield metrics.Sample("s3bridge_ingest_refused", "Requests refused to others, billed to nobody", counter, s.refused)
    yield metrics.Sample("s3bridge_ingest_errors", "Audit batches that failed to write", counter, s.errors)
    yield metrics.Sample("s3bridge_ingest_queued_events", "Audit events not yet written", "gauge", meter.queued_events)
    yield metrics.Sample("s3bridge_ingest_last_flush_seconds", "The last audit batch's write", "gauge", s.last_flush_s)


def create_app(
    config: Config,
    *,
    clock: Callable[[], float] = time.time,
    functions: dict[str, FunctionSpec] | None = None,
    shared: Core | None = None,
) -> web.Application:
    """The shim's application. Without `shared` (tests in-process) it starts the core itself when it starts."""
    app = web.Application(middlewares=[head_deadline, request_context], client_max_size=MAX_BODY)
    app[CONFIG] = config
    app[CLOCK] = clock
    app[BODY_TIMEOUT] = config.daemon.limits.body_timeout
    base = functions if functions is not None else DEFAULT_FUNCTIONS
    app[ADMISSION] = Admission(config.backend.max_concurrency, config.backend.max_queued, config.backend.retry_after)

    async def admission_samples(_app: web.Application) -> AsyncIterator[None]:
        unregister = metrics.register_sampled(lambda: _admission_samples(app[ADMISSION]))
        yield
        unregister()

    app.cleanup_ctx.append(admission_samples)

    def attach(c: Core) -> None:
        app[DB], app[SERVERS], app[RESOURCES], app[PANEL] = c.db, c.servers, c.resources, c.panel
        app[VERIFIER] = RequestVerifier(
            secrets=config.daemon.secrets, clock=clock, nonces=SharedNonces(c.db, window=WINDOW_SECONDS)
        )
        app[FUNCTIONS] = {**base, "Panel": c.panel.function_spec()}
        if "ClientArea" in base:
            app[FUNCTIONS]["ClientArea"] = c.panel.client_area_spec(base["ClientArea"])

    if shared is not None:
        attach(shared)
    else:

        async def own_core(_app: web.Application) -> AsyncIterator[None]:
            async with core(config, meter_worker=False) as c:
                attach(c)
                yield

        app.cleanup_ctx.append(own_core)
    add_routes(app)
    return app


def plans(config: Config, only: Collection[str]) -> list[ListenerPlan]:
    """The listeners this process runs, in start order: the shim's, `[api]`, `[meter]` (those configured and asked
    for; `only` empty = all configured)."""
    wanted = set(only or LISTENERS)
    out = []
    if "shim" in wanted:
        out.append(ListenerPlan("shim", config.daemon.listen, config.daemon.limits, public=False))
    if "api" in wanted and config.api is not None:
        out.append(ListenerPlan("api", config.api.listen, config.api.limits, public=True))
    if "meter" in wanted and config.meter.listen is not None:
        out.append(ListenerPlan("meter", config.meter.listen, config.meter.limits, public=True))
    if "shim" in wanted and config.fleet.metrics_listen is not None:  # scrapes answered only from metrics_allow
        out.append(ListenerPlan("metrics", config.fleet.metrics_listen, METRICS_LIMITS, public=True))
    return out


@contextlib.asynccontextmanager
async def running(config: Config, only: Collection[str] = ()) -> AsyncIterator[dict[str, ConnectionGuard]]:
    """Run the daemon's listeners (all configured ones, or `only` these) until the block ends; yields each
    listener's guard by name. Raises ValueError naming a listener asked for but not configured."""
    chosen = plans(config, only)
    missing = sorted(set(only) - {p.name for p in chosen})
    if missing:
        section = {"api": "[api] listen", "meter": "[meter] listen"}.get(missing[0], missing[0])
        raise ValueError(f"--only {missing[0]}: the config has no {section}")
    caps = open_file_budget(chosen, raise_open_file_limit())
    shutdown = config.daemon.shutdown_timeout
    async with core(config, meter_worker=any(p.name == "meter" for p in chosen)) as c:
        apps = {
            "shim": lambda: create_app(config, shared=c),
            "api": lambda: create_api_app(c.resources, c.panel, config),
            "meter": lambda: create_audit_app(_meter_of(c), config.meter.limits.body_timeout, config.daemon.secrets),
            "metrics": lambda: create_metrics_app(config.fleet.metrics_allow),
        }
        async with contextlib.AsyncExitStack() as stack:  # 5
            guards = {p.name: await stack.enter_async_context(listening(apps[p.name](), p, caps[p.name], shutdown))
                      for p in chosen}  # fmt: skip
            yield guards
            log.info("stopping", detail="no longer accepting; finishing in-flight calls", timeout_s=shutdown)


def _meter_of(c: Core) -> Meter:
    assert c.meter is not None
    return c.meter
