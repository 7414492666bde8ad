"""Reconcile: compare one storage server with WHMCS and repair what is safe to repair.

Gathering costs one query (WHMCS's services of the server with the daemon's records), one product read, one listing
of the server's accounts and one or two of its buckets (the scanner's figures and, where those lag, a live listing of
the names), whatever the number of services. The rules are pure (`domain/drift.py`). Repairs take the one account
path (`functions/call.py`: the service's lock and record), check again under the lock that WHMCS and the storage still
disagree, touch only that service's account, and are audited.

Deleting an orphan's data is never a safe repair: the admin types the account's name and the orphan must have been
seen for the grace period (`[fleet] orphan_grace_hours`).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from bridge import logs, metrics
from bridge.backends.base import StorageBackend
from bridge.backends.capabilities import AccountInventory, LiveBucketNames
from bridge.backends.directory import ServerDirectory
from bridge.domain import drift
from bridge.domain.drift import Finding, ServiceView, StoredAccount
from bridge.domain.params import Params, ServerParams, optional_int
from bridge.domain.product_settings import InvalidSetting, ProductSettings, parse_product
from bridge.errors import BadParam, BridgeError, Unsupported
from bridge.functions.call import NoAccount, Target, account, service
from bridge.functions.context import Outcome, Resources
from bridge.logs import get_logger
from bridge.whmcs import audit
from bridge.whmcs.drift_store import ServiceRow

log = get_logger("s3bridge.reconcile")

Fix = Literal["none", "safe"]
RepairOutcome = Literal["repaired", "refused", "failed", "skipped"]


class ServerUnknown(BridgeError):
    status = 409
    code = "server_unknown"


@dataclass(frozen=True)
class RepairResult:
    finding: Finding
    outcome: RepairOutcome
    detail: str


@dataclass
class ReconcileReport:
    serverid: int
    backend: str
    services: int = 0
    accounts: int = 0
    buckets: int = 0
    findings: list[Finding] = field(default_factory=list)
    first_seen: dict[tuple[str, str], datetime] = field(default_factory=dict)
    repairs: list[RepairResult] = field(default_factory=list)
    refused_deletes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def remaining(self) -> list[Finding]:
        done = {r.finding.key for r in self.repairs if r.outcome == "repaired"}
        return [f for f in self.findings if f.key not in done]

    def result(self) -> dict[str, Any]:
        repairs = {r.finding.key: r for r in self.repairs}
        return {
            "serverid": self.serverid,
            "backend": self.backend,
            "services": self.services,
            "accounts": self.accounts,
            "buckets": self.buckets,
            "seconds": round(self.seconds, 3),
            "counts": drift.counts(self.findings),
            "remaining": drift.counts(self.remaining),
            "refused_deletes": self.refused_deletes,
            "findings": [
                {
                    "kind": f.kind,
                    "subject": f.subject,
                    "serviceid": f.serviceid,
                    "expected": f.expected,
                    "actual": f.actual,
                    "repair": f.repair,
                    "safe": f.safe,
                    "first_seen": self.first_seen[f.key].isoformat() if f.key in self.first_seen else None,
                    **(
                        {"outcome": repairs[f.key].outcome, "detail": repairs[f.key].detail} if f.key in repairs else {}
                    ),
                }
                for f in self.findings
            ],
        }


@dataclass(frozen=True)
class _Service:
    row: ServiceRow
    product: ProductSettings | None  # None: the product's settings do not parse (its services are skipped)


async def _gather(
    resources: Resources, server: ServerParams, backend: StorageBackend
) -> tuple[list[_Service], list[StoredAccount], list[Any]]:
    if not isinstance(backend, AccountInventory):
        raise Unsupported(f"{backend.name} at {server.endpoint} cannot list its accounts, so it cannot be reconciled")
    serverid = server.server_id or 0
    rows = await resources.stores.drift.services(serverid)
    products = await resources.stores.usage.products(r.packageid for r in rows if r.packageid)
    parsed: dict[int, ProductSettings | None] = {}
    for pid, product in products.items():
        try:
            parsed[pid] = parse_product(product.params)
        except (InvalidSetting, BadParam):
            parsed[pid] = None
    accounts = await backend.list_accounts()
    buckets = await backend.server_usage()
    if isinstance(backend, LiveBucketNames):  # the scanner's figures lag: which buckets exist comes from a listing
        buckets = drift.current_buckets(buckets, await backend.bucket_names())
    return [_Service(r, parsed.get(r.packageid)) for r in rows], accounts, buckets


def _views(services: Sequence[_Service]) -> list[ServiceView]:
    return [
        ServiceView(
            serviceid=s.row.serviceid,
            whmcs_status=s.row.whmcs_status,
            record_state=s.row.record_state,
            username=s.row.username,
            owner_id=s.row.owner_id,
            disk_limit_bytes=s.product.disk_limit_bytes if s.product else 0,
        )
        for s in services
    ]


async def reconcile_server(
    resources: Resources,
    server: ServerParams,
    *,
    fix: Fix = "none",
    delete: Sequence[str] = (),
    grace: timedelta | None = None,
    only: frozenset[tuple[str, str]] | None = None,
) -> ReconcileReport:
    """Find the server's drift, keep it for the pages, and (with `fix="safe"`) repair the safe findings; orphans
    named in `delete` have their data deleted once past the grace period. `only`: repair just these (kind, subject)
    findings (the console's row buttons); all are still found and kept."""
    started = time.monotonic()
    backend = resources.backend_for(server)
    serverid = server.server_id or 0
    report = ReconcileReport(serverid, backend.name)
    services, accounts, buckets = await _gather(resources, server, backend)
    findings = drift.find_drift(_views(services), accounts, buckets, ours=[s.row.username for s in services])
    report.services, report.accounts, report.buckets = len(services), len(accounts), len(buckets)
    report.findings = findings
    store = resources.stores.drift
    now = resources.now()
    report.first_seen = await store.save(serverid, findings, now)

    by_id = {s.row.serviceid: s for s in services}
    wanted = set(delete)
    for f in findings:
        if only is not None and f.key not in only:
            continue  # the console repairs one row at a time
        if fix == "safe" and f.safe:
            result = await _repair(resources, server, backend, by_id.get(f.serviceid or 0), f)
        elif f.repair == "delete_orphan" and f.subject in wanted:
            why = drift.may_delete(
                f,
                confirmation=f.subject,
                first_seen=report.first_seen[f.key],
                now=now,
                grace=grace if grace is not None else resources.orphan_grace,
            )
            result = RepairResult(f, "refused", why) if why else await _delete_orphan(resources, backend, f)
        else:
            continue
        report.repairs.append(result)
        if result.outcome == "repaired":
            await store.resolve(serverid, f)
        await audit.record(
            resources.db,
            request_id=logs.request_id(),
            action=f"Reconcile:{f.kind}",
            outcome=result.outcome,
            detail=f"server {serverid}: '{f.subject}' expected {f.expected}, found {f.actual}; {result.detail}",
            serviceid=f.serviceid,
        )
    for name in sorted(wanted - {f.subject for f in findings if f.repair == "delete_orphan"}):
        report.refused_deletes.append(f"'{name}' is not an orphan on server {serverid}: nothing deleted")
    report.seconds = time.monotonic() - started
    metrics.RECONCILE_SECONDS.observe(report.seconds)
    for kind, n in drift.counts(report.remaining).items():
        metrics.DRIFT.labels(str(serverid), kind).set(n)
    await store.record_run(
        serverid,
        finished=resources.now(),
        duration_ms=int(report.seconds * 1000),
        findings=len(report.remaining),
        repaired=sum(1 for r in report.repairs if r.outcome == "repaired"),
    )
    log.info(
        "reconciled",
        serverid=serverid,
        services=report.services,
        findings=len(findings),
        repaired=sum(1 for r in report.repairs if r.outcome == "repaired"),
        seconds=round(report.seconds, 3),
    )
    return report


async def _repair(
    resources: Resources, server: ServerParams, backend: StorageBackend, service: _Service | None, f: Finding
) -> RepairResult:
    """A safe repair, through the one account path; checked again under the service's lock."""
    if service is None or service.product is None or f.serviceid is None:
        return RepairResult(f, "skipped", "the service's product settings do not parse; fix the product first")
    target = Target(f.serviceid, service.row.clientid, server, backend, service.product)
    try:
        async with account(resources, target, {}, settle=False) as rec:
            status = await resources.stores.drift.whmcs_status(f.serviceid)
            if status != service.row.whmcs_status or rec.username != f.subject:
                return RepairResult(f, "skipped", "the service changed since the listing; run reconcile again")
            if f.repair in ("enable", "disable"):
                enabled = f.repair == "enable"
                await backend.set_enabled(rec.username, enabled)
                await resources.records.update(f.serviceid, state="active" if enabled else "suspended")
                return RepairResult(f, "repaired", f"account {'enabled' if enabled else 'disabled'} as WHMCS says")
            if f.repair == "apply_policy" and f.expected in ("standard", "limited"):
                kind: Any = f.expected
                await backend.apply_policy(rec.username, kind, service.product.policy_documents(rec.username))
                await resources.records.update(f.serviceid, policy=kind)
                return RepairResult(f, "repaired", f"{f.expected} policy attached, as the usage calls for")
    except NoAccount as e:
        return RepairResult(f, "skipped", e.message)
    except BridgeError as e:
        return RepairResult(f, "failed", e.message)
    return RepairResult(f, "skipped", f"no repair for {f.kind}")


async def _delete_orphan(resources: Resources, backend: StorageBackend, f: Finding) -> RepairResult:
    """Delete an orphan account's buckets, objects, policies and user (nothing else: the driver deletes by namespace
    or owner). A record still naming it is marked terminated."""
    try:
        if f.serviceid is not None:
            async with service(resources, f.serviceid) as rec:
                ours = rec is not None and rec.username == f.subject
                if ours and await resources.stores.drift.whmcs_status(f.serviceid) in drift.LIVE:
                    return RepairResult(f, "skipped", "WHMCS has the service live again; run reconcile again")
                deleted = await backend.delete_account(f.subject)
                if ours and rec is not None and rec.state != "terminated":
                    await resources.records.update(f.serviceid, state="terminated")
        else:
            deleted = await backend.delete_account(f.subject)
    except BridgeError as e:
        return RepairResult(f, "failed", e.message)
    return RepairResult(
        f, "repaired", f"deleted {deleted.buckets} bucket(s), {deleted.objects} object version(s) and the user"
    )


def server_of(resources: Resources, params: Params) -> ServerParams:
    """The server's params from the call (WHMCS's cron passes them), else the ones the daemon last saw for the
    server id (the command line passes only the id)."""
    serverid = optional_int(params, "serverid")
    if not serverid or serverid <= 0:
        raise BadParam("serverid", "must be a positive whole number")
    if params.get("serverusername"):
        server = ServerParams.from_params(params)
        resources.backend_for(server)  # remember it, as every call does
        return server
    directory = resources.backend_for
    known = directory.server(serverid) if isinstance(directory, ServerDirectory) else None
    if known is None:
        raise ServerUnknown(
            f"server {serverid} has not called this daemon since it started, so its credentials are not known here;"
            " WHMCS's cron calls every server every 5 minutes (or run reconcile from WHMCS)"
        )
    return known


async def reconcile(resources: Resources, params: Params) -> Outcome:
    """The `Reconcile` module function: WHMCS's daily cron and `s3bridge reconcile`."""
    fix = str(params.get("bridge_fix") or "none")
    if fix not in ("none", "safe"):
        raise BadParam("bridge_fix", f"must be 'none' or 'safe', got {fix[:20]!r}")
    raw_delete = params.get("delete") or []
    if not isinstance(raw_delete, list) or not all(isinstance(x, str) for x in raw_delete):
        raise BadParam("delete", "must be a list of account names, each typed to confirm deleting its data")
    server = server_of(resources, params)
    report = await reconcile_server(resources, server, fix="safe" if fix == "safe" else "none", delete=raw_delete)
    return Outcome(report.result())
