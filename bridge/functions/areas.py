"""The client area and the admin tab: gather the figures into view models and render them.

Only the owner sees a service: in a client's context (the shim sends the logged-in client as `bridge_client_id`),
the service's tblhosting.userid must be that client; anything else is refused and audited. Admin context
(`bridge_admin_id`) may see every service.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from bridge.backends.base import AccountInfo
from bridge.backends.capabilities import AccessKeys, AuditWebhook, RateLimiting, StorageQuotas, TrafficStatistics
from bridge.domain.params import Params
from bridge.domain.usage_rules import WHMCS_MB_MAX, overflows_whmcs
from bridge.domain.values import DailyPoint, RateLimits
from bridge.errors import BackendError, BridgeError
from bridge.functions.call import Target, settled, target_of
from bridge.functions.context import Outcome, Resources
from bridge.functions.lifecycle import FOREIGN_BUCKETS_EVENT
from bridge.functions.limits import describe_limits, held_note, limits_sentence
from bridge.functions.ownership import authorize
from bridge.views.model import AdminTabView, Bucket, ClientAreaView, Decision, Disk, Traffic
from bridge.views.render import render_admin_tab, render_client_area
from bridge.whmcs.area_queries import LatestUsage
from bridge.whmcs.meter_store import month_totals


async def _language(resources: Resources, params: Params) -> str:
    """The client's WHMCS language; '' is WHMCS's "Default", i.e. the system language."""
    details = params.get("clientsdetails")
    language = str(details.get("language") or "") if isinstance(details, dict) else ""
    return language or await resources.stores.areas.system_language()


def _endpoint(target: Target) -> str:
    if target.product.endpoint_url:
        return target.product.endpoint_url
    scheme = "https" if target.server.secure else "http"
    default = 443 if target.server.secure else 80
    port = "" if target.server.port == default else f":{target.server.port}"
    return f"{scheme}://{target.server.endpoint.rsplit(':', 1)[0]}{port}"


async def _buckets(target: Target, username: str, latest: LatestUsage) -> tuple[tuple[Bucket, ...], str]:
    counted = target.backend.counts_objects  # ostor's figures are the gateway's sizes: no object counts to show

    def shown(objects: int) -> int | None:
        return objects if counted else None

    try:
        listed = await target.backend.list_buckets(username)
    except BackendError as e:
        return tuple(Bucket(n, None, shown(o), b) for n, (b, o) in sorted(latest.buckets.items())), e.message
    out = []
    for name, created in sorted(listed):
        size, objects = latest.buckets.get(name, (0, 0))
        out.append(Bucket(name, datetime.fromisoformat(created) if created else None, shown(objects), size))
    return tuple(out), ""


AUDIT_EXACTNESS = (
    "Traffic is counted from MinIO's audit log, once per request MinIO reports: a floor, never more than the"
    " customer did. MinIO drops the entries of some requests whose client closes the connection at once (curl,"
    " one-shot scripts); kept-open connections (SDKs, mc, rclone) are exact. Requests refused to others (no key,"
    " another account, a bucket that does not exist) and the daemon's own are billed to nobody."
)


async def _traffic(
    resources: Resources, serviceid: int, *, refused: bool = False
) -> tuple[tuple[DailyPoint, ...], Traffic | None]:
    """The last 30 days of traffic (bytes in + out per day) and this month's totals; None without any traffic.
    `refused`: the requests refused to others this month too (the admin's view; never billed)."""
    today = resources.now().date()
    month_start = today.replace(day=1)
    days = await resources.stores.meter.traffic_days(serviceid, min(month_start, today - timedelta(days=29)))
    if not days:
        return (), None
    recent = tuple(DailyPoint(d.day, d.bytes_in + d.bytes_out) for d in days if d.day >= today - timedelta(days=29))
    m = month_totals(days, month_start)
    requests = {"read": m.read, "write": m.write, "list": m.list, "delete": m.delete, "other": m.other}
    if refused:
        requests["refused, not billed"] = m.refused
    return recent, Traffic(m.bytes_in, m.bytes_out, requests)


def _disk(target: Target, latest: LatestUsage) -> Disk:
    return Disk(
        used_bytes=latest.used_bytes,
        limit_bytes=target.product.disk_limit_bytes,
        unit=target.product.unit,
        last_update=latest.at,
        exact=latest.exact,
    )


async def client_area(resources: Resources, params: Params) -> Outcome:
    target = target_of(resources, params)
    await authorize(resources, params, target.serviceid, "ClientArea")
    rec = await resources.records.get(target.serviceid)
    if rec is None or not rec.exists or rec.state == "creating":
        raise BridgeError(f"the storage account of service {target.serviceid} is not ready yet", code="no_account")
    if rec.pending_access_key:  # the client now sees the new keys: WHMCS holds them, the old pair can go
        rec = await settled(resources, target, params)
    store = resources.stores.areas
    latest = await store.latest(target.serviceid)
    buckets, problem = await _buckets(target, rec.username, latest)
    today = resources.now().date()
    sid = target.serviceid
    traffic, traffic_month = await _traffic(resources, sid)
    page = "clientarea.php?action=productdetails&id=" + str(sid)
    display = target.product.password_display
    view = ClientAreaView(
        language=await _language(resources, params),
        serviceid=sid,
        endpoint=_endpoint(target),
        console_url=target.product.console_url,
        instructions_url=target.product.instructions_url,
        username=rec.access_key or rec.username,
        password="" if display == "hidden" else str(params.get("password") or ""),
        password_display=display,
        suspended=rec.state == "suspended",
        policy=rec.policy,
        disk=_disk(target, latest),
        buckets=buckets,
        daily=await store.daily(sid, today - timedelta(days=29)),
        monthly=await store.monthly(sid),
        change_password_url=f"{page}&modop=custom&a=ResetPassword",
        recalculate_url=f"{page}&modop=custom&a=RecalculateDiskSpace",
        upgrade_url=f"upgrade.php?type=package&id={sid}",
        cancel_url=f"clientarea.php?action=cancel&id={sid}",
        notice=problem,
        keys=isinstance(target.backend, AccessKeys),
        traffic=traffic,
        traffic_month=traffic_month,
        csrf_token=str(params.get("bridge_csrf_token") or ""),
    )
    return Outcome({"html": render_client_area(view)})


async def _decision(resources: Resources, serviceid: int) -> Decision | None:
    row = await resources.stores.meter.decision_of(serviceid)
    if not row or not row["decided_by"]:
        return None
    return Decision(str(row["decided_by"]), int(row["decided_bytes"]), row["decided_at"])


def _clamp_note(target: Target, latest: LatestUsage) -> str:
    """WHMCS's tblhosting holds at most 2,147,483,647 MB (2 PB): say so when this service's figures are bigger."""
    if not (overflows_whmcs(target.product.disk_limit_bytes) or overflows_whmcs(latest.used_bytes)):
        return ""
    return (
        f"WHMCS's usage columns hold at most {WHMCS_MB_MAX} MB (2 PB): WHMCS shows this service's disk limit or usage"
        " as that figure (overage billing counts from it); the module enforces the real limit"
    )


async def _drift_note(resources: Resources, target: Target) -> str:
    """The server's drift count from its last reconcile (WHMCS's daily cron, or `s3bridge reconcile`)."""
    serverid = target.server.server_id or 0
    last = await resources.stores.drift.last_run(serverid)
    if last is None:
        return ""
    finished, findings = last
    if not findings:
        return f"Reconcile {finished:%Y-%m-%d %H:%M} UTC: WHMCS and the storage server agree"
    return (
        f"Reconcile {finished:%Y-%m-%d %H:%M} UTC: {findings} finding{'s' if findings != 1 else ''} on this server"
        f" (see `s3bridge reconcile --server {serverid}`)"
    )


async def admin_tab(resources: Resources, params: Params) -> Outcome:
    target = target_of(resources, params)
    rec = await resources.records.get(target.serviceid)
    if rec is None:
        return Outcome({"fields": {}})
    try:
        report = await target.backend.test_connection()
        ok, message = True, f"{report.backend} {report.version}".strip()
    except BackendError as e:
        ok, message = False, e.message
    info: AccountInfo | None = None
    status = "unknown"
    if ok:
        try:
            info = await target.backend.account_info(rec.username)
            status = "missing" if info is None else ("enabled" if info.enabled else "disabled")
        except BackendError as e:
            message = e.message
    latest = await resources.stores.areas.latest(target.serviceid)
    buckets, problem = await _buckets(target, rec.username, latest) if ok else ((), "")
    limits_note = held = ""
    if ok and info is not None and isinstance(target.backend, StorageQuotas | RateLimiting):
        described = await describe_limits(target.backend, rec.username)
        limits_note = "Native limits " + limits_sentence(rec.username, described)
        if "rate_limits" in described:
            held = held_note(target.product.rate_limits.differences(RateLimits(**described["rate_limits"])))
    left = [
        f"Terminate {e['detail']}"
        for e in await resources.stores.panel.events(target.serviceid, 50)
        if e["event"] == FOREIGN_BUCKETS_EVENT
    ][:1]
    traffic_note = ""
    if isinstance(target.backend, TrafficStatistics):
        unread = await resources.stores.areas.unreadable_traffic(target.server.server_id or 0)
        if unread:
            shown = ", ".join(unread[:5]) + (f" and {len(unread) - 5} more" if len(unread) > 5 else "")
            traffic_note = (
                f"{len(unread)} usage statistics object{'s' if len(unread) > 1 else ''} on this server could not be"
                f" read and {'are' if len(unread) > 1 else 'is'} kept on the gateway, not billed: {shown}"
            )
    drift_note = await _drift_note(resources, target)
    retained = ""
    if rec.state == "retained":
        retained = "Terminate could not finish: " + (await resources.stores.areas.retained_note(target.serviceid))
    if isinstance(target.backend, AuditWebhook):
        traffic_note = " ".join(n for n in (traffic_note, AUDIT_EXACTNESS) if n)
    policy_name = info.policy if info else ""
    kind: Literal["standard", "limited", "unknown"] = rec.policy if policy_name else "unknown"  # what the bridge set
    view = AdminTabView(
        language="english",
        connection_ok=ok,
        connection_message=message,
        username=rec.username,
        user_status=status,
        groups=info.groups if info else (),
        policy=policy_name,
        policy_kind=kind,
        disk=_disk(target, latest),
        buckets=buckets,
        state=rec.state,
        notes=tuple(
            n
            for n in (
                retained,
                problem,
                limits_note,
                held,
                *left,
                traffic_note,
                _clamp_note(target, latest),
                drift_note,
            )
            if n
        ),
        traffic_month=(await _traffic(resources, target.serviceid, refused=True))[1],
        decision=await _decision(resources, target.serviceid),
    )
    return Outcome({"fields": render_admin_tab(view)})
