"""Upload forms and download links against a hostile customer, on real MinIO (issue 18, item 1): they carry no admin
key, MinIO itself applies the limited policy and suspension when they are used (not only when they are issued), a
form takes at most the room left under the disk limit, and the endpoint sends the browser only to the service's
WHMCS page."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import pytest
import urllib3

from rig.services import MinIO
from tests.support.panel_rig import PanelStack
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]

MIB = 1024 * 1024
STORED = (201, 204, 303)  # what S3 answers a POST it stored (by the form's success_action_* fields)
RETURN = "https://whmcs.example.net/clientarea.php?action=productdetails&id="
http = urllib3.PoolManager()


def account(stack: PanelStack) -> tuple[Service, str]:
    """A service with a 1 MiB disk limit and a bucket."""
    svc = stack.service({2: "1", 3: "MB"})
    bucket = f"{svc.username}--up"
    svc.s3().create_bucket(Bucket=bucket)
    return svc, bucket


def form_for(stack: PanelStack, svc: Service, bucket: str) -> dict[str, Any]:
    """The client area's upload form (the shim names the service's WHMCS page)."""
    answer, _ = stack.shim(svc, "upload_form", {"s3uid": svc.username, "bucket_name": bucket},
                           bridge_return_url=f"{RETURN}{svc.serviceid}")  # fmt: skip
    assert answer.ok, answer.body
    return answer.body


def post(form: dict[str, Any], size: int, *, fields: str = "fields", **override: str) -> urllib3.BaseHTTPResponse:
    """Use the form as a browser would (its fields, `override`n as a hostile one would, then the file)."""
    data: dict[str, Any] = {**form[fields], **override, "file": ("f.bin", b"x" * size)}
    return http.request("POST", form["url"], fields=data, redirect=False, timeout=30)


def test_forms_and_links_carry_no_admin_key_and_the_signing_key_is_not_the_customers_to_list(
    stack: PanelStack, minio: MinIO
) -> None:
    svc, bucket = account(stack)
    svc.s3().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    token = stack.client_token(svc)
    made = [
        form_for(stack, svc, bucket),
        stack.api(token, "upload_form", {"s3uid": svc.username, "bucket_name": bucket}).body,
        stack.api(token, "download_url", {"s3uid": svc.username, "bucket_name": bucket, "filename": "a.txt"}).body,
    ]
    for answer in made:
        assert answer.get("result") == "OK", answer
        text = json.dumps(answer)
        assert minio.access_key not in text, text
        assert "s3bp" in text, text  # the account's presigning key
    keys = stack.api(token, "list_keys", {"s3uid": svc.username}).body
    assert "s3bp" not in json.dumps(keys), keys


def test_a_form_holds_at_most_the_room_left_under_the_limit(stack: PanelStack) -> None:
    svc, bucket = account(stack)
    form = form_for(stack, svc, bucket)
    assert form["max_bytes"] == MIB
    assert post(form, MIB + 1).status == 400  # EntityTooLarge, from MinIO
    assert post(form, 600 * 1024).status == 303
    assert svc.call("RecalculateDiskSpace").returned == "success"
    smaller = form_for(stack, svc, bucket)
    assert smaller["max_bytes"] == MIB - 600 * 1024
    assert post(smaller, 500 * 1024).status == 400


def test_minio_refuses_a_form_and_a_link_once_the_account_is_limited_or_suspended(stack: PanelStack) -> None:
    svc, bucket = account(stack)
    svc.s3().put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    form = form_for(stack, svc, bucket)
    link = stack.shim(svc, "download_url", {"s3uid": svc.username, "bucket_name": bucket, "filename": "a.txt"})
    url = link[0].body["url"]
    assert post(form, 10).status in STORED
    assert svc.call("SetLimitedPolicy").returned == "success"
    assert post(form, 10).status == 403  # the form was issued before: MinIO applies the policy now
    assert http.request("GET", url).status == 200  # the limited policy still reads
    assert svc.call("SetStandardPolicy").returned == "success"
    assert post(form, 10).status in STORED
    assert svc.call("SuspendAccount").returned == "success"
    assert post(form, 10).status == 403
    assert http.request("GET", url).status == 403
    assert svc.call("UnsuspendAccount").returned == "success"
    assert post(form, 10).status in STORED


def test_the_endpoint_sends_the_browser_only_to_the_services_whmcs_page(stack: PanelStack) -> None:
    svc, bucket = account(stack)
    form = form_for(stack, svc, bucket)
    page = f"{RETURN}{svc.serviceid}&s3tab=files&bucket={bucket}"
    assert form["fields"]["success_action_redirect"] == page
    done = post(form, 10)
    assert done.status == 303
    where = urllib.parse.urlsplit(done.headers["Location"])  # MinIO adds bucket, key and etag to the query
    assert (where.scheme, where.netloc, where.path) == ("https", "whmcs.example.net", "/clientarea.php")
    assert urllib.parse.parse_qs(where.query)["id"] == [str(svc.serviceid)]
    evil = post(form, 10, success_action_redirect="https://evil.example/phish")
    assert evil.status == 403, evil.headers  # the policy pins the redirect
    assert "evil.example" not in evil.headers.get("Location", "")
    scripted = post(form, 10, fields="script_fields")  # the page's script: 201, no redirect
    assert scripted.status == 201
    token = stack.client_token(svc)
    asked = stack.api(token, "upload_form", {"s3uid": svc.username, "bucket_name": bucket,
                                             "redirect": "https://evil.example/phish"})  # fmt: skip
    assert asked.status == 400, asked
    assert "redirect may only be this service's WHMCS page" in asked.body["message"]
