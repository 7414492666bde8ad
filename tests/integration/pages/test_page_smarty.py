"""The client's overview tab as WHMCS builds it, in Chromium: the real shim's ClientArea answer, its template
variables entity-decoded as WHMCS does, the module's real `.tpl` rendered by real Smarty (Debian's smarty4), inside
WHMCS's own overview. Values a client or an admin can set hold markup and Smarty tags; the checks are on the DOM the
browser built (no element made from a value, no script run, no Smarty evaluated), not on the HTML text."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from bridge.views.model import Bucket
from bridge.views.render import render_client_area
from rig.services import MariaDB, MinIO
from rig.shim import ShimResult, run_shim
from tests.support.browser import CLIENT_SHELL, PageServer, open_page, screenshot
from tests.support.fake_daemon import answering
from tests.support.view_samples import make_view
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb, pytest.mark.browser]

MARKUP = '"><img src=x onerror="window.__pwned=1">'
SMARTY = "{php}window.__pwned=2;{/php}{$smarty.now}"
HOSTILE = MARKUP + SMARTY
PASSWORD = MARKUP[:21] + "{$smarty.now}"  # 34 characters: a password MinIO accepts (8-40)
OVERVIEW = {"status": "Active", "billingcycle": "Monthly", "nextduedate": "2026-12-01"}


def db_env(mariadb: MariaDB, database: str) -> dict[str, str]:
    return {
        "STANDIN_DB_DSN": f"mysql:host=127.0.0.1;port={mariadb.port};dbname={database}",
        "STANDIN_DB_USER": "root",
        "STANDIN_DB_PASSWORD": mariadb.root_password,
    }


def check_inert(browser: Any, server: PageServer, page_html: str, name: str, expected_text: list[str]) -> None:
    server.pages[f"/{name}"] = CLIENT_SHELL.format(fragment=page_html)
    with open_page(browser, server, f"/{name}", width=1280, height=900) as visit:
        p = visit.page
        p.wait_for_timeout(200)
        assert p.evaluate("() => window.__pwned") is None  # no handler or script of a value ran
        assert p.locator("#tabOverview img").count() == 0  # no element was made of a value
        assert p.evaluate("() => document.querySelectorAll('[onerror]').length") == 0
        assert p.locator("#whmcs-status").inner_text() == "Active"  # WHMCS's own overview is still there
        text = p.inner_text("#whmcs-module-output")
        for shown in expected_text:
            assert shown in text, (shown, text[:500])
        assert "{$smarty.now}" in text  # the Smarty tag is text, not the time
        assert visit.console_errors == []
        assert visit.foreign_requests == []
        screenshot(visit, name)


def test_a_real_services_page_with_hostile_password_name_and_custom_field_stays_inert(
    daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str, browser, server
) -> None:
    svc = Service(minio, daemon.url, daemon.secret, serverid=next_id(), firstname=HOSTILE,
                  options={12: "on", 14: "plain", 13: "data"})  # fmt: skip
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount").returned == "success"
    assert svc.call("ChangePassword", password=PASSWORD).returned == "success"
    svc.password = PASSWORD
    shim = {"render": True, "db_env": db_env(mariadb, whmcs_db), "service": {"id": svc.serviceid, **OVERVIEW}}
    r = svc.call("ClientArea", session={"uid": svc.clientid}, shim=shim,
                 customfields={"Project": HOSTILE}, domain=HOSTILE)  # fmt: skip
    assert r.exception is None, r.exception
    assert r.page
    check_inert(browser, server, r.page, "client-area-hostile-values", [PASSWORD, svc.username])


def shim_page_for(html: str, smarty: str) -> ShimResult:
    """The real shim's ClientArea for a daemon answering with `html` (the daemon's own renderer, fed hostile values
    where MinIO would refuse them, e.g. in bucket names), rendered as WHMCS would with Debian's `smarty`."""
    params = {"serviceid": 4242, "clientsdetails": {"firstname": HOSTILE}, "customfields": {"Project": HOSTILE}}
    env = {"STANDIN_SMARTY": f"/usr/share/php/{smarty}"}
    with answering({"ok": True, "result": {"html": html}, "effects": [], "secrets": []}) as url:
        return run_shim("ClientArea", params, url=url, secret="s" * 32, session={"uid": 7}, render=True,
                        service={"id": 4242, **OVERVIEW}, extra_env=env)  # fmt: skip


@pytest.mark.parametrize("smarty", ["smarty3", "smarty4"])  # both major versions a WHMCS may run
def test_hostile_bucket_names_username_and_notice_stay_inert_through_decoding_and_smarty(
    smarty: str, browser, server
) -> None:
    view = make_view(username=HOSTILE, password=HOSTILE, notice=HOSTILE, console_url=HOSTILE, instructions_url=HOSTILE)
    view = replace(view, buckets=(Bucket(HOSTILE, None, 1, 1024), *view.buckets))
    r = shim_page_for(render_client_area(view), smarty)
    assert r.exception is None, r.exception
    assert r.page
    check_inert(browser, server, r.page, f"client-area-hostile-view-{smarty}", [HOSTILE])
