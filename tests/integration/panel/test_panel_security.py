"""Security of the panel: through either way in, a client never lists, reads, deletes or makes keys for another
client's service; state changes from the client area need WHMCS's CSRF token; tokens are stored hashed and
revocable; hostile input gets a sentence and reaches nothing of anyone else."""

from __future__ import annotations

import hashlib

import pytest

from tests.support.panel_rig import NOT_FOUND, PanelStack
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture(scope="module")
def alice(stack: PanelStack) -> Service:
    return stack.service({22: "20"})


@pytest.fixture(scope="module")
def bob(stack: PanelStack) -> Service:
    svc = stack.service({22: "20"})
    bucket = f"{svc.username}--private"
    svc.s3().create_bucket(Bucket=bucket)
    svc.s3().put_object(Bucket=bucket, Key="secret.txt", Body=b"bob's")
    return svc


@pytest.fixture(scope="module")
def alice_token(stack: PanelStack, alice: Service) -> str:
    return stack.client_token(alice)


def bob_intact(bob: Service) -> None:
    assert bob.s3().get_object(Bucket=f"{bob.username}--private", Key="secret.txt")["Body"].read() == b"bob's"


@pytest.mark.parametrize(
    ("action", "extra"),
    [
        ("get_buckets_rmq", {}),
        ("get_files", {"bucket_name": "private"}),
        ("delete_file", {"bucket_name": "private", "filename": "secret.txt"}),
        ("download_url", {"bucket_name": "private", "filename": "secret.txt"}),
        ("upload_form", {"bucket_name": "private"}),
        ("delete_bucket", {"bucket_name": "private"}),
        ("create_bucket", {"bucket_name": "mine"}),
        ("list_keys", {}),
        ("create_key", {"name": "stolen"}),
        ("delete_payment_account", {}),
        ("delete_account", {}),
        ("history", {}),
    ],
)
def test_a_client_token_reaches_nothing_of_another_clients_service(
    stack: PanelStack, alice_token: str, bob: Service, action: str, extra: dict[str, str]
) -> None:
    a = stack.api(alice_token, action, {"s3uid": bob.username, **extra})
    assert a.status == 404
    assert a.body == NOT_FOUND
    bob_intact(bob)
    assert stack.sql("SELECT id FROM tblcancelrequests WHERE relid = %s", (bob.serviceid,)) == []


def test_a_client_cannot_read_another_clients_history_by_id(stack: PanelStack, alice_token: str, bob: Service) -> None:
    assert stack.api(alice_token, "history", {"id": bob.serviceid}).body == {"code": -1, "message": "S3 plan not found"}


def test_the_admin_id_parameter_gives_a_client_nothing(stack: PanelStack, alice_token: str, bob: Service) -> None:
    a = stack.api(alice_token, "get_files", {"s3uid": bob.username, "id": bob.clientid, "bucket_name": "private"})
    assert a.body == NOT_FOUND


def test_the_shim_way_checks_the_logged_in_client_too(stack: PanelStack, alice: Service, bob: Service) -> None:
    """WHMCS shows a client only their own services, but the daemon checks again: Alice's session on Bob's page."""
    answer, effects = stack.shim(bob, "get_files", {"s3uid": bob.username, "bucket_name": "private"},
                                 client=alice.clientid)  # fmt: skip
    assert answer.body == NOT_FOUND
    assert effects == []
    audit = stack.sql("SELECT detail FROM mod_s3bridge_audit WHERE action = 'panel' ORDER BY id DESC LIMIT 1")
    assert audit[0]["detail"] == f"client {alice.clientid} asked for s3uid '{bob.username}'"


def test_a_state_change_without_the_csrf_token_is_refused(stack: PanelStack, alice: Service) -> None:
    answer, effects = stack.shim(alice, "create_bucket", {"s3uid": alice.username, "bucket_name": "csrf"}, csrf=False)
    assert answer.status == 403
    assert answer.body == {
        "code": -1,
        "message": "this change needs the form's security token; reload the page and try again",
    }
    assert effects == []
    root = alice.s3(stack.minio.access_key, stack.minio.secret_key)
    names = [b["Name"] for b in root.list_buckets().get("Buckets", [])]
    assert f"{alice.username}--csrf" not in names
    listing, _ = stack.shim(alice, "get_buckets_rmq", {"s3uid": alice.username}, csrf=False)
    assert listing.ok  # reading needs no token


def test_tokens_are_stored_as_a_hash_only(stack: PanelStack, alice: Service) -> None:
    token = stack.client_token(alice)
    token_id, secret = token.split("_")[2], token.split("_", 3)[3]
    rows = stack.sql("SELECT * FROM mod_s3bridge_api_tokens WHERE token_id = %s", (token_id,))
    assert rows[0]["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    dumped = repr(stack.sql("SELECT * FROM mod_s3bridge_api_tokens"))
    assert secret not in dumped
    assert token not in stack.daemon.log_text()


def test_a_revoked_token_is_refused(stack: PanelStack, alice: Service) -> None:
    token = stack.client_token(alice)
    assert stack.api(token, "list_plans").status == 200
    token_id = token.split("_")[2]
    answer, _ = stack.shim(alice, "revoke_token", {"token_id": token_id})
    assert answer.ok
    refused = stack.api(token, "list_plans")
    assert refused.status == 401
    assert refused.body == {"code": -1, "message": "invalid or revoked token"}


def test_a_client_cannot_revoke_or_see_another_clients_tokens(stack: PanelStack, alice: Service, bob: Service) -> None:
    bobs = stack.client_token(bob)
    answer, _ = stack.shim(alice, "revoke_token", {"token_id": bobs.split("_")[2]})
    assert answer.status == 404
    assert stack.api(bobs, "list_plans").status == 200
    listed, _ = stack.shim(alice, "list_tokens")
    assert bobs.split("_")[2] not in [t["token_id"] for t in listed.body["tokens"]]


@pytest.mark.parametrize(
    "forged",
    [
        "s3b_c_000000000000_" + "A" * 43,  # unknown id
        "s3b_a_{id}_{secret}",  # a client token presented as an admin token
        "s3b_c_{id}_" + "B" * 43,  # the right id, a wrong secret
        "not-a-token",
    ],
)
def test_forged_tokens_are_refused_alike(stack: PanelStack, alice_token: str, forged: str) -> None:
    _, _, token_id, secret = alice_token.split("_", 3)
    a = stack.api(forged.format(id=token_id, secret=secret), "list_plans")
    assert a.status == 401
    assert a.body == {"code": -1, "message": "invalid or revoked token"}


def test_tokens_in_the_url_are_refused(stack: PanelStack, alice_token: str) -> None:
    a = stack.api(None, "list_plans", {"token": alice_token}, method="GET")
    assert a.status == 400
    assert "not in the URL" in a.body["message"]


def test_tokens_cannot_make_tokens(stack: PanelStack, alice_token: str) -> None:
    a = stack.api(alice_token, "create_token", {"name": "more"})
    assert a.status == 403
    assert a.body == {"code": -1, "message": "API tokens are managed in the client area"}


def test_bucket_names_aimed_at_another_namespace(stack: PanelStack, alice: Service, alice_token: str,
                                                 bob: Service) -> None:  # fmt: skip
    for name in (f"{bob.username}--private", f"{bob.username}--new", "x--y"):
        a = stack.api(alice_token, "create_bucket", {"s3uid": alice.username, "bucket_name": name})
        assert a.status == 403, a.body
        assert a.body["message"] == (
            f"bucket names of account {alice.username} start with '{alice.username}--'; '{name}' is outside it"
        )
    refused = stack.api(alice_token, "get_files", {"s3uid": alice.username, "bucket_name": f"{bob.username}--private"})
    assert refused.status == 403
    bob_intact(bob)


def test_a_forged_or_borrowed_continuation_token_is_refused(
    stack: PanelStack, alice: Service, alice_token: str
) -> None:
    for b in ("one", "two"):
        stack.api(alice_token, "create_bucket", {"s3uid": alice.username, "bucket_name": b})
        for i in range(3):
            alice.s3().put_object(Bucket=f"{alice.username}--{b}", Key=f"k{i}", Body=b"1")
    page = stack.api(alice_token, "get_files", {"s3uid": alice.username, "bucket_name": "one", "max_keys": 1})
    token = page.body["continuation_token"]
    borrowed = stack.api(alice_token, "get_files", {"s3uid": alice.username, "bucket_name": "two", "max_keys": 1,
                                                    "continuation_token": token})  # fmt: skip
    assert borrowed.status == 400
    assert borrowed.body["message"].startswith("continuation_token is not valid for this listing")
    raw = stack.api(alice_token, "get_files", {"s3uid": alice.username, "bucket_name": "one",
                                               "continuation_token": "azE="})  # fmt: skip
    assert raw.status == 400


def test_hostile_object_names(stack: PanelStack, alice: Service, alice_token: str) -> None:
    stack.api(alice_token, "create_bucket", {"s3uid": alice.username, "bucket_name": "hostile"})
    bucket = f"{alice.username}--hostile"
    longest = "/".join(["q" * 200] * 5) + "q" * 20  # 1,024 bytes (MinIO caps each segment at 255)
    names = ["<script>alert(1)</script>.txt", "ünï cödé/ファイル.txt", longest, "quote\"'&amp;.txt"]
    for n in names:
        alice.s3().put_object(Bucket=bucket, Key=n, Body=b"h")
    args = {"s3uid": alice.username, "bucket_name": "hostile"}
    top = stack.api(alice_token, "get_files", args).body["files"]
    assert [f["name"] for f in top] == ["<script>alert(1)</", "q" * 200 + "/", "ünï cödé/", "quote\"'&amp;.txt"]
    inside = stack.api(alice_token, "get_files", {**args, "prefix": "<script>alert(1)</"}).body["files"]
    assert [(f["name"], f["key"]) for f in inside] == [("script>.txt", "<script>alert(1)</script>.txt")]
    found = stack.api(alice_token, "get_files", {**args, "search": "QQQ", "search_mode": "contains"}).body["files"]
    assert [f["key"] for f in found] == [longest]
    too_long = stack.api(alice_token, "delete_file", {"s3uid": alice.username, "bucket_name": "hostile",
                                                      "filename": "q" * 1025})  # fmt: skip
    assert too_long.body["message"] == "parameter 'filename' is 1025 bytes; an object name is at most 1024 bytes"
    traversal = stack.api(alice_token, "download_url", {"s3uid": alice.username, "bucket_name": "hostile",
                                                        "filename": "../../x--y/z"})  # fmt: skip
    assert traversal.status == 400
    assert "'..' path segment" in traversal.body["message"]
    gone = stack.api(alice_token, "delete_file", {"s3uid": alice.username, "bucket_name": "hostile",
                                                  "filename": names})  # fmt: skip
    assert sorted(gone.body["deleted"]) == sorted(names)


def test_suspension_stops_keys_password_change_keeps_them_termination_removes_them(stack: PanelStack) -> None:
    svc = stack.service({22: "5"})
    tok = stack.client_token(svc)
    stack.api(tok, "create_bucket", {"s3uid": svc.username, "bucket_name": "k"})
    made = stack.api(tok, "create_key", {"s3uid": svc.username}).body
    key = svc.s3(made["access_key"], made["secret_key"])
    key.put_object(Bucket=f"{svc.username}--k", Key="x", Body=b"1")
    assert svc.call("SuspendAccount").returned == "success"
    with pytest.raises(Exception, match=r"AccessDenied|InvalidAccessKeyId"):
        key.get_object(Bucket=f"{svc.username}--k", Key="x")
    refused = stack.api(tok, "create_key", {"s3uid": svc.username})
    assert refused.status == 403
    assert svc.call("UnsuspendAccount").returned == "success"
    assert svc.call("ChangePassword", password="Another-Passw0rd-123").returned == "success"
    assert key.get_object(Bucket=f"{svc.username}--k", Key="x")["Body"].read() == b"1"
    assert svc.call("TerminateAccount").returned == "success"
    with pytest.raises(Exception, match=r"InvalidAccessKeyId|NoSuchBucket|AccessDenied"):
        key.list_objects_v2(Bucket=f"{svc.username}--k")
    h = stack.sql("SELECT event FROM mod_s3bridge_events WHERE serviceid = %s ORDER BY id", (svc.serviceid,))
    assert [r["event"] for r in h] == ["created", "bucket created", "key created", "suspended", "unsuspended",
                                       "password changed (access keys unchanged)", "terminated"]  # fmt: skip


def test_no_secret_reaches_the_daemon_log(stack: PanelStack, alice: Service) -> None:
    text = stack.daemon.log_text()
    from tests.support.panel_rig import API_SECRET

    assert API_SECRET not in text
    assert alice.password not in text
