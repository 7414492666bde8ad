"""The client area and the admin tab, rendered for real services through the real shim, in headless Chromium.

Checks what a person would: the figures match the storage server, the buttons are there, nothing is loaded from
another host, no console errors, no horizontal scroll at phone width, Arabic is laid out right to left. Screenshots
land in test-artifacts/ (desktop, phone, Arabic, admin tab).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from bridge.views.emails import DiskFigures
from rig.services import MariaDB, MinIO
from tests.support.browser import ADMIN_SHELL, CLIENT_SHELL, open_page, screenshot
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb, pytest.mark.browser]
MB = 1024 * 1024


@pytest.fixture(scope="module")
def customer(daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str) -> Service:
    """A real service with data in two buckets, a day of real usage collected, and 40 days of history."""
    svc = Service(minio, daemon.url, daemon.secret, serverid=next_id(), options={2: "1", 3: "GB", 12: "on",
                  11: "https://docs.example.com/s3", 18: "https://console.example.com"})  # fmt: skip
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount").returned == "success"
    s3 = svc.s3()
    s3.create_bucket(Bucket=f"{svc.username}--backups-with-a-rather-long-name")
    for i in range(3):
        s3.put_object(Bucket=f"{svc.username}--data", Key=f"file{i}", Body=b"d" * (2 * MB))
    s3.put_object(Bucket=f"{svc.username}--backups-with-a-rather-long-name", Key="db.sql", Body=b"b" * MB)
    assert svc.call("RecalculateDiskSpace").returned == "success"  # exact figures now, and today's history row
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        for age in range(1, 41):
            cur.execute(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
                " VALUES (%s, %s, %s, 1, 2)",
                (svc.serviceid, date.today() - timedelta(days=age), age * MB),
            )
    conn.close()
    return svc


def client_fragment(svc: Service, **session: Any) -> str:
    r = svc.call("ClientArea", session=session or {"uid": svc.clientid})
    assert r.exception is None, r.exception
    assert r.returned["tabOverviewModuleOutputTemplate"] == "templates/overview.tpl", r.returned
    html = r.returned["templateVariables"]["s3bridge_html"]["text"]
    assert html
    return str(html)


def test_client_area_shows_the_storage_servers_figures_and_the_actions(customer, server, browser) -> None:
    server.pages["/client"] = CLIENT_SHELL.format(fragment=client_fragment(customer))
    used = 7 * MB
    figures = DiskFigures(used, 1024**3, "GB")
    with open_page(browser, server, "/client", width=1280, height=900) as visit:
        text = visit.page.inner_text("body")
        assert customer.username in text
        assert f"{customer.username}--data" in text
        assert f"{customer.username}--backups-with-a-rather-long-name" in text
        assert figures.in_unit(used) in text  # used, in the product's unit
        assert figures.pct_used in text
        for label in ("Change Password", "Recalculate Disk Space", "Upgrade", "Cancel"):
            assert visit.page.get_by_text(label, exact=False).count() >= 1, label
        assert visit.page.locator("svg").count() >= 2  # the daily and monthly charts, drawn on the server
        assert visit.page.locator("a[href='https://docs.example.com/s3']").count() == 1
        assert visit.console_errors == []
        assert visit.foreign_requests == []
        screenshot(visit, "client-area-desktop")


def test_client_area_fits_a_phone_without_horizontal_scroll(customer, server, browser) -> None:
    server.pages["/client-phone"] = CLIENT_SHELL.format(fragment=client_fragment(customer))
    with open_page(browser, server, "/client-phone", width=375, height=740) as visit:
        overflow = visit.page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px of horizontal scroll"
        assert visit.console_errors == []
        assert visit.foreign_requests == []
        screenshot(visit, "client-area-phone")


def test_client_area_in_arabic_is_right_to_left(customer, server, browser) -> None:
    customer.language = "arabic"
    try:
        server.pages["/client-ar"] = CLIENT_SHELL.format(fragment=client_fragment(customer))
    finally:
        customer.language = "english"
    with open_page(browser, server, "/client-ar", width=1280, height=900) as visit:
        direction = visit.page.evaluate(
            "getComputedStyle(document.querySelector('[dir=rtl]') || document.body).direction"
        )
        assert direction == "rtl"
        assert "Change Password" not in visit.page.inner_text("body")  # translated
        assert visit.console_errors == []
        screenshot(visit, "client-area-arabic")


def test_another_client_cannot_see_the_service_and_is_audited(customer, mariadb, whmcs_db) -> None:
    r = customer.call("ClientArea", session={"uid": customer.clientid + 1})
    assert "does not belong to the logged-in client" in r.returned["templateVariables"]["s3bridge_html"]["text"]
    intruder = {"uid": customer.clientid + 1, "token": "intruders-own-valid-token"}  # a real form of their own
    posted = {"context": "client_button", "request": {"method": "POST", "post": {"token": intruder["token"]}}}
    for button in ("ResetPassword", "RecalculateDiskSpace"):
        refused = customer.call(button, session=intruder, shim=posted)
        assert "does not belong to the logged-in client" in refused.returned
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT action FROM mod_s3bridge_audit WHERE serviceid = %s AND outcome = 'refused'", (customer.serviceid,)
        )
        actions = sorted(r["action"] for r in cur.fetchall())
    # WHMCS builds the service page after each custom function, so each refused button brings a refused ClientArea too
    assert actions == ["client:ClientArea"] * 3 + ["client:RecalculateDiskSpace", "client:ResetPassword"]


def test_admin_tab_shows_connection_user_policy_disk_and_buckets(customer, server, browser) -> None:
    r = customer.call("AdminServicesTabFields", session={"adminid": 1})
    fields = r.returned
    assert isinstance(fields, dict)
    assert fields
    rows = "".join(
        f"<tr><td class='fieldlabel'>{label}</td><td class='fieldarea'>{html}</td></tr>"
        for label, html in fields.items()
    )
    server.pages["/admin"] = ADMIN_SHELL.format(rows=rows)
    with open_page(browser, server, "/admin", width=1280, height=900) as visit:
        text = visit.page.inner_text("body")
        assert customer.username in text
        assert "enabled" in text.lower()
        assert f"s3bridge-{customer.username}" in text
        assert f"{customer.username}--data" in text
        assert visit.console_errors == []
        assert visit.foreign_requests == []
        screenshot(visit, "admin-tab")
