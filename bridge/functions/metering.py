"""The WHMCS module functions of traffic metering: Enable Traffic Metering (the admin button that points MinIO's
audit webhook at this daemon) and MetricUsage (WHMCS's usage metrics). The meter itself (ingest, limit decisions)
runs as its own service: bridge.functions.meter."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.backends.capabilities import AuditWebhook
from bridge.domain.audit_token import audit_token
from bridge.domain.metric_months import metric_months
from bridge.domain.params import Params, ServerParams, optional_int
from bridge.errors import BridgeError, MissingParam, Unsupported
from bridge.functions.context import Outcome, Resources
from bridge.functions.ownership import AdminOnly
from bridge.whmcs.meter_store import TenantMonth

TARGET = "s3bridge"  # the name of the audit_webhook target on MinIO


# -- the admin button ---------------------------------------------------------------------------------------------
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
    await resources.stores.fleet.record_metering(server.server_id, settings["endpoint"], resources.now())
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
    store = resources.stores.meter
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
