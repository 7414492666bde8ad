"""The panel's contract on the Virtuozzo ostor gateway emulator (a stand-in), for the methods that apply there:
buckets and files act as the account's own key pair, keys are the gateway's two pairs per user (the one WHMCS
holds cannot be revoked from the panel), and the account methods answer in the same envelopes as on MinIO."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.ostor.test_ostor_lifecycle import Gateway, gateway, make  # noqa: F401 - the emulator and its services
from tests.support.panel_rig import shim_panel
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.php, pytest.mark.mariadb]
NOT_FOUND = {"code": -1, "message": "S3 account not found for this customer"}


def ok(daemon: Any, svc: Service, action: str, args: dict[str, Any]) -> dict[str, Any]:
    answer, _ = shim_panel(daemon, svc, action, args)
    assert answer.status == 200, answer.body
    assert answer.body["result"] == "OK"
    assert answer.body["action"] == action
    return answer.body


def uid(svc: Service) -> str:
    return f"{svc.clientid}-{svc.serviceid}"  # the storage username (WHMCS's username is the access key)


def test_buckets_and_files_on_ostor(daemon, make: Callable[..., Service], gateway: Gateway) -> None:  # noqa: F811
    svc = make({22: "5"})
    ok(daemon, svc, "create_bucket", {"s3uid": uid(svc), "bucket_name": "photos"})
    state = gateway.emulator.state
    owner = gateway.run(lambda: state.buckets[f"{uid(svc)}--photos"].owner_id)
    assert owner == gateway.run(
        lambda: state.user_by_email(f"{uid(svc)}@s3bridge.invalid").user_id
    )  # not the system user
    svc.s3().put_object(Bucket=f"{uid(svc)}--photos", Key="a/b.txt", Body=b"x")
    rmq = ok(daemon, svc, "get_buckets_rmq", {"s3uid": uid(svc)})
    assert f"{uid(svc)}--photos" in [b["name"] for b in rmq["message"]]
    assert rmq["access_key"] == svc.username
    files = ok(daemon, svc, "get_files", {"s3uid": uid(svc), "bucket_name": "photos"})
    assert [f["name"] for f in files["files"]] == ["a/"]
    ok(daemon, svc, "delete_file", {"s3uid": uid(svc), "bucket_name": "photos", "filename": "a/b.txt"})
    ok(daemon, svc, "delete_bucket", {"s3uid": uid(svc), "bucket_name": "photos"})
    gone, _ = shim_panel(daemon, svc, "get_files", {"s3uid": uid(svc), "bucket_name": "photos"})
    assert gone.status == 404


def test_the_second_key_pair_on_ostor(daemon, make: Callable[..., Service]) -> None:  # noqa: F811
    svc = make()
    listed = ok(daemon, svc, "list_keys", {"s3uid": uid(svc)})
    assert [(k["access_key"], k["primary"]) for k in listed["keys"]] == [(svc.username, True)]
    assert listed["max_keys"] == 2
    made = ok(daemon, svc, "create_key", {"s3uid": uid(svc), "name": "backup"})
    assert svc.s3(made["access_key"], made["secret_key"]).list_buckets()["Buckets"]  # the new pair works
    third, _ = shim_panel(daemon, svc, "create_key", {"s3uid": uid(svc)})
    assert third.status == 409
    assert "2 key pairs per user" in third.body["message"]
    limited, _ = shim_panel(daemon, svc, "create_key", {"s3uid": uid(svc), "read_only": "1"})
    assert limited.body["message"] == "ostor key pairs cannot expire or be limited to reading or to some buckets"
    main, _ = shim_panel(daemon, svc, "revoke_key", {"s3uid": uid(svc), "access_key": svc.username})
    assert main.status == 403  # the pair WHMCS holds
    ok(daemon, svc, "revoke_key", {"s3uid": uid(svc), "access_key": made["access_key"]})
    after = ok(daemon, svc, "list_keys", {"s3uid": uid(svc)})
    assert [k["access_key"] for k in after["keys"]] == [svc.username]


def test_account_methods_and_refusals_on_ostor(daemon, make: Callable[..., Service]) -> None:  # noqa: F811
    svc, other = make(), make()
    key = ok(daemon, svc, "show_key", {"s3uid": uid(svc), "s3_key": "secret_key"})
    assert key["secret_key"] == svc.password
    history = ok(daemon, svc, "history", {"id": svc.serviceid})
    assert "created" in [e["event"] for e in history["history"]]
    refused, _ = shim_panel(daemon, svc, "get_files", {"s3uid": uid(other), "bucket_name": "data"})
    assert refused.body == NOT_FOUND
    bad, _ = shim_panel(daemon, svc, "create_bucket", {"s3uid": uid(svc), "bucket_name": f"{uid(other)}--x"})
    assert bad.status == 403


def test_upload_forms_on_ostor_are_the_customers_own_capped_and_pinned(daemon, make, gateway) -> None:  # noqa: F811
    """Issue 18 item 1 on ostor: the form is signed with the account's own key pair (so the gateway applies the
    user's state and quota when it is used), never the system user's; it holds at most the room under the limit and
    sends the browser only to the service's WHMCS page."""
    svc = make({2: "1", 3: "MB"})
    page = f"https://whmcs.example.net/clientarea.php?action=productdetails&id={svc.serviceid}"
    args = {"s3uid": uid(svc), "bucket_name": "data"}
    form, _ = shim_panel(daemon, svc, "upload_form", args, bridge_return_url=page)
    assert form.status == 200, form.body
    credential = form.body["fields"]["x-amz-credential"]
    assert credential.startswith(f"{svc.username}/"), credential
    assert gateway.access_key not in str(form.body)
    assert form.body["max_bytes"] == 1024 * 1024
    assert form.body["fields"]["success_action_redirect"] == f"{page}&s3tab=files&bucket={uid(svc)}--data"
    evil, _ = shim_panel(daemon, svc, "upload_form", {**args, "redirect": "https://evil.example/"},
                         bridge_return_url=page)  # fmt: skip
    assert evil.status == 400
    assert "redirect may only be this service's WHMCS page" in evil.body["message"]
