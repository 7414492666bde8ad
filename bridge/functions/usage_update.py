"""Usage: the daily UsageUpdate, the 5-minute limit check (AfterCronJob), and Recalculate Disk Space.

Collection costs one admin target per server (the backend's server-wide per-bucket figures), whatever the number of
services; decisions cost a backend target only where something changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bridge import metrics
from bridge.backends.base import StorageBackend
from bridge.backends.capabilities import ScannerClock, StorageQuotas, TrafficStatistics
from bridge.domain.params import Params, ServerParams
from bridge.domain.product_settings import ProductSettings, parse_product
from bridge.domain.traffic import Figure, estimate
from bridge.domain.usage_rules import (
    WHMCS_MB_MAX,
    Decision,
    ServiceUsage,
    assign,
    decide,
    overflows_whmcs,
    usage_digest,
    whmcs_mb,
)
from bridge.domain.values import BucketUsage
from bridge.errors import BridgeError, MissingParam
from bridge.functions.call import change_policy, require_account, target_of
from bridge.functions.context import Outcome, Resources
from bridge.functions.ownership import authorize
from bridge.logs import get_logger
from bridge.views.emails import DiskFigures, EmailKind
from bridge.whmcs.batch import db_time
from bridge.whmcs.services import measured_step
from bridge.whmcs.usage_store import FigureWrite, Product, ServiceRow, figures_step, history_step, lastupdate_step

log = get_logger("s3bridge.usage")


@dataclass
class Report:
    services: int = 0
    buckets: int = 0
    policy_changes: list[dict[str, Any]] = field(default_factory=list)
    emails: int = 0
    skipped: list[dict[str, Any]] = field(default_factory=list)
    history_deleted: int = 0
    traffic_objects: int = 0
    written: int = 0  # services whose figures changed (the others' were already right)
    history: int = 0  # services whose daily history rows were written (the first daily run of a day: all)
    clamped: list[int] = field(default_factory=list)  # services whose figures exceed tblhosting's int columns
    traffic_unreadable: list[str] = field(default_factory=list)  # statistics objects kept on the server, unread
    effects: list[dict[str, Any]] = field(default_factory=list)

    def result(self) -> dict[str, Any]:
        return {
            "services": self.services,
            "buckets": self.buckets,
            "policy_changes": self.policy_changes,
            "emails": self.emails,
            "skipped": self.skipped,
            "history_deleted": self.history_deleted,
            "traffic_objects": self.traffic_objects,
            "written": self.written,
            "history": self.history,
            "clamped": self.clamped,
            "traffic_unreadable": self.traffic_unreadable,
        }


async def usage_update(resources: Resources, params: Params) -> Outcome:
    """WHMCS's daily UsageUpdate for one server: figures, history, retention, decisions."""
    return await _collect(resources, params, daily=True)


async def enforce_limits(resources: Resources, params: Params) -> Outcome:
    """The AfterCronJob check (every cron run): figures and decisions, no history."""
    return await _collect(resources, params, daily=False)


async def _collect(resources: Resources, params: Params, *, daily: bool) -> Outcome:
    """`_collect_once`, timed by kind and result (bridge/metrics.py)."""
    kind = "daily" if daily else "check"
    started = time.perf_counter()
    try:
        outcome = await _collect_once(resources, params, daily=daily)
    except BridgeError as e:
        metrics.USAGE_CYCLE_SECONDS.labels(kind, e.code).observe(time.perf_counter() - started)
        _record_run(resources, params, kind, started, e.code)
        raise
    metrics.USAGE_CYCLE_SECONDS.labels(kind, "ok").observe(time.perf_counter() - started)
    metrics.USAGE_CYCLE_LAST.labels(kind).set(time.time())
    _record_run(resources, params, kind, started, "ok")
    return outcome


def _record_run(resources: Resources, params: Params, kind: str, started: float, result: str) -> None:
    """The run's end for the fleet console's Servers page, written while WHMCS reads the answer (a call without a
    server id names no server: not kept)."""
    serverid = str(params.get("serverid") or "")
    if serverid.isdigit():
        ms = int((time.perf_counter() - started) * 1000)
        resources.stores.fleet.note_usage_run(int(serverid), kind, resources.now(), ms, result)


async def _collect_once(resources: Resources, params: Params, *, daily: bool) -> Outcome:
    store = resources.stores.usage
    meter = resources.stores.meter
    if params.get("serverport") in (None, "") and params.get("serverid") not in (None, ""):
        # WHMCS's daily cron passes no port (only the seven server keys): take it from the server's record.
        params = {**params, "serverport": (await store.server_record(int(params["serverid"]))).get("port")}
    server = ServerParams.from_params(params)
    if server.server_id is None:
        raise MissingParam("serverid")
    backend = resources.backend_for(server)
    month = resources.now().date().replace(day=1)
    # Traffic of the month (audit stream, or statistics objects) into tblhosting.bwusage, bwlimit from the product:
    # it does not depend on the scan, so it runs beside it, unless today's statistics objects come first (ostor).
    bandwidth_after = daily and isinstance(backend, TrafficStatistics)

    async def ours() -> tuple[list[ServiceRow], dict[int, Product]]:
        rows = await store.services_of_server(server.server_id or 0)
        # Each product is read and parsed once, however many services use it.
        return rows, await store.products(r.packageid for r in rows)

    # The storage server builds its answer while the database gives ours: neither waits for the other.
    scan = asyncio.ensure_future(backend.server_usage())
    try:
        if bandwidth_after:
            rows, catalog = await ours()
        else:
            (rows, catalog), _ = await asyncio.gather(ours(), meter.write_bandwidth(server.server_id, month))
    except BaseException:
        await _abandon(scan)
        raise
    report = Report(services=len(rows))
    if not rows:
        await _abandon(scan)
        return Outcome(report.result())
    products = _settings(rows, catalog, report)
    # History ages by days: the day's first daily run trims it for the services it writes today's rows for, while
    # the storage server is still building its answer (later runs that day would find nothing more to trim).
    first_day = resources.now().date()
    keep_days = {
        r.serviceid: products[r.serviceid].retention_days
        for r in rows
        if daily and r.serviceid in products and r.history_day != first_day
    }
    trim = asyncio.ensure_future(store.apply_retention(keep_days, first_day)) if keep_days else None
    if trim is not None:  # awaited below; should the run fail before that, its error is not left unretrieved
        trim.add_done_callback(lambda t: t.cancelled() or t.exception())
    try:
        buckets = await scan
    except BaseException:
        if trim is not None:  # let it finish; the scan's failure is the one to report
            with contextlib.suppress(Exception):
                await asyncio.shield(trim)
        raise
    report.buckets = len(buckets)
    usages = assign(buckets, {r.serviceid: r.username for r in rows}, {r.serviceid: r.backend_user_id for r in rows})

    # Only what differs from what is stored is written: a run that finds nothing new writes nothing (see
    # tests/integration/usage/test_usage_cycle_queries.py). The figures are those of the scan that measured them.
    now = resources.now()
    today = now.date()
    scanned_at = backend.last_scan if isinstance(backend, ScannerClock) else now
    measured_at, figure_at = db_time(scanned_at or now), db_time(scanned_at)
    writes: list[FigureWrite] = []
    used: dict[int, int] = {}  # each service's bytes by this scan, summed once
    history: list[ServiceUsage] = []
    remeasured: list[int] = []  # services whose stored measuring time, scan or history day is not this run's
    first_today: list[int] = []  # services this day's first daily run measures: WHMCS's lastupdate
    for r in rows:
        product_settings = products.get(r.serviceid)
        if product_settings is None:
            continue
        usage = usages[r.serviceid]
        used[r.serviceid] = n = usage.bytes
        digest = usage_digest(usage.buckets)
        limit = product_settings.disk_limit_bytes
        new_day = daily and r.history_day != today
        if daily and (digest != r.digest or new_day):
            history.append(usage)
        whmcs = whmcs_mb(n) != r.diskusage_mb or whmcs_mb(limit) != r.disklimit_mb
        if whmcs or digest != r.digest or n != r.used_bytes:
            writes.append(FigureWrite(usage, limit, digest, whmcs))
        if overflows_whmcs(limit) or overflows_whmcs(n):
            report.clamped.append(r.serviceid)
        if new_day or (r.usage_at, r.figure_at, r.figure_source) != (measured_at, figure_at, "scan"):
            remeasured.append(r.serviceid)
        if new_day and not whmcs:
            first_today.append(r.serviceid)
    await store.save(
        history_step(history, today) if daily else None,
        figures_step(writes, now, exact=False, history_day=today if daily else None, measured_at=measured_at),
        measured_step(remeasured, measured_at or now, figure_at, today if daily else None),
        lastupdate_step(first_today, now),  # once a day, as WHMCS's own modules stamp it
    )
    report.written = len(writes)
    report.history = len(history)
    report.history_deleted = await trim if trim is not None else 0
    if report.clamped:
        log.warning("usage_clamped_for_whmcs", serviceids=report.clamped, max_mb=WHMCS_MB_MAX)
    if daily and isinstance(backend, TrafficStatistics):
        traffic = await backend.collect_traffic(
            lambda source, records: store.store_traffic(server.server_id or 0, source, records)
        )
        report.traffic_objects, report.traffic_unreadable = traffic.collected, list(traffic.unreadable)
        await store.note_unreadable_traffic(
            server.server_id or 0, traffic.unreadable, complete=not traffic.paging_stopped
        )
        await meter.rollup_ostor(server.server_id, today - timedelta(days=35))
    if bandwidth_after:
        await meter.write_bandwidth(server.server_id, month)
    # Decisions use the estimate: this scan's figure + what the audit stream saw written since the scan. Without
    # writes seen by the stream, the estimate is the scan's figure: only the others are asked of the meter.
    metered = [r.serviceid for r in rows if r.disk_writes and r.serviceid in products]
    figures = await meter.figures(metered) if metered else {}
    decided: list[tuple[int, Figure]] = []  # only decisions whose figure changed: decided_at says since when
    acting: list[tuple[ServiceRow, ProductSettings, Decision, int]] = []  # only decisions that change something
    for r in rows:
        settings = products.get(r.serviceid)
        if settings is None:
            continue
        figure = figures.get(r.serviceid)
        source, n = (figure.source, figure.bytes) if figure else ("scan", used[r.serviceid])
        if (source, n) != (r.decided_by, r.decided_bytes):
            decided.append((r.serviceid, figure or estimate(n, "scan", 0, 0)))
        d = decide(r.state, n, settings.disk_limit_bytes, settings.warning_percent)
        if d.acts_on(r.state):
            acting.append((r, settings, d, n))
    if decided:
        await resources.records.record_decisions(decided, now)
    for r, settings, d, n in acting:
        await _enforce(resources, backend, r, settings, d, n, report, catalog[r.packageid].name)
    log.info(
        "usage_collected",
        server=server.endpoint,
        daily=daily,
        **{k: v for k, v in report.result().items() if k in ("services", "buckets", "emails")},
    )
    return Outcome(report.result(), report.effects)


def _settings(rows: list[ServiceRow], catalog: dict[int, Product], report: Report) -> dict[int, ProductSettings]:
    """Each service's product settings, each product parsed once; a misconfigured product's services are skipped
    (in the report), and must not stop the others' figures."""
    parsed: dict[int, ProductSettings | BridgeError] = {}
    for pid, product in catalog.items():
        try:
            parsed[pid] = parse_product(product.params)
        except BridgeError as e:
            parsed[pid] = e
    products: dict[int, ProductSettings] = {}
    for r in rows:
        settings = parsed.get(r.packageid) or BridgeError(f"product {r.packageid} does not exist")
        if isinstance(settings, BridgeError):
            report.skipped.append({"serviceid": r.serviceid, "reason": settings.message})
        else:
            products[r.serviceid] = settings
    return products


async def _abandon(task: asyncio.Future[Any]) -> None:
    """Drop a storage server call whose answer is no longer wanted (its error included)."""
    task.cancel()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await task


async def _enforce(
    resources: Resources,
    backend: StorageBackend,
    row: ServiceRow,
    product: ProductSettings,
    d: Decision,
    used: int,
    report: Report,
    product_name: str,
) -> None:
    """Apply a decision of the one rule (bridge.domain.usage_rules.decide) taken for `used` bytes: the policy, the
    limit state, the email. Called only for decisions that change something (`Decision.acts_on`)."""
    # Backends with a native storage quota (ostor) stop writes themselves: no policy to switch.
    if d.apply_policy is not None and not isinstance(backend, StorageQuotas):
        policies = product.policy_documents(row.username)
        if not await change_policy(resources, backend, row.serviceid, row.username, d.apply_policy, policies):
            return  # terminated meanwhile
        report.policy_changes.append({"serviceid": row.serviceid, "policy": d.apply_policy})
    if d.state != row.state:
        await resources.records.save_limit_state(row.serviceid, d.state)
    if row.status == "Active" and (d.send_warning or d.send_suspension):
        kind: EmailKind = "suspension" if d.send_suspension else "warning"
        template = product.suspension_template if d.send_suspension else product.warning_template
        report.effects.append(
            resources.mailer.effect(
                kind=kind,
                serviceid=row.serviceid,
                language=row.language,
                client_name=row.client_name,
                product_name=product_name,
                username=row.username,
                figures=DiskFigures(used, product.disk_limit_bytes, product.unit),
                whmcs_template=template,
            )
        )
        report.emails += 1


async def recalculate(resources: Resources, params: Params) -> Outcome:
    """Recalculate Disk Space (client and admin button): exact usage by listing now, within a time budget."""
    target = target_of(resources, params)
    await authorize(resources, params, target.serviceid, "RecalculateDiskSpace")
    await require_account(resources, target)  # no lock here: _enforce takes it where it acts
    store = resources.stores.usage
    rows = await store.services_of_server(target.server.server_id or 0, serviceid=target.serviceid)
    if not rows:
        raise BridgeError(f"service {target.serviceid} is not an active service on this server", code="not_active")
    row = rows[0]
    started = resources.now()
    exact = await target.backend.usage(row.username, budget_s=resources.usage_budget_s)
    figures: list[BucketUsage] = list(exact.buckets)
    note = "exact (listed now)" if exact.listed else "the storage server's own bucket sizes (read now, not listed)"
    if not exact.exact:
        # The listing ran out of time: take the scanner's figure where it is larger than what was counted.
        scanner = {b.name: b for b in await target.backend.server_usage()}
        figures = [max(b, scanner.get(b.name, b), key=lambda x: x.size) for b in exact.buckets]
        note = (
            f"estimated: listing stopped after the {resources.usage_budget_s:g} s budget; figures are the"
            " storage server's latest scan"
        )
    usage = ServiceUsage(target.serviceid, row.username, figures)
    now = resources.now()
    write = FigureWrite(usage, target.product.disk_limit_bytes, usage_digest(usage.buckets))
    await store.save(
        history_step([usage], now.date()),
        figures_step([write], now, exact=exact.exact, history_day=now.date()),
    )
    if exact.exact:  # the estimate counts from this listing now
        await resources.records.set_figure_times([(target.serviceid, started, "listing")])
    report = Report(services=1, buckets=len(figures))
    name = (await store.products([row.packageid])).get(row.packageid)
    d = decide(row.state, usage.bytes, target.product.disk_limit_bytes, target.product.warning_percent)
    if d.acts_on(row.state):
        await _enforce(
            resources, target.backend, row, target.product, d, usage.bytes, report, name.name if name else ""
        )
    return Outcome(
        {
            "message": f"disk usage of '{row.username}': {usage.bytes} bytes in {len(figures)} bucket(s), {note};"
            f" {d.state.policy} policy",
            "used_bytes": usage.bytes,
            "limit_bytes": target.product.disk_limit_bytes,
            "exact": exact.exact,
            "policy": d.state.policy,
            "policy_changes": report.policy_changes,
            "buckets": [{"name": b.name, "size": b.size, "objects": b.objects} for b in figures],
        },
        report.effects,
    )
