"""The fleet console (WHMCS addon s3bridge_fleet) through the real addon and shim in the stand-in, with WHMCS's addon
access control, against the real daemon, MariaDB and MinIO; its pages rendered in Chromium on a desktop, a phone and
in Arabic, hostile client names inert."""

from __future__ import annotations

import html
import io
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.paths import REPO
from rig.services import MariaDB, MinIO
from rig.shim import ShimResult, run_addon
from rig.signed_http import send, signed_request
from tests.support.browser import ADMIN_SHELL, PageServer, open_page, screenshot
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb, pytest.mark.browser]
ROOT = REPO
HOSTILE = '"><img src=x onerror="window.__pwned=1">{$smarty.now}'


@pytest.fixture(scope="module")
def fleet(daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str) -> dict[str, Any]:
    """Two services of a client with a hostile name on a server of their own; one suspended in WHMCS only, then
    reconciled: a state mismatch on the Drift page."""
    serverid = next_id()
    services = []
    for _ in range(2):
        s = Service(minio, daemon.url, daemon.secret, serverid=serverid, firstname=HOSTILE)
        s.register(mariadb, whmcs_db)
        assert s.call("CreateAccount").returned == "success"
        services.append(s)
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("UPDATE tblhosting SET domainstatus = 'Suspended' WHERE id = %s", (services[1].serviceid,))
        cur.execute("UPDATE mod_s3bridge_services SET used_bytes = 5368709120 WHERE serviceid = %s",
                    (services[0].serviceid,))  # fmt: skip
    conn.close()
    answer = send(signed_request(daemon.url, daemon.secret, "Reconcile", services[0].server_params()))
    assert answer.status == 200, answer.body
    return {"serverid": serverid, "services": services}


def page(daemon: Any, name: str, **kw: Any) -> ShimResult:
    request = {"get": {"module": "s3bridge_fleet", "page": name, **kw.pop("get", {})}, **kw.pop("request_extra", {})}
    r = run_addon("s3bridge_fleet", url=daemon.url, secret=daemon.secret, request=request, **kw)
    assert r.exception is None, r.exception
    return r


def test_only_the_roles_the_addon_allows_see_it(daemon, fleet) -> None:
    assert "standin-access-denied" in (page(daemon, "servers", admin_role=2, access=[1]).page or "")
    assert "standin-access-denied" in (page(daemon, "servers", session={}, access=[1]).page or "")
    allowed = page(daemon, "servers", admin_role=2, access=[1, 2]).page or ""
    assert 'class="s3b-fleet"' in allowed


def test_a_call_without_an_administrator_is_refused_by_the_daemon(daemon) -> None:
    answer = send(signed_request(daemon.url, daemon.secret, "FleetPage", {"bridge_page": "drift"}))
    assert (answer.status, answer.body["error"]["code"]) == (403, "admin_only")


def test_servers_accounts_and_drift_show_the_fleet(daemon, fleet) -> None:
    healthy, suspended = fleet["services"]
    refused = send(signed_request(daemon.url, "a-wrong-secret-of-some-length", "TestConnection", {}))
    assert refused.status == 401
    servers = page(daemon, "servers").page or ""
    assert f"server {fleet['serverid']}" in servers
    assert 'data-state="alive"' in servers  # this daemon's heartbeat
    row = re.search(rf'<tr data-serverid="{fleet["serverid"]}">.*?</tr>', servers, re.S)
    assert row is not None
    assert 'data-reachable="yes"' in row.group(0)  # the daemon knows the server from the calls, and reaches it
    assert re.search(r"\d+&nbsp;ms", row.group(0))
    count = re.search(r'id="s3b-refused">[^<]*<strong>([\d,]+)</strong>', servers)
    assert count is not None
    assert int(count.group(1).replace(",", "")) >= 1
    accounts = page(daemon, "accounts", get={"q": healthy.username}).page or ""
    found = accounts.split('id="s3b-found"')[1].split("</table>")[0]
    assert f"#{healthy.serviceid} {healthy.username}" in found
    assert f"clientsservices.php?userid={healthy.clientid}&amp;id={healthy.serviceid}" in found
    assert f"#{suspended.serviceid}" in accounts.split('id="s3b-suspended"')[1].split("</table>")[0]
    assert "5.0\u00a0GB" in accounts.split('id="s3b-top"')[1]
    assert "<svg" in accounts
    drift = page(daemon, "drift").page or ""
    row = re.search(r'<tr data-kind="state_mismatch">.*?</tr>', drift, re.S)
    assert row is not None
    assert suspended.username in row.group(0)
    assert f"--server {fleet['serverid']} --fix safe" in row.group(0)


def _server_cell(daemon: Any, serverid: int, cls: str) -> str:
    servers = page(daemon, "servers").page or ""
    row = re.search(rf'<tr data-serverid="{serverid}">.*?</tr>', servers, re.S)
    assert row is not None
    cell = re.search(rf'<td [^>]*class="{cls}".*?</td>', row.group(0), re.S)
    assert cell is not None, row.group(0)
    return cell.group(0)


def test_the_servers_page_shows_the_last_usage_update_and_the_scanners_time(
    daemon, fleet, minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    serverid, service = fleet["serverid"], fleet["services"][0]
    wrong = {**service.server_params(), "serverpassword": "not-the-minio-secret-key"}
    failed = send(signed_request(daemon.url, daemon.secret, "UsageUpdate", wrong))
    assert failed.status != 200
    cell = _server_cell(daemon, serverid, "s3b-usage-run")
    code = failed.body["error"]["code"]
    assert f'data-result="{code}"' in cell
    assert "label-danger" in cell
    admin = MinioAdmin(endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key),
                       secure=False)  # fmt: skip

    def last_scan() -> str:  # MinIO's DataUsageInfo lastUpdate, whole seconds ("0001-..." before the first scan)
        return str(json.loads(admin.get_data_usage_info()).get("lastUpdate") or "")[:19]

    s3 = Minio(minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False)
    if not s3.bucket_exists("fleet-scan"):  # MinIO's scanner records a cycle once there is data to scan
        s3.make_bucket("fleet-scan")
        s3.put_object("fleet-scan", "o", io.BytesIO(b"x" * 100), 100)
    deadline = time.monotonic() + 120
    while last_scan().startswith("0001-") and time.monotonic() < deadline:  # wait for MinIO's first scan
        time.sleep(0.5)
    before = last_scan()
    assert not before.startswith("0001-"), "MinIO did not scan within 120 s"
    ok = send(signed_request(daemon.url, daemon.secret, "UsageUpdate", service.server_params()))
    after = last_scan()
    assert ok.status == 200, ok.body
    cell = _server_cell(daemon, serverid, "s3b-usage-run")
    assert 'data-result="ok"' in cell
    assert "succeeded" in cell
    ms = re.search(r'data-ms="(\d+)"', cell)
    assert ms is not None
    assert re.search(rf"{int(ms.group(1)):,}&nbsp;ms", cell)
    run = mariadb.one(
        whmcs_db,
        "SELECT finished_at, duration_ms FROM mod_s3bridge_usage_runs WHERE serverid = %s AND kind = 'daily'",
        (serverid,),
    )
    figure_at = mariadb.one(
        whmcs_db,
        "SELECT MAX(figure_at) AS at FROM mod_s3bridge_services WHERE serverid = %s AND figure_source = 'scan'",
        (serverid,),
    )["at"]
    assert int(ms.group(1)) == run["duration_ms"]
    assert abs((datetime.now(UTC).replace(tzinfo=None) - run["finished_at"]).total_seconds()) < 60
    # The scanner's time is MinIO's own DataUsageInfo lastUpdate, as the usage cycle read it (between the two reads).
    scanner = _server_cell(daemon, serverid, "s3b-scanner")
    assert figure_at is not None
    assert f'data-at="{figure_at.replace(tzinfo=UTC).isoformat()}"' in scanner
    assert before <= figure_at.isoformat()[:19] <= after


def _table_row(html_page: str, table: str, serviceid: int) -> str:
    body = html_page.split(f'id="{table}"')[1].split("</table>")[0]
    row = re.search(rf'<tr data-serviceid="{serviceid}">.*?</tr>', body, re.S)
    assert row is not None, f"#{serviceid} not in {table}"
    return row.group(0)


def test_the_accounts_page_ranks_this_months_traffic_and_30_day_growth(daemon, fleet, mariadb, whmcs_db) -> None:
    big, small = fleet["services"]
    gib = 1024**3
    today = datetime.now(UTC).date()
    first = today.replace(day=1)
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        rows = [
            (big.serviceid, first, 300 * gib, 100 * gib),  # 400 GiB this month
            (big.serviceid, first - timedelta(days=1), 900 * gib, 0),  # last month: not counted
            (small.serviceid, first, 50 * gib, 50 * gib),  # 100 GiB this month
        ]
        for sid, day, b_in, b_out in rows:
            cur.execute(
                "REPLACE INTO mod_s3bridge_traffic_daily (serviceid, day, bytes_in, bytes_out) VALUES (%s, %s, %s, %s)",
                (sid, day, b_in, b_out),
            )
        for sid, now_bytes in ((big.serviceid, 5 * gib), (small.serviceid, 0)):  # storage now (a run may have set it)
            cur.execute("UPDATE mod_s3bridge_services SET used_bytes = %s WHERE serviceid = %s", (now_bytes, sid))
        for sid, days_ago, used in (
            (big.serviceid, 40, 0),  # outside the 30 days: not the starting point
            (big.serviceid, 29, 2 * gib),  # the oldest inside: 5 GiB now -> +3 GiB
            (big.serviceid, 3, 4 * gib),
            (small.serviceid, 10, gib),  # 0 now -> shrank by 1 GiB
        ):
            cur.execute(
                "REPLACE INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
                " VALUES (%s, %s, %s, 1, 1)",
                (sid, today - timedelta(days=days_ago), used),
            )
    conn.close()
    accounts = page(daemon, "accounts").page or ""
    traffic = accounts.split('id="s3b-traffic"')[1].split("</table>")[0]
    assert traffic.index(f"#{big.serviceid} ") < traffic.index(f"#{small.serviceid} ")  # biggest first
    assert f'data-bytes="{400 * gib}"' in _table_row(accounts, "s3b-traffic", big.serviceid)
    assert "400.0\u00a0GB" in _table_row(accounts, "s3b-traffic", big.serviceid)
    assert f'data-bytes="{100 * gib}"' in _table_row(accounts, "s3b-traffic", small.serviceid)
    assert 'id="s3b-fleet-traffic-title"' in accounts  # its SVG chart
    grown = _table_row(accounts, "s3b-growth", big.serviceid)
    assert f'data-bytes="{3 * gib}"' in grown
    assert "+3.0\u00a0GB" in grown
    assert f"#{small.serviceid} " not in accounts.split('id="s3b-growth"')[1].split("</table>")[0]
    shrank = _table_row(accounts, "s3b-shrink", small.serviceid)  # its own list: not pushed off by ten growers
    assert f'data-bytes="{-gib}"' in shrank
    assert "\u22121.0\u00a0GB" in shrank
    german = page(daemon, "accounts", session={"adminid": 1, "adminlang": "german"}).page or ""
    assert "Datenverkehr in diesem Monat" in german


def test_the_addon_defines_no_function_the_server_module_has_whatever_the_case() -> None:
    def functions(path: Path) -> set[str]:
        return {m.lower() for m in re.findall(r"^\s*function\s+(\w+)\s*\(", path.read_text(), re.M)}

    server = functions(ROOT / "hooks_php_shim/modules/servers/s3bridge/s3bridge.php")
    addon_dir = ROOT / "hooks_php_shim/modules/addons/s3bridge_fleet"
    addon = set().union(*(functions(p) for p in addon_dir.rglob("*.php")))
    assert addon == {"s3bridge_fleet_config", "s3bridge_fleet_output"}
    assert not (server & addon)


@pytest.mark.parametrize(
    ("language", "width", "height", "name"),
    [("english", 1280, 900, "desktop"), ("english", 390, 844, "phone"), ("arabic", 1280, 900, "arabic")],
)
def test_each_page_renders_in_chromium_inert_and_without_overflow(
    daemon, fleet, browser, server: PageServer, language: str, width: int, height: int, name: str
) -> None:
    for which in ("servers", "accounts", "drift"):
        html = page(daemon, which, session={"adminid": 1, "adminlang": language}).page or ""
        if language == "arabic":
            assert 'dir="rtl"' in html
            assert 'lang="ar"' in html
        path = f"/fleet-{which}-{name}"
        server.pages[path] = ADMIN_SHELL.format(rows=f"<tr><td>{html}</td></tr>")
        with open_page(browser, server, path, width=width, height=height) as visit:
            p = visit.page
            p.wait_for_timeout(100)
            assert p.evaluate("() => window.__pwned") is None
            assert p.locator(".s3b-fleet img").count() == 0
            if which == "accounts":
                assert HOSTILE in p.inner_text(".s3b-fleet")  # the hostile name shown as text
            overflow = p.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 1, f"{which} on {name} is {overflow}px wider than the screen"
            assert visit.console_errors == []
            assert visit.foreign_requests == []
            screenshot(visit, f"fleet-{which}-{name}")


def test_a_drift_row_is_repaired_from_the_console_only_with_the_admin_token(daemon, fleet, minio: MinIO) -> None:
    _, suspended = fleet["services"]
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
    form = {"s3action": "repair", "serverid": str(fleet["serverid"]), "kind": "state_mismatch",
            "subject": suspended.username}  # fmt: skip
    session = {"adminid": 1, "token": "admin-session-token"}
    forged = run_addon("s3bridge_fleet", url=daemon.url, secret=daemon.secret, session=dict(session),
                       request={"method": "POST", "get": {"module": "s3bridge_fleet", "page": "drift"},
                                "post": {**form, "token": "not-the-token"}})  # fmt: skip
    assert "Invalid CSRF Protection Token" in str(forged.exception)
    assert json.loads(admin.user_info(suspended.username))["status"] == "enabled"  # nothing was done
    drift = page(daemon, "drift", session=dict(session))
    assert 'name="token" value="admin-session-token"' in (drift.page or "")  # the forms carry WHMCS's token
    done = page(daemon, "drift", session=dict(session),
                request_extra={"method": "POST", "post": {**form, "token": "admin-session-token"}})  # fmt: skip
    notice = re.search(r'id="s3b-notice">([^<]*)<', done.page or "")
    assert notice is not None
    assert "repaired: account disabled as WHMCS says" in notice.group(1)
    assert json.loads(admin.user_info(suspended.username))["status"] == "disabled"
    assert f'data-kind="state_mismatch"><td data-label="Servers">{fleet["serverid"]}' not in (done.page or "")


def test_an_orphans_data_is_deleted_from_the_console_only_with_its_typed_name_after_the_grace(
    daemon, fleet, minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
    orphan = f"left-{next_id()}"
    admin.user_add(orphan, "a-long-enough-secret-9")
    admin.policy_add(f"s3bridge-{orphan}", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{orphan}--*"]}]})  # fmt: skip
    admin.policy_set(f"s3bridge-{orphan}", user=orphan)
    session = {"adminid": 1, "token": "admin-session-token"}
    form = {"s3action": "repair", "serverid": str(fleet["serverid"]), "kind": "orphan_user", "subject": orphan,
            "token": "admin-session-token"}  # fmt: skip

    def repair(confirm: str) -> str:
        r = page(daemon, "drift", session=dict(session),
                 request_extra={"method": "POST", "post": {**form, "confirm": confirm}})  # fmt: skip
        notice = re.search(r'id="s3b-notice">([^<]*)<', r.page or "")
        assert notice is not None, (r.page or "")[:500]
        return html.unescape(notice.group(1))

    assert "is not the account's name" in repair("left-0")
    assert "grace period" in repair(orphan)
    assert orphan in json.loads(admin.user_list())
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("UPDATE mod_s3bridge_drift SET first_seen = first_seen - INTERVAL 73 HOUR WHERE subject = %s",
                    (orphan,))  # fmt: skip
    conn.close()
    assert "repaired: deleted" in repair(orphan)
    assert orphan not in json.loads(admin.user_list())
    healthy, _ = fleet["services"]
    assert json.loads(admin.user_info(healthy.username))["status"] == "enabled"  # nobody else touched
