"""The client area's storage tabs used in headless Chromium as a customer would, through the real shim in the
stand-in WHMCS client area: create a bucket, upload 5 MiB with the progress bar, find it, download it, delete it;
create an access key, use it with boto3, revoke it and see it refused. Screenshots go to test-artifacts/."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from rig.panel_sites import Site
from rig.services import MinIO, scratch_dir
from tests.support.browser import ARTIFACTS
from tests.support.panel_rig import PanelStack
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb, pytest.mark.browser]
MIB = 1024 * 1024


class Customer:
    """A logged-in customer's browser tab; fails the test on console errors or requests to foreign hosts."""

    def __init__(self, browser: Any, site: Site, minio: MinIO, svc: Service, *, width: int = 1280,
                 height: int = 900, javascript: bool = True) -> None:  # fmt: skip
        self.context = browser.new_context(viewport={"width": width, "height": height},
                                           java_script_enabled=javascript, accept_downloads=True)  # fmt: skip
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.foreign: list[str] = []
        allowed = (site.url + "/", f"http://127.0.0.1:{minio.port}/")
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def guard(route: Any) -> None:
            if route.request.url.startswith(allowed):
                route.continue_()
            else:
                self.foreign.append(route.request.url)
                route.abort()

        self.page.route("**/*", guard)
        self.svc, self.site = svc, site
        self.page.goto(site.login(svc.clientid))

    def tab(self, name: str) -> None:
        self.page.click(f"[data-s3b-tablink={name}]")
        self.page.wait_for_load_state()

    def submit_and_back(self, button: Any) -> str:
        button.click()
        self.page.wait_for_selector(".s3b-result")
        outcome = str(self.page.inner_text(".s3b-result .alert"))
        self.page.click("[data-s3b-back]")
        self.page.wait_for_load_state()
        return outcome

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        assert self.errors == [], self.errors
        assert self.foreign == [], self.foreign
        self.context.close()


def test_buckets_and_files_as_a_customer(stack: PanelStack, site: Site, browser: Any,
                                         minio: MinIO) -> None:  # fmt: skip
    svc = stack.service({22: "5"})
    me = Customer(browser, site, minio, svc)
    page = me.page
    me.tab("buckets")
    assert page.inner_text(".input-group-text") == f"{svc.username}--"  # the prefix the panel adds is shown
    page.fill("#s3b-new-bucket", "photos")
    assert me.submit_and_back(page.locator("form:has(#s3b-new-bucket) button")).startswith("Done")
    bucket = f"{svc.username}--photos"
    assert bucket in page.inner_text(".s3b-table")
    me.shot("panel-buckets-desktop")

    page.click(f"a:has-text('{bucket}')")
    page.wait_for_selector("[data-s3b-upload]")
    data = os.urandom(5 * MIB)
    upload = scratch_dir("upload") / "big-report.bin"
    upload.write_bytes(data)
    page.evaluate("""() => {
        window.s3bProgress = [];
        const bar = document.querySelector('[data-s3b-progress]');
        new MutationObserver(() => window.s3bProgress.push(bar.value)).observe(bar, {attributes: true});
    }""")
    cdp = me.context.new_cdp_session(page)  # a slow uplink, so the bar has something to show
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": 2 * MIB})  # fmt: skip
    page.set_input_files("#s3b-file", str(upload))
    with page.expect_navigation(timeout=60_000):
        page.click("[data-s3b-upload] button[type=submit]")
        page.wait_for_function("document.querySelector('[data-s3b-status]').textContent === 'Uploaded.'",
                               timeout=60_000)  # fmt: skip
        progress = page.evaluate("window.s3bProgress")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})  # fmt: skip
    assert any(0 < v < 100 for v in progress), progress  # the bar moved through the upload
    assert progress[-1] == 100
    page.wait_for_selector("text=big-report.bin")
    stored = svc.s3(minio.access_key, minio.secret_key).get_object(Bucket=bucket, Key="big-report.bin")
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == hashlib.sha256(data).hexdigest()

    page.fill("#s3b-q", "big")  # prefix search, done by S3
    page.click("form[role=search] button")
    page.wait_for_load_state()
    assert [r.strip() for r in page.locator(".s3b-files tbody th").all_inner_texts()] == ["big-report.bin"]
    page.fill("#s3b-q", "REPORT")
    page.select_option("#s3b-mode", "contains")
    page.click("form[role=search] button")
    page.wait_for_load_state()
    assert [r.strip() for r in page.locator(".s3b-files tbody th").all_inner_texts()] == ["big-report.bin"]
    me.shot("panel-files-desktop")

    with page.expect_download() as dl:
        page.click("a[aria-label='Download big-report.bin']")
    got = Path(dl.value.path()).read_bytes()
    assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest()
    assert dl.value.suggested_filename == "big-report.bin"

    page.check("input[aria-label='Select big-report.bin']")
    assert me.submit_and_back(page.locator("button:has-text('Delete selected')")).startswith("Done")
    me.tab("files")
    assert "big-report.bin" not in page.inner_text(".s3b-files")
    me.close()


def test_access_keys_as_a_customer(stack: PanelStack, site: Site, browser: Any, minio: MinIO) -> None:
    svc = stack.service()
    svc.s3().create_bucket(Bucket=f"{svc.username}--data")
    me = Customer(browser, site, minio, svc)
    page = me.page
    me.tab("keys")
    assert "Changing the service password does not change them" in page.inner_text(".s3b-keys-note")
    page.fill("#s3b-key-name", "laptop")
    page.click("form:has(#s3b-key-name) button[type=submit]")
    page.wait_for_selector(".s3b-new-key")
    access = page.inner_text("[data-s3b-access-key]").strip()
    secret = page.inner_text("[data-s3b-secret-key]").strip()
    me.shot("panel-key-created")
    s3 = svc.s3(access, secret)
    s3.put_object(Bucket=f"{svc.username}--data", Key="from-the-new-key", Body=b"hello")
    assert s3.get_object(Bucket=f"{svc.username}--data", Key="from-the-new-key")["Body"].read() == b"hello"
    page.click("[data-s3b-back]")
    page.wait_for_load_state()
    assert access in page.inner_text(".s3b-keys")
    assert secret not in page.content()  # shown once, never again
    assert me.submit_and_back(page.locator(f"button[aria-label='Revoke {access}']")).startswith("Done")
    assert access not in page.inner_text(".s3b-keys")
    with pytest.raises(Exception, match=r"InvalidAccessKeyId|AccessDenied|SignatureDoesNotMatch"):
        s3.get_object(Bucket=f"{svc.username}--data", Key="from-the-new-key")
    me.close()


def test_a_forged_form_without_the_token_changes_nothing(stack: PanelStack, site: Site, browser: Any,
                                                        minio: MinIO) -> None:  # fmt: skip
    svc = stack.service()
    me = Customer(browser, site, minio, svc)
    me.tab("buckets")
    me.page.evaluate("document.querySelector('form:has(#s3b-new-bucket) input[name=token]').value = 'forged'")
    me.page.fill("#s3b-new-bucket", "forged")
    me.page.click("form:has(#s3b-new-bucket) button")
    me.page.wait_for_load_state()
    assert me.page.locator("#whmcs-login").count() == 1  # WHMCS ended the session and sent the client to login
    root = svc.s3(minio.access_key, minio.secret_key)
    assert f"{svc.username}--forged" not in [b["Name"] for b in root.list_buckets()["Buckets"]]
    me.page.goto(site.service_page(svc.serviceid))
    assert "Access denied" in me.page.content()  # logged out: the service page is no longer theirs to see
    me.errors.clear()  # the 403 answer is logged by Chromium
    me.close()


def test_listing_works_without_javascript_on_a_phone(stack: PanelStack, site: Site, browser: Any,
                                                     minio: MinIO) -> None:  # fmt: skip
    svc = stack.service()
    bucket = f"{svc.username}--docs"
    svc.s3().create_bucket(Bucket=bucket)
    for i in range(60):
        svc.s3().put_object(Bucket=bucket, Key=f"invoice-{i:03d}.pdf", Body=b"%PDF")
    me = Customer(browser, site, minio, svc, width=390, height=844, javascript=False)
    page = me.page
    page.goto(site.service_page(svc.serviceid, s3tab="files", bucket=bucket))
    assert len(page.locator(".s3b-files tbody tr").all()) == 50
    page.click(".s3b-next")
    page.wait_for_load_state()
    assert [t.strip() for t in page.locator(".s3b-files tbody th").all_inner_texts()][-1] == "invoice-059.pdf"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    me.shot("panel-files-phone")
    me.close()


def test_arabic_is_right_to_left(stack: PanelStack, site: Site, browser: Any, minio: MinIO) -> None:
    svc = stack.service()
    stack.sql("UPDATE tblclients SET language = 'arabic' WHERE id = %s", (svc.clientid,))
    svc.s3().create_bucket(Bucket=f"{svc.username}--data")
    me = Customer(browser, site, minio, svc)
    me.tab("buckets")
    assert me.page.get_attribute(".s3b-panel", "dir") == "rtl"
    assert me.page.get_attribute(".s3b-panel", "lang") == "ar"
    tab_names = me.page.locator(".s3b-tabs .nav-link").all_inner_texts()
    assert tab_names[1] != "Buckets"  # translated
    me.shot("panel-buckets-arabic")
    me.close()


def test_the_overview_and_the_panel_page_are_rendered_by_smartybc_under_whmcs_security_policy(
    stack: PanelStack, site: Site, browser: Any, minio: MinIO
) -> None:
    """WHMCS 8 renders module templates with SmartyBC 3.1 under its system security policy: templates/overview.tpl
    on the service page and templates/panel.tpl after an action go through it (stand-in: rig/whmcs_standin/smarty.php)
    and the customer still gets the daemon's page, intact."""
    svc = stack.service()
    me = Customer(browser, site, minio, svc)
    part = me.page.locator(".whmcs-module-template")
    assert part.get_attribute("data-template") == "templates/overview.tpl"
    assert (part.get_attribute("data-engine") or "").startswith("SmartyBC 3.1.")
    assert (part.get_attribute("data-engine") or "").endswith("Smarty_Security")
    me.tab("buckets")
    me.page.fill("#s3b-new-bucket", "viasmarty")
    me.page.click("form:has(#s3b-new-bucket) button")
    me.page.wait_for_selector(".s3b-result")
    part = me.page.locator(".whmcs-module-template")
    assert part.get_attribute("data-template") == "templates/panel.tpl"
    assert (part.get_attribute("data-engine") or "").startswith("SmartyBC 3.1.")
    assert me.page.inner_text(".s3b-result .alert").startswith("Done")
    me.close()
