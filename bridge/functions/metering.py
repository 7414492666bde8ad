"""Traffic metering on MinIO and limits that hold within seconds.

MinIO's audit webhook posts one entry per S3 request to the daemon's audit listener (bridge.web.audit_listener).
`Meter.submit` queues a POST's events and returns once they are committed; a background task writes whatever is
queued as one batch (group commit: what arrives during one write goes into the next): ids, traffic per service and
day, disk deltas per service and minute, in one transaction (bridge.whmcs.meter_store).

After each batch, every service whose stored bytes grew or shrank gets the usage cron's own limit decision on its
estimate (last scan or listing + written since - known deletes): over the limit, the limited policy applies now.
The emails stay with the cron (every 5 minutes): it sees the same estimate, and its once-per-crossing flags send the
suspension email once, through WHMCS. An estimate that locks a service is checked at once by an exact listing when
the service is small enough to list within the listing budget; the listing becomes the new figure, so an estimate
that was too high (deletes of older objects it could not see) frees the customer within seconds, and any other
estimate is corrected by the next scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.backends.capabilities import AuditWebhook, StorageQuotas
from bridge.backends.directory import ServerDirectory
from bridge.config import MeterConfig
from bridge.domain.audit_events import AuditEvent
from bridge.domain.metric_months import metric_months
from bridge.domain.params import Params, ServerParams, optional_int
from bridge.domain.product_settings import ProductSettings, parse_product
from bridge.domain.traffic import Attribution, Figure, KnownObjects, Rollup, rollup
from bridge.domain.usage_rules import LimitState, decide
from bridge.errors import BridgeError, MissingParam, Unsupported
from bridge.functions.context import Outcome, Resources
from bridge.logs import get_logger
from bridge.whmcs.meter_store import MeterStore, TenantMonth
from bridge.whmcs.usage_store import ServiceRow, UsageStore

log = get_logger("s3bridge.meter")

TARGET = "s3bridge"  # the name of the audit_webhook target on MinIO
USERNAMES_TTL = 0.25  # an unknown bucket owner reloads a server's usernames at most this often
PRUNE_EVERY = 600.0
VERIFY_EVERY = 2.0  # seconds between two exact listings of one service


def audit_token(secret: str, server_id: int) -> str:
    """The auth token MinIO sends for server `server_id`: derived from a daemon secret, so nobody copies it."""
    return hmac.new(secret.encode(), f"s3bridge-audit-webhook:{server_id}".encode(), hashlib.sha256).hexdigest()


def token_ok(secrets: tuple[str, ...], server_id: int, presented: str) -> bool:
    """Any configured secret's token is accepted (rotation: list the new secret first, re-enable, drop the old)."""
    presented = presented.removeprefix("Bearer ").strip()
    ok = False
    for s in secrets:
        ok |= hmac.compare_digest(audit_token(s, server_id).encode(), presented.encode())
    return ok


@dataclass
class _Pending:
    server_id: int
    events: list[AuditEvent]
    done: asyncio.Future[int]


@dataclass
class MeterStats:
    batches: int = 0
    events: int = 0
    counted: int = 0
    duplicates: int = 0
    unattributed: int = 0
    decisions: int = 0
    last_flush_s: float = 0.0
    errors: int = 0
    policy_changes: list[tuple[int, str, str]] = field(default_factory=list)  # (serviceid, policy, figure source)


class Meter:
    def __init__(self, resources: Resources, config: MeterConfig, secrets: tuple[str, ...], servers: ServerDirectory):
        self.resources = resources
        self.config = config
        self.secrets = secrets
        self.servers = servers
        self.store = MeterStore(resources.db)
        self.known = KnownObjects()
        self.stats = MeterStats()
        self._queue: list[_Pending] = []
        self._queued_events = 0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._usernames: dict[int, tuple[float, Attribution]] = {}
        self._task: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[None]] = set()
        self._last_prune = 0.0
        self._listing: set[int] = set()
        self._listed: dict[int, float] = {}
        self._touched: dict[int, set[int]] = {}  # server id -> services whose bytes moved, not yet decided
        self._deciding: set[int] = set()

    # -- ingest -------------------------------------------------------------------------------------------------
    @property
    def queued_events(self) -> int:
        """Events received and not yet written (the ingest lag, in events)."""
        return self._queued_events

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="s3bridge-meter")

    async def close(self) -> None:
        """Write what is queued, then stop (the listener stops accepting first)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._queue:
            await self._flush()
        for t in list(self._checks):
            t.cancel()

    async def submit(self, server_id: int, events: list[AuditEvent]) -> int:
        """Queue one POST's events; returns how many were new once they are committed (raises if the write failed,
        so MinIO keeps them and sends them again)."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(server_id, events, fut))
        self._queued_events += len(events)
        self._wake.set()
        if self._queued_events >= self.config.flush_events:
            self._full.set()
        return await fut

    async def _run(self) -> None:
        """Group commit: one writer; whatever arrives while it writes goes into the next batch. With
        `flush_interval` > 0 a batch also waits that long for more (or until `flush_events` are queued). Nothing
        here may end the loop: a dead writer would leave every POST waiting."""
        while True:
            await self._wake.wait()
            if self.config.flush_interval > 0 and self._queued_events < self.config.flush_events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.config.flush_interval)
            self._wake.clear()
            self._full.clear()
            try:
                await self._flush()
                now = time.monotonic()
                if now - self._last_prune > PRUNE_EVERY:
                    self._last_prune = now
                    self._spawn(self._prune())  # beside the writer, never in its way
            except Exception as e:  # _flush answers its POSTs itself; this is a bug's last guard
                self.stats.errors += 1
                log.error("meter_writer_error", error=str(e))

    async def _flush(self) -> None:
        batch, self._queue, self._queued_events = self._queue, [], 0
        by_server: dict[int, list[_Pending]] = {}
        for p in batch:
            by_server.setdefault(p.server_id, []).append(p)
        for server_id, items in by_server.items():
            started = time.perf_counter()
            try:
                new, touched = await self._commit(server_id, [e for p in items for e in p.events])
            except Exception as e:
                self.stats.errors += 1
                log.warning("meter_batch_failed", server_id=server_id, error=str(e))
                for p in items:
                    if not p.done.done():
                        p.done.set_exception(e)
                continue
            self.stats.last_flush_s = time.perf_counter() - started
            for p in items:
                if not p.done.done():
                    p.done.set_result(new)
            if touched:
                self._touched.setdefault(server_id, set()).update(touched)
                if server_id not in self._deciding:
                    self._deciding.add(server_id)
                    self._spawn(self._decide_loop(server_id))

    async def _attribution(self, server_id: int, events: list[AuditEvent]) -> Attribution:
        cached = self._usernames.get(server_id)
        now = time.monotonic()
        if cached is not None:
            loaded_at, who = cached
            if now - loaded_at < USERNAMES_TTL or all(who.service_of(e) is not None for e in events):
                return who
        who = Attribution(await self.store.usernames_of_server(server_id))
        self._usernames[server_id] = (now, who)
        return who

    async def _commit(self, server_id: int, events: list[AuditEvent]) -> tuple[int, set[int]]:
        who = await self._attribution(server_id, events)
        mine: list[tuple[int, AuditEvent]] = []
        for e in events:
            sid = who.service_of(e)
            if sid is not None:
                mine.append((sid, e))
        self.stats.unattributed += len(events) - len(mine)
        r: Rollup = await self.store.commit_batch(server_id, mine, lambda fresh: rollup(fresh, self.known))
        self.stats.batches += 1
        self.stats.events += len(events)
        self.stats.counted += r.events
        self.stats.duplicates += len(mine) - r.events
        # Services whose bytes moved, and those that deleted anything (the estimate may not know the size, but a
        # limited tenant freeing space must not wait for the next scan).
        return r.events, {sid for sid, _ in r.disk} | {sid for (sid, _), t in r.traffic.items() if t.delete}

    async def _prune(self) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        try:
            await self.store.prune(self.config.dedupe_hours, now - timedelta(days=35))
        except Exception as e:  # the next round tries again
            log.warning("meter_prune_failed", error=str(e))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._checks.add(task)
        task.add_done_callback(self._checks.discard)

    # -- limits -------------------------------------------------------------------------------------------------
    async def _decide_loop(self, server_id: int) -> None:
        """One decider per server: the services touched meanwhile are decided together, in chunks."""
        try:
            while self._touched.get(server_id):
                touched = self._touched.pop(server_id)
                ids = sorted(touched)
                for start in range(0, len(ids), 500):
                    await self._decide(server_id, set(ids[start : start + 500]))
        finally:
            self._deciding.discard(server_id)

    async def _decide(self, server_id: int, serviceids: set[int]) -> None:
        """The cron's decision rule on the estimate, for services whose stored bytes moved."""
        backend = self.servers.backend(server_id)
        if backend is None or isinstance(backend, StorageQuotas):
            return  # no call for this server since the start (the cron decides), or the server enforces quotas
        try:
            store = UsageStore(self.resources.db)
            rows = {r.serviceid: r for r in await store.services_of_server(server_id, among=serviceids)}
            catalog = await store.products(r.packageid for r in rows.values())
            figures = await self.store.figures(s for s in serviceids if s in rows)
            for sid, figure in figures.items():
                entry = catalog.get(rows[sid].packageid)
                try:
                    product = parse_product(entry.params if entry else {})
                except BridgeError:
                    continue  # the cron reports misconfigured products
                await self._apply(server_id, rows[sid], product, figure)
                if rows[sid].state.policy == "limited":
                    self._verify_soon(server_id, rows[sid], product)
        except Exception as e:
            self.stats.errors += 1
            log.warning("meter_decision_failed", server_id=server_id, error=str(e))

    async def _apply(self, server_id: int, row: ServiceRow, product: ProductSettings, figure: Figure) -> None:
        d = decide(row.state, figure.bytes, product.disk_limit_bytes, product.warning_percent)
        if d.apply_policy is None:
            return
        backend = self.servers.backend(server_id)
        if backend is None:
            return
        async with self.resources.locks.hold(row.serviceid):
            rec = await self.resources.records.get(row.serviceid)
            if rec is None or rec.state not in ("active", "suspended"):
                return
            await backend.apply_policy(row.username, d.apply_policy, product.policy_documents(row.username))
        # Only the policy changes here; the crossing flags stay for the cron, which sends the email once.
        state = LimitState(policy=d.state.policy, warned=row.state.warned, over_limit=row.state.over_limit)
        await self.resources.records.save_limit_state(row.serviceid, state)
        await self.store.record_decisions([(row.serviceid, figure)], datetime.now(UTC))
        self.stats.decisions += 1
        self.stats.policy_changes.append((row.serviceid, d.apply_policy, figure.source))
        log.info(
            "meter_policy",
            serviceid=row.serviceid,
            policy=d.apply_policy,
            figure=figure.source,
            used=figure.bytes,
            limit=product.disk_limit_bytes,
        )
        if d.apply_policy == "limited" and figure.source == "estimate":
            self._verify_soon(server_id, row, product)

    def _verify_soon(self, server_id: int, row: ServiceRow, product: ProductSettings) -> None:
        """At most one listing per service at a time, and one per VERIFY_EVERY seconds."""
        now = time.monotonic()
        if row.serviceid in self._listing or now - self._listed.get(row.serviceid, 0.0) < VERIFY_EVERY:
            return
        self._listing.add(row.serviceid)
        self._listed[row.serviceid] = now
        self._spawn(self._verify(server_id, row, product))

    async def _verify(self, server_id: int, row: ServiceRow, product: ProductSettings) -> None:
        """The service is limited on an estimate, or a limited service deletes: list it now (within the budget) and
        decide again on the exact bytes, which become the figure the estimate counts from."""
        try:
            backend = self.servers.backend(server_id)
            if backend is None:
                return
            started = datetime.now(UTC)
            usage = await backend.usage(row.username, budget_s=self.resources.usage_budget_s)
            if not usage.exact:
                return  # too big to list in the budget: the next scan reconciles
            await self.store.set_listing(row.serviceid, usage.bytes, started)
            fresh = await UsageStore(self.resources.db).services_of_server(server_id, row.serviceid)
            figures = await self.store.figures([row.serviceid])
            if fresh and row.serviceid in figures:
                await self.store.record_decisions([(row.serviceid, figures[row.serviceid])], datetime.now(UTC))
                await self._apply(server_id, fresh[0], product, figures[row.serviceid])
        except Exception as e:  # the cron decides again within 5 minutes
            self.stats.errors += 1
            log.warning("meter_listing_failed", serviceid=row.serviceid, error=str(e))
        finally:
            self._listing.discard(row.serviceid)


# -- the admin button ---------------------------------------------------------------------------------------------
class AdminOnly(BridgeError):
    status = 403
    code = "admin_only"


class MeterOff(BridgeError):
    status = 409
    code = "meter_off"


async def enable_metering(resources: Resources, params: Params) -> Outcome:
    """Enable Traffic Metering (admin button, any service of the server): point the server's `audit_webhook`
    target `s3bridge` at this daemon's audit listener, with a token derived from the daemon's secret and a queue
    directory, through MinIO's admin API. Takes effect at once (the subsystem is dynamic); safe to click again."""
    if optional_int(params, "bridge_client_id") is not None:
        raise AdminOnly("Enable Traffic Metering is an admin action for the whole server")
    server = ServerParams.from_params(params)
    if server.server_id is None:
        raise MissingParam("serverid")
    cfg = resources.meter_config
    if cfg is None or not resources.meter_secrets:
        raise MeterOff(
            'traffic metering is off in the daemon\'s configuration: add a [meter] section with listen = "host:port"'
        )
    backend = resources.backend_for(server)
    if not isinstance(backend, AuditWebhook):
        raise Unsupported(f"{backend.name} has no audit webhook; its traffic comes from the usage statistics")
    settings = {
        "endpoint": f"{cfg.endpoint}/v1/audit/{server.server_id}",
        "auth_token": audit_token(resources.meter_secrets[0], server.server_id),
        "queue_dir": server.option("audit_queue_dir", cfg.queue_dir),
        "queue_size": str(cfg.queue_size),
        "batch_size": str(cfg.batch_size),
    }
    changed = await backend.configure_audit_webhook(TARGET, settings)
    shown = {k: v for k, v in settings.items() if k != "auth_token"}
    return Outcome(
        {
            "message": f"traffic metering {'enabled' if changed else 'already enabled'} on {server.endpoint}:"
            f" audit_webhook:{TARGET} -> {shown['endpoint']} (queue {shown['queue_dir']})",
            "changed": changed,
            **shown,
        }
    )


# -- WHMCS usage billing (MetricProvider) ---------------------------------------------------------------------------
GIB = 1024**3
METRICS = (  # system name, display name, WHMCS type, WHMCS unit class
    ("disk_space", "Disk Space", "snapshot", "GigaBytes"),
    ("traffic_out", "Traffic Out", "month", "GigaBytes"),
    ("traffic_in", "Traffic In", "month", "GigaBytes"),
    ("requests", "Requests", "month", "WholeNumber"),
)


async def metric_usage(resources: Resources, params: Params) -> Outcome:
    """The figures the shim's MetricProvider hands WHMCS: per tenant (tblhosting.username), disk space now (the
    figure limits use: scan or listing + written since), and this month's traffic out and in and requests so far.
    WHMCS keeps one value per month for `month` metrics and overwrites it with each collection, so month values are
    month-to-date totals. GigaBytes are binary (WHMCS converts with 1024) and carry 4 decimals."""
    server = ServerParams.from_params(params)
    if server.server_id is None:
        raise MissingParam("serverid")
    tenant = params.get("bridge_tenant")
    now = resources.now()
    store = MeterStore(resources.db)
    windows = metric_months(now, whmcs_timezone(params))
    current = await store.month_by_tenant(
        server.server_id, windows[0].first, str(tenant) if tenant is not None else None
    )
    figures = await store.figures(m.serviceid for m in current)

    def traffic(m: TenantMonth) -> dict[str, Any]:
        return {"traffic_out": round(m.bytes_out / GIB, 4), "traffic_in": round(m.bytes_in / GIB, 4),
                "requests": m.requests}  # fmt: skip

    usage = {
        m.tenant: {"disk_space": round((figures[m.serviceid].bytes if m.serviceid in figures else 0) / GIB, 4),
                   **traffic(m)}
        for m in current
    }  # fmt: skip
    answer: dict[str, Any] = {
        "metrics": [{"system": a, "name": b, "type": c, "unit": d} for a, b, c, d in METRICS],
        "usage": usage,
        "collected_at": int(now.timestamp()),
    }
    if len(windows) > 1:  # a month's first collection: the previous month's full total, dated inside it
        closing = windows[1]
        previous = await store.month_by_tenant(
            server.server_id, closing.first, str(tenant) if tenant is not None else None, closing.last
        )
        answer["closing"] = {"collected_at": int(closing.filed_at.timestamp()),
                             "usage": {m.tenant: traffic(m) for m in previous}}  # fmt: skip
    return Outcome(answer)


def whmcs_timezone(params: Params) -> tzinfo:
    """WHMCS's timezone as the shim reports it (PHP's default timezone in WHMCS); UTC when not sent. A name the
    system does not know is refused: filing months in the wrong zone would bill the wrong month."""
    name = str(params.get("bridge_timezone") or "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BridgeError(f"WHMCS's timezone {name[:64]!r} is not a timezone this system knows") from None
