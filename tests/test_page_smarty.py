"""The client's overview tab as WHMCS builds it, in Chromium: the real shim's ClientArea answer, its template
variables entity-decoded as WHMCS does, the module's real `.tpl` rendered by real Smarty (Debian's smarty4), inside
WHMCS's own overview. Values a client or an admin can set hold markup and Smarty tags; the checks are on the DOM the
browser built (no element made from a value, no script run, no Smarty evaluated), not on the HTML text."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bridge.views.model import Bucket
from bridge.views.render import render_client_area
from rig.services import MariaDB, MinIO
from rig.shim import ShimResult, run_shim
from tests.pages import CHROMIUM_ARGS, CLIENT_SHELL, PageServer, open_page, screenshot
from tests.view_samples import make_view
from tests.whmcs import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb, pytest.mark.browser]

MARKUP = '"><img src=x onerror="window.__pwned=1">'
SMARTY = "{php}window.__pwned=2;{/php}{$smarty.now}"
HOSTILE = MARKUP + SMARTY
PASSWORD = MARKUP[:21] + "{$smarty.now}"  # 34 characters: a password MinIO accepts (8-40)
OVERVIEW = {"status": "Active", "billingcycle": "Monthly", "nextduedate": "2026-12-01"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    s = PageServer()
    yield s
    s.close()


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


class _Daemon(BaseHTTPRequestHandler):
    html = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = json.dumps({"ok": True, "result": {"html": type(self).html}, "effects": [], "secrets": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def shim_page_for(html: str) -> ShimResult:
    """The real shim's ClientArea for a daemon answering with `html` (the daemon's own renderer, fed hostile values
    where MinIO would refuse them, e.g. in bucket names), rendered as WHMCS would."""
    handler = type("Answer", (_Daemon,), {"html": html})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        params = {"serviceid": 4242, "clientsdetails": {"firstname": HOSTILE}, "customfields": {"Project": HOSTILE}}
        return run_shim("ClientArea", params, url=f"http://127.0.0.1:{httpd.server_address[1]}", secret="s" * 32,
                        session={"uid": 7}, render=True, service={"id": 4242, **OVERVIEW})  # fmt: skip
    finally:
        httpd.shutdown()


def test_hostile_bucket_names_username_and_notice_stay_inert_through_decoding_and_smarty(browser, server) -> None:
    view = make_view(username=HOSTILE, password=HOSTILE, notice=HOSTILE, console_url=HOSTILE, instructions_url=HOSTILE)
    view = replace(view, buckets=(Bucket(HOSTILE, None, 1, 1024), *view.buckets))
    r = shim_page_for(render_client_area(view))
    assert r.exception is None, r.exception
    assert r.page
    check_inert(browser, server, r.page, "client-area-hostile-view", [HOSTILE])
