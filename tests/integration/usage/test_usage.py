"""Usage on real MinIO and MariaDB through the real shim: figures in tblhosting, limits enforced, emails once."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rig.services import MariaDB, MinIO
from rig.shim import ShimResult, run_hook, run_shim
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
MB = 1024 * 1024


@pytest.fixture
def make(daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str) -> Callable[..., Service]:
    serverid = next_id()  # a server of its own: UsageUpdate of this test sees only this test's services

    def build(options: dict[int, str] | None = None, status: str = "Active", **kw: Any) -> Service:
        s = Service(minio, daemon.url, daemon.secret, serverid=serverid, options={12: "on", **(options or {})}, **kw)
        s.register(mariadb, whmcs_db, status)
        assert s.call("CreateAccount").returned == "success"
        return s

    return build


def hosting(mariadb: MariaDB, db: str, serviceid: int) -> dict[str, Any]:
    return mariadb.one(db, "SELECT diskusage, disklimit, lastupdate FROM tblhosting WHERE id = %s", (serviceid,))


def usage_update(svc: Service, until: Callable[[ShimResult], bool] = lambda r: True, timeout: float = 60) -> ShimResult:
    """WHMCS's daily UsageUpdate for the service's server; repeated while MinIO's scanner catches up."""
    deadline = time.monotonic() + timeout
    while True:
        r = run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret)
        assert r.returned == "success", r.returned
        if until(r) or time.monotonic() > deadline:
            return r
        time.sleep(0.5)


def emails(r: ShimResult) -> list[dict[str, Any]]:
    return [c["values"] for c in r.local_api if c["command"] == "SendEmail"]


def put(svc: Service, key: str, size: int, bucket: str | None = None) -> None:
    svc.s3().put_object(Bucket=bucket or f"{svc.username}--data", Key=key, Body=b"x" * size)


def test_usage_update_writes_disk_usage_in_mb_for_the_servers_services(make, mariadb, whmcs_db) -> None:
    svc = make({2: "10", 3: "GB"})
    svc.s3().create_bucket(Bucket=f"{svc.username}--second")
    put(svc, "a", 3 * MB)
    put(svc, "b", MB + 1, bucket=f"{svc.username}--second")
    other = make()  # an empty neighbour on the same server
    usage_update(svc, until=lambda r: hosting(mariadb, whmcs_db, svc.serviceid)["diskusage"] == 5)
    row = hosting(mariadb, whmcs_db, svc.serviceid)
    assert row["diskusage"] == 5  # 4 MiB + 1 byte, rounded up to whole MB
    assert row["disklimit"] == 10 * 1024
    assert isinstance(row["lastupdate"], datetime)
    assert abs((row["lastupdate"] - datetime.now()).total_seconds()) < 120
    assert hosting(mariadb, whmcs_db, other.serviceid)["diskusage"] == 0
    assert hosting(mariadb, whmcs_db, other.serviceid)["disklimit"] == 0  # unlimited
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT used_bytes, buckets FROM mod_s3bridge_usage_daily WHERE serviceid = %s AND day = %s",
            (svc.serviceid, date.today()),
        )
        assert cur.fetchone() == {"used_bytes": 4 * MB + 1, "buckets": 2}
        cur.execute(
            "SELECT bucket_figures FROM mod_s3bridge_usage_daily WHERE serviceid = %s AND day = %s",
            (svc.serviceid, date.today()),
        )
        assert json.loads(cur.fetchone()["bucket_figures"]) == {
            f"{svc.username}--data": [3 * MB, 1],
            f"{svc.username}--second": [MB + 1, 1],
        }


def test_over_the_limit_writes_are_refused_one_email_is_sent_and_freeing_space_restores(make) -> None:
    svc = make({2: "1", 3: "MB"})
    put(svc, "keep", 100)
    put(svc, "big", MB)
    first = usage_update(svc, until=lambda r: bool(r.local_api))
    sent = emails(first)
    assert len(sent) == 1
    assert sent[0]["customtype"] == "product"
    assert sent[0]["id"] == svc.serviceid
    assert "Uploads paused" in sent[0]["customsubject"]
    s3, bucket = svc.s3(), f"{svc.username}--data"
    with pytest.raises(ClientError):
        s3.put_object(Bucket=bucket, Key="more", Body=b"y")
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"x" * 100
    assert emails(usage_update(svc)) == []  # no repeat on the next run
    s3.delete_object(Bucket=bucket, Key="big")
    back = usage_update(svc, until=lambda r: bool(r.returned) and _policy_changes(svc))
    assert emails(back) == []
    s3.put_object(Bucket=bucket, Key="more", Body=b"y")


def _policy_changes(svc: Service) -> bool:
    try:
        svc.s3().put_object(Bucket=f"{svc.username}--data", Key="probe", Body=b"p")
    except ClientError:
        return False
    svc.s3().delete_object(Bucket=f"{svc.username}--data", Key="probe")
    return True


def test_warning_email_once_per_crossing(make, mariadb, whmcs_db) -> None:
    svc = make({2: "10", 3: "MB", 4: "50"})
    put(svc, "six", 6 * MB)
    r = usage_update(svc, until=lambda r: bool(r.local_api))
    assert len(emails(r)) == 1
    assert "Disk space usage 60.00 %" in emails(r)[0]["customsubject"]
    assert emails(usage_update(svc)) == []  # not twice
    svc.s3().delete_object(Bucket=f"{svc.username}--data", Key="six")
    usage_update(svc, until=lambda r: hosting(mariadb, whmcs_db, svc.serviceid)["diskusage"] == 0)  # below again
    put(svc, "seven", 7 * MB)
    again = usage_update(svc, until=lambda r: bool(r.local_api))
    assert len(emails(again)) == 1  # a new crossing sends again


def test_the_clients_language_picks_the_email(make) -> None:
    svc = make({2: "1", 3: "MB"}, language="german", firstname="<b>Jürgen</b> {$client_password}")
    put(svc, "big", 2 * MB)
    r = usage_update(svc, until=lambda r: bool(r.local_api))
    mail = emails(r)[0]
    assert mail["customsubject"].startswith("Uploads pausiert")
    assert "Speicherlimit" in mail["custommessage"]
    assert "Jürgen" not in mail["custommessage"]  # the name travels in customvars, never in the body WHMCS decodes
    delivered = next(c for c in r.local_api if c["command"] == "SendEmail")
    assert "Dear" not in delivered["delivered_body"]
    assert "&lt;b&gt;Jürgen&lt;/b&gt; {$client_password}" in delivered["delivered_body"]  # as WHMCS mails it
    assert "<b>" not in delivered["delivered_body"]
    assert "1 GB = 1024 MB" in delivered["delivered_body"]


def test_a_named_whmcs_template_is_sent_with_merge_fields(make) -> None:
    svc = make({2: "1", 3: "MB", 6: "My Suspension Notice"})
    put(svc, "big", 2 * MB)
    mail = emails(usage_update(svc, until=lambda r: bool(r.local_api)))[0]
    assert mail["messagename"] == "My Suspension Notice"
    assert mail["id"] == svc.serviceid
    php = subprocess.run(
        ["php", "-r", "echo json_encode(unserialize(base64_decode($argv[1])));", mail["customvars"]],
        capture_output=True,
        text=True,
        check=True,
    )
    fields = __import__("json").loads(php.stdout)
    assert fields["username"] == svc.username
    assert fields["unit"] == "MB"
    assert fields["disk_used_percentage"] == "200.00"
    assert fields["disk_limit_bytes"] == MB


def test_retention_deletes_history_older_than_the_products_setting(make, mariadb, whmcs_db) -> None:
    svc = make({10: "30"})
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        for age in (31, 30, 5):
            cur.execute(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
                " VALUES (%s, %s, 1, 1, 1)",
                (svc.serviceid, date.today() - timedelta(days=age)),
            )
    usage_update(svc)
    with conn.cursor() as cur:
        cur.execute("SELECT day FROM mod_s3bridge_usage_daily WHERE serviceid = %s ORDER BY day", (svc.serviceid,))
        days = [r["day"] for r in cur.fetchall()]
    assert days == [date.today() - timedelta(days=30), date.today() - timedelta(days=5), date.today()]


def test_terminated_cancelled_and_fraud_services_are_untouched(make, mariadb, whmcs_db) -> None:
    live = make({2: "1", 3: "MB"})
    dead = [make({2: "1", 3: "MB"}, status=s) for s in ("Terminated", "Cancelled", "Fraud")]
    for s in [live, *dead]:
        put(s, "big", 2 * MB)
    before = {s.serviceid: hosting(mariadb, whmcs_db, s.serviceid) for s in dead}
    usage_update(live, until=lambda r: hosting(mariadb, whmcs_db, live.serviceid)["diskusage"] == 2)
    for s in dead:
        assert hosting(mariadb, whmcs_db, s.serviceid) == before[s.serviceid]
        s.s3().put_object(Bucket=f"{s.username}--data", Key="still-writable", Body=b"w")  # no limit applied


def test_after_cron_job_hook_applies_the_limit_without_the_daily_job(make, mariadb, whmcs_db, minio) -> None:
    """Every enabled s3bridge server is checked; one with broken credentials is logged and does not stop the rest."""
    svc = make({2: "1", 3: "MB"})
    conn = mariadb.connect(whmcs_db)
    from rig.sample_whmcs import insert_server

    broken = next_id()
    insert_server(
        conn,
        broken,
        "broken",
        "127.0.0.1",
        minio.port,
        minio.access_key,
        password="standin-enc:" + base64.b64encode(b"not-the-secret-key").decode(),
    )
    lonely = Service(minio, svc.url, svc.secret, serverid=broken)  # a service on it, so the hook has work there
    lonely.register(mariadb, whmcs_db)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state)"
            " VALUES (%s, %s, %s, 'minio', %s, 'active')",
            (lonely.serviceid, lonely.clientid, broken, f"{lonely.clientid}-{lonely.serviceid}"),
        )

    with conn.cursor() as cur:  # the server's record, with the secret key as WHMCS keeps it (encrypted)
        cur.execute("DELETE FROM tblservers WHERE id = %s", (svc.serverid,))
    insert_server(
        conn,
        svc.serverid,
        "cron-test",
        "127.0.0.1",
        minio.port,
        minio.access_key,
        password="standin-enc:" + base64.b64encode(minio.secret_key.encode()).decode(),
    )
    put(svc, "big", 2 * MB)
    env = {
        "STANDIN_DB_DSN": f"mysql:host=127.0.0.1;port={mariadb.port};dbname={whmcs_db}",
        "STANDIN_DB_USER": "root",
        "STANDIN_DB_PASSWORD": mariadb.root_password,
    }

    def mine(r: ShimResult) -> list[dict[str, Any]]:  # the cron checks every server; other tests' have services
        return [e for e in emails(r) if int(e["id"]) == svc.serviceid]

    deadline = time.monotonic() + 60
    while True:
        r = run_hook("AfterCronJob", url=svc.url, secret=svc.secret, extra_env=env)
        assert r.exception is None, r.exception
        assert [e["action"] for e in r.module_log]
        assert all(e["action"] == "enforcelimits" for e in r.module_log)
        if mine(r) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert len(mine(r)) == 1
    assert any("rejected the access key or secret key" in str(e["masked"]["response"]) for e in r.module_log)
    with pytest.raises(ClientError):
        svc.s3().put_object(Bucket=f"{svc.username}--data", Key="more", Body=b"y")
    for entry in r.module_log:  # the decrypted server secret is masked in the module log
        assert minio.secret_key not in str(entry["masked"])


def test_recalculate_disk_space_counts_exactly_now_and_applies_the_policy(make, mariadb, whmcs_db) -> None:
    svc = make({2: "1", 3: "MB"})
    put(svc, "big", MB + 5)
    r = svc.call("RecalculateDiskSpace")  # no waiting for the scanner: the listing is exact
    assert r.returned == "success"
    assert "exact (listed now)" in r.module_log[-1]["masked"]["response"]
    assert hosting(mariadb, whmcs_db, svc.serviceid)["diskusage"] == 2
    assert len(emails(r)) == 1
    with pytest.raises(ClientError):
        svc.s3().put_object(Bucket=f"{svc.username}--data", Key="more", Body=b"y")


@pytest.fixture(scope="module")
def impatient_daemon(daemon_config: dict[str, Any]):
    """A daemon whose exact listings may take only 10 ms (the client area must never hang on a huge account)."""
    from rig.services import free_port, stop_process
    from tests.conftest import start_daemon

    cfg = {
        **daemon_config,
        "daemon": {**daemon_config["daemon"], "listen": f"127.0.0.1:{free_port()}"},
        "backend": {**daemon_config["backend"], "listing_budget": 0.01},
    }
    d = start_daemon(cfg)
    yield d
    stop_process(d.proc)


def test_recalculate_on_a_huge_account_stops_at_its_time_budget_and_says_so(
    impatient_daemon,
    minio,
    mariadb,
    whmcs_db,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    svc = Service(minio, impatient_daemon.url, impatient_daemon.secret, serverid=next_id(), options={12: "on"})
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount").returned == "success"
    s3 = svc.s3()
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(lambda i: s3.put_object(Bucket=f"{svc.username}--data", Key=f"o/{i:05d}", Body=b"z"), range(2500))
        )
    started = time.monotonic()
    r = svc.call("RecalculateDiskSpace")
    assert r.returned == "success"
    assert time.monotonic() - started < 10
    response = r.module_log[-1]["masked"]["response"]
    assert "estimated: listing stopped after the 0.01 s budget" in response
    assert "[exact] =>" in response
