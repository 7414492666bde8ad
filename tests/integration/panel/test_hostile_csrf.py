"""Hostile customers (issue 18, item 4): CSRF is decided by the area a request came from, not by who is in the
session. WHMCS keeps the admin and the client in one PHP session ("Login as Client"), so a client page may see an
`adminid`: a tokenless link there must change nothing, and the daemon must not be told an admin did what a client
page did. Run through the real shim in the stand-in client area (PHP's built-in server), on real MinIO and MariaDB.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.request

import pytest
from botocore.exceptions import ClientError

from rig.panel_sites import Site
from tests.support.panel_rig import PanelStack
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
ADMIN = 7


def login_as_client(site: Site, svc: Service) -> urllib.request.OpenerDirector:
    """Admin ADMIN's "Login as Client" into svc's owner: one session holding both ids, as WHMCS keeps it."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    browser.open(f"{site.url}/login?uid={svc.clientid}&adminid={ADMIN}", timeout=60).read()
    return browser


def password_works(svc: Service, password: str) -> bool:
    """MinIO takes the pair (a refusal by policy still means the signature was good)."""
    try:
        svc.s3(svc.username, password).list_objects_v2(Bucket=f"{svc.username}--none")
    except ClientError as e:
        return e.response["Error"]["Code"] not in ("InvalidAccessKeyId", "SignatureDoesNotMatch")
    return True


def events(stack: PanelStack, svc: Service) -> list[tuple[str, str]]:
    rows = stack.sql("SELECT event, actor FROM mod_s3bridge_events WHERE serviceid = %s ORDER BY id", (svc.serviceid,))
    return [(r["event"], r["actor"]) for r in rows]


def test_a_tokenless_link_changes_nothing_while_an_admin_is_logged_in_as_the_client(
    stack: PanelStack, site: Site
) -> None:
    svc = stack.service()
    browser = login_as_client(site, svc)
    link = site.service_page(svc.serviceid, modop="custom", a="ResetPassword")
    page = browser.open(link, timeout=60).read().decode()
    assert "did not carry the form&#039;s security token. Nothing was changed." in page
    assert password_works(svc, svc.password)
    assert ("new password (access keys unchanged)", f"admin {ADMIN} as client {svc.clientid}") not in events(stack, svc)
    assert [e for e, _ in events(stack, svc)] == ["created"]


def test_the_form_with_its_token_works_and_the_daemon_is_told_the_client_did_it(stack: PanelStack, site: Site) -> None:
    svc = stack.service()
    browser = login_as_client(site, svc)
    overview = browser.open(site.service_page(svc.serviceid), timeout=60).read().decode()
    token = re.search(r'name="token" value="([0-9a-f]+)"', overview)
    assert token is not None, overview[:2000]
    link = site.service_page(svc.serviceid, modop="custom", a="ResetPassword")
    page = browser.open(link, data=f"token={token.group(1)}".encode(), timeout=60).read().decode()
    assert "Action Completed Successfully" in page
    assert not password_works(svc, svc.password)
    assert events(stack, svc)[-1] == ("new password (access keys unchanged)", f"client {svc.clientid}")


def test_a_client_page_never_sends_the_admin_in_the_session(stack: PanelStack) -> None:
    """The shim itself, on every PHP WHMCS supports in the suite's matrix: a client page's call names the client
    only, and a state change there needs the posted token whoever else is in the session."""
    svc = stack.service()
    r = svc.call("ResetPassword", session={"uid": svc.clientid, "adminid": ADMIN}, shim={"context": "client"})
    assert "security token" in str(r.returned)
    sent = r.module_log[-1]["request"]
    assert sent["bridge_client_id"] == svc.clientid
    assert "bridge_admin_id" not in sent
    assert password_works(svc, svc.password)
    # The admin area, same session: the admin acts, and the daemon is told so.
    r = svc.call("ResetPassword", session={"uid": svc.clientid, "adminid": ADMIN}, shim={"context": "admin"})
    assert r.returned == "success"
    sent = r.module_log[-1]["request"]
    assert sent["bridge_admin_id"] == ADMIN
    assert "bridge_client_id" not in sent
    assert events(stack, svc)[-1] == ("new password (access keys unchanged)", f"admin {ADMIN}")
