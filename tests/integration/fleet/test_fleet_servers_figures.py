"""The Servers page's figures that only each daemon knows (issue 22): metering configured, the last audit event, the
ingest lag and the dropped entries per storage server; refused calls and overload answers in the last hour per
daemon. Two real daemons on one MariaDB (one runs the meter for a real MinIO's audit webhook, the other is small
enough to answer 'overloaded'); the page is the real addon through the real shim, rendered in Chromium."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.domain.audit_token import audit_token
from rig.sample_whmcs import insert_server
from rig.services import MariaDB, MinIO, free_port, scratch_dir, stop_process
from rig.shim import run_addon
from tests.conftest import CANARY_HMAC, Daemon, make_config, start_daemon
from tests.support.audit_entries import audit_body, streaming_put
from tests.support.browser import ADMIN_SHELL, PageServer, open_page
from tests.support.daemons import call
from tests.support.fake_daemon import slow_denying_storage
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb, pytest.mark.browser]
HOSTILE = '"><img src=x onerror="window.__pwned=1">{$smarty.now}'


@pytest.fixture(scope="module")
def own_minio() -> Iterator[MinIO]:
    server = MinIO(root=scratch_dir("minio-fleet-figures"), port=free_port(), console_port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pair(mariadb: MariaDB, whmcs_db: str) -> Iterator[tuple[Daemon, Daemon, dict[str, Any]]]:
    """`metered` runs the meter; `small` takes one call at a time and queues one more (then answers 503)."""
    cfg = make_config(mariadb, whmcs_db)
    cfg["meter"] = {"listen": f"127.0.0.1:{free_port()}"}
    metered = start_daemon(cfg)
    small_cfg = make_config(mariadb, whmcs_db)
    small_cfg["backend"] = {**small_cfg["backend"], "max_concurrency": 1, "max_queued": 1, "retry_after": 1}
    small = start_daemon(small_cfg)
    yield metered, small, cfg
    stop_process(small.proc)
    stop_process(metered.proc)


def servers_page(daemon: Daemon, **kw: Any) -> str:
    r = run_addon("s3bridge_fleet", url=daemon.url, secret=daemon.secret,
                  request={"get": {"module": "s3bridge_fleet", "page": "servers"}}, **kw)  # fmt: skip
    assert r.exception is None, r.exception
    return r.page or ""


def row_of(page: str, attr: str, value: str) -> str:
    row = re.search(rf'<tr [^>]*{attr}="{re.escape(value)}".*?</tr>', page, re.S)
    assert row is not None, page[:2000]
    return row.group(0)


def cell(row: str, cls: str) -> str:
    found = re.search(rf'<td [^>]*class="{cls}"[^>]*>.*?</td>', row, re.S)
    assert found is not None, row
    return found.group(0)


def daemon_id_of(mariadb: MariaDB, db: str, daemon: Daemon) -> str:
    """The daemon's id, once its first heartbeat is in."""

    def beat() -> str:
        conn = mariadb.connect(db)
        with conn.cursor() as cur:
            cur.execute("SELECT daemon_id FROM mod_s3bridge_daemons WHERE pid = %s AND stopped_at IS NULL"
                        " ORDER BY started_at DESC LIMIT 1", (daemon.proc.pid,))  # fmt: skip
            row = cur.fetchone()
        conn.close()
        return str(row["daemon_id"]) if row else ""

    return str(until(beat, 20))


def until(check: Any, within: float = 45) -> Any:
    """Heartbeats come every 15 s: poll what the page shows until `check` answers something."""
    deadline = time.monotonic() + within
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "not shown within the time of three heartbeats"
        time.sleep(1)


def test_each_daemons_refused_calls_and_overload_answers_in_the_last_hour_show_on_any_daemons_page(
    pair: tuple[Daemon, Daemon, dict[str, Any]], mariadb: MariaDB, whmcs_db: str
) -> None:
    metered, small, _ = pair
    small_id = daemon_id_of(mariadb, whmcs_db, small)
    params = {"serverhostname": "127.0.0.1", "serverusername": "u", "serverpassword": "p1"}
    with slow_denying_storage(3) as port:
        busy = [threading.Thread(target=call, args=(small, "TestConnection", {**params, "serverport": port}))
                for _ in range(2)]  # fmt: skip
        for t in busy:  # one running, one waiting: the next is answered 'overloaded'
            t.start()
        time.sleep(0.5)
        overloaded = [call(small, "TestConnection", {**params, "serverport": port}) for _ in range(2)]
        assert [a.status for a in overloaded] == [503, 503]
        for t in busy:
            t.join(30)
    refused = [call(Daemon(small.url, "not-the-secret-of-this-daemon", small.proc, small.log_path), "TestConnection",
                    {}) for _ in range(3)]  # fmt: skip
    assert {a.status for a in refused} == {401}
    # An hour and a half ago this daemon answered 'overloaded' 50 times: not in the last hour, so not shown.
    conn = mariadb.connect(whmcs_db)
    old = (datetime.now(UTC) - timedelta(minutes=90)).replace(second=0, microsecond=0, tzinfo=None)
    stale = old - timedelta(hours=2)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mod_s3bridge_fleet_minutes (daemon_id, minute, refused, overloaded) VALUES (%s, %s, %s, %s)",
            [(small_id, old, 7, 50), (small_id, stale, 1, 1)],
        )
    conn.close()

    def shown() -> tuple[str, str] | None:
        row = row_of(servers_page(metered), "data-daemon", small_id)  # another daemon's page
        counts = (cell(row, "s3b-refused-1h"), cell(row, "s3b-overloaded-1h"))
        return counts if 'data-n="0"' not in counts[0] and 'data-n="0"' not in counts[1] else None

    refused_cell, overloaded_cell = until(shown)
    assert 'data-n="3"' in refused_cell
    assert 'data-n="2"' in overloaded_cell
    page = servers_page(metered)
    total = re.search(r'id="s3b-overloaded">[^<]*<strong>([\d,]+)</strong>', page)
    assert total is not None
    assert int(total.group(1).replace(",", "")) >= 2  # every daemon's, this one's included
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:  # rows past two hours are pruned by the beats
        cur.execute("SELECT minute FROM mod_s3bridge_fleet_minutes WHERE daemon_id = %s", (small_id,))
        minutes = sorted(r["minute"] for r in cur.fetchall())
    conn.close()
    assert stale not in minutes
    assert old in minutes


def test_metering_the_last_audit_event_the_ingest_lag_and_dropped_entries_show_per_server(
    pair: tuple[Daemon, Daemon, dict[str, Any]], own_minio: MinIO, mariadb: MariaDB, whmcs_db: str, browser: Any,
    server: PageServer,
) -> None:  # fmt: skip
    metered, _, cfg = pair
    serverid = next_id()
    svc = Service(own_minio, metered.url, metered.secret, serverid=serverid, options={12: "on"}, firstname=HOSTILE,
                  accesshash=f"audit_queue_dir={scratch_dir('audit-queue-fleet')}")  # fmt: skip
    conn = mariadb.connect(whmcs_db)  # a server named by someone hostile: shown as text
    secret = "standin-enc:" + base64.b64encode(own_minio.secret_key.encode()).decode()
    insert_server(conn, serverid, HOSTILE, "127.0.0.1", own_minio.port, own_minio.access_key, secret,
                  accesshash=svc.accesshash)  # fmt: skip
    conn.close()
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount").returned == "success"
    row = row_of(servers_page(metered), "data-metering", str(serverid))
    assert 'data-at=""' in cell(row, "s3b-metering")  # not configured yet
    assert 'data-ms=""' in cell(row, "s3b-lag")

    assert svc.call("EnableMetering").returned == "success"
    before = datetime.now(UTC)
    svc.s3().put_object(Bucket=f"{svc.username}--data", Key="counted", Body=b"x" * 1000)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # streaming uploads declaring impossible lengths: dropped as failing a check
    lengths = ("9" * 5000, "1\u00b2\u00b3")
    bad = [streaming_put(svc.username, d, rid=f"F{next_id()}{n}", time=stamp) for n, d in enumerate(lengths)]
    post = urllib.request.Request(
        f"http://{cfg['meter']['listen']}/v1/audit/{serverid}", data=audit_body(bad), method="POST",
        headers={"Authorization": audit_token(CANARY_HMAC, serverid)},
    )  # fmt: skip
    with urllib.request.urlopen(post, timeout=10) as r:
        assert json.loads(r.read())["dropped"] == 2

    def shown() -> str | None:
        row = row_of(servers_page(metered), "data-metering", str(serverid))
        ready = 'data-at=""' not in cell(row, "s3b-last-event") and 'data-n="0"' not in cell(row, "s3b-dropped")
        return row if ready else None

    row = until(shown)
    configured = re.search(r'data-at="([^"]+)"', cell(row, "s3b-metering"))
    assert configured is not None
    assert abs(datetime.fromisoformat(configured.group(1)) - before) < timedelta(seconds=60)
    last = re.search(r'data-at="([^"]+)"', cell(row, "s3b-last-event"))
    assert last is not None
    assert before - timedelta(seconds=5) <= datetime.fromisoformat(last.group(1)) <= datetime.now(UTC)
    lag = re.search(r'data-ms="(\d+)"', cell(row, "s3b-lag"))
    assert lag is not None
    assert 0 <= int(lag.group(1)) < 60_000
    assert f"{int(lag.group(1)):,}&nbsp;ms" in cell(row, "s3b-lag")
    assert 'data-n="2"' in cell(row, "s3b-dropped")

    for language, width in (("english", 1280), ("english", 390), ("arabic", 1280)):
        html = servers_page(metered, session={"adminid": 1, "adminlang": language})
        path = f"/fleet-figures-{language}-{width}"
        server.pages[path] = ADMIN_SHELL.format(rows=f"<tr><td>{html}</td></tr>")
        with open_page(browser, server, path, width=width, height=900) as visit:
            p = visit.page
            p.wait_for_timeout(100)
            assert p.evaluate("() => window.__pwned") is None
            assert p.locator(".s3b-fleet img").count() == 0
            assert HOSTILE in p.inner_text(f'tr[data-metering="{serverid}"]')  # the hostile name shown as text
            overflow = p.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"servers at {width}px in {language} is {overflow}px wider than the screen"
            assert visit.console_errors == []
            assert visit.foreign_requests == []


def test_an_ostor_servers_metering_is_its_gateways_usage_statistics_not_a_missing_webhook(
    pair: tuple[Daemon, Daemon, dict[str, Any]], mariadb: MariaDB, whmcs_db: str
) -> None:
    metered, _, _ = pair
    ostor, minio_like = next_id(), next_id()
    conn = mariadb.connect(whmcs_db)
    insert_server(conn, ostor, "gateway", "127.0.0.1", 9, "system", "x", accesshash="backend=ostor\nsignature=v2")
    insert_server(conn, minio_like, "plain", "127.0.0.1", 9, "admin", "x")
    conn.close()
    page = servers_page(metered)
    assert "the gateway&#39;s usage statistics" in cell(row_of(page, "data-metering", str(ostor)), "s3b-metering")
    assert "not configured" in cell(row_of(page, "data-metering", str(minio_like)), "s3b-metering")
