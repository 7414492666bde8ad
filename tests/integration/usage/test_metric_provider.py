"""WHMCS usage billing: the module's MetricProvider, run the way WHMCS's "Tenant Usage Metrics" cron runs it in the
stand-in (rig/whmcs_standin/UsageBilling.php), gives disk space, traffic and requests in WHMCS's shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rig.services import MariaDB, MinIO
from rig.shim import run_shim
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
GIB = 1024**3


@pytest.fixture
def metered_service(daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str) -> Service:
    """A live service with 2 GiB stored, and traffic this month (and last month, which must not count)."""
    svc = Service(minio, daemon.url, daemon.secret, serverid=next_id(), options={12: "on"})
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount").returned == "success"
    today = datetime.now(UTC).date()
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        # WHMCS stored the username the CreateAccount effect gave it (the stand-in records localAPI, applies nothing)
        cur.execute("UPDATE tblhosting SET username = %s WHERE id = %s", (svc.username, svc.serviceid))
        cur.execute(
            "UPDATE mod_s3bridge_services SET used_bytes = %s, figure_at = UTC_TIMESTAMP(), figure_source = 'scan'"
            " WHERE serviceid = %s",
            (2 * GIB, svc.serviceid),
        )
        rows = [
            (today.replace(day=1), GIB + GIB // 2, 3 * GIB, 6, 3, 1),
            (today.replace(day=1) - timedelta(days=1), 50 * GIB, 50 * GIB, 999, 999, 999),
        ]
        cur.executemany(
            "INSERT INTO mod_s3bridge_traffic_daily (serviceid, day, bytes_in, bytes_out, req_read, req_write,"
            " req_list) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            [(svc.serviceid, *r) for r in rows],
        )
    conn.commit()
    conn.close()
    return svc


def cron_collects(svc: Service, php: str | None = None) -> dict[str, Any]:
    params = {**svc.server_params(), "serverport": svc.minio.port}
    r = run_shim("MetricProvider", params, url=svc.url, secret=svc.secret, context="cron", tenant=svc.username,
                 php=php)  # fmt: skip
    assert r.exception is None, r.exception
    assert r.php_errors == [], r.php_errors
    assert isinstance(r.returned, dict)
    return r.returned


def test_metric_provider_reports_disk_traffic_and_requests_in_whmcs_shapes(metered_service: Service) -> None:
    got = cron_collects(metered_service)
    assert got["provider"] == "WHMCS\\Module\\Server\\S3bridge\\MetricsProvider"
    metrics = got["metrics"]
    assert list(metrics) == ["disk_space", "traffic_out", "traffic_in", "requests"]
    assert [metrics[k]["type"] for k in metrics] == ["snapshot", "month", "month", "month"]
    assert metrics["traffic_out"]["unit"]["class"] == "WHMCS\\UsageBilling\\Metrics\\Units\\GigaBytes"
    assert metrics["traffic_out"]["unit"]["suffix"] == "GB"
    assert metrics["requests"]["unit"]["type"] == "int"

    mine = got["stats"][metered_service.username]  # tenant = the service's username
    month = datetime.now(UTC).strftime("%Y-%m")
    assert mine["disk_space"] == {"value": 2.0, "type": "snapshot", "period": "", "shown": "2.00 GB"}
    assert mine["traffic_out"] == {"value": 3.0, "type": "month", "period": month, "shown": "3.00 GB"}
    assert mine["traffic_in"]["value"] == 1.5  # last month's 50 GB are not this month's
    assert mine["requests"] == {"value": 10.0, "type": "month", "period": month, "shown": "10"}
    one = {m["system"]: m["value"] for m in got["tenant"]}  # the admin's Refresh for one service
    assert one == {"disk_space": 2.0, "traffic_out": 3.0, "traffic_in": 1.5, "requests": 10.0}


def test_an_unknown_tenant_has_no_metrics(metered_service: Service) -> None:
    params = {**metered_service.server_params(), "serverport": metered_service.minio.port}
    r = run_shim("MetricProvider", params, url=metered_service.url, secret=metered_service.secret, context="cron",
                 tenant="nobody-here")  # fmt: skip
    assert r.exception is None, r.exception
    assert r.returned["tenant"] == []


def test_services_are_matched_to_tenants_by_username(daemon, minio: MinIO) -> None:
    """WHMCS finds a service's tenant by MetaData ListAccountsUniqueIdentifierField (default: the domain, which
    storage services leave empty)."""
    s = Service(minio, daemon.url, daemon.secret)
    assert s.call("MetaData").returned["ListAccountsUniqueIdentifierField"] == "username"


def test_the_metric_provider_runs_on_php_7_4(metered_service: Service) -> None:
    """WHMCS 8.0-8.5 run on PHP 7.2-7.4 only: the provider class must load and work there."""
    got = cron_collects(metered_service, php="7.4")
    assert got["stats"][metered_service.username]["traffic_out"]["value"] == 3.0
