"""Contract of the panel API (seed 002) on real MinIO: every seed method's success envelope and its documented
failure envelopes, through the bearer-token listener, and the client area's way (the shim's signed `Panel` call)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.panel_rig import NOT_FOUND, PanelStack
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture(scope="module")
def owner(stack: PanelStack) -> Service:
    return stack.service({22: "20", 23: "banktransfer"})


@pytest.fixture(scope="module")
def token(stack: PanelStack, owner: Service) -> str:
    return stack.client_token(owner)


@pytest.fixture(scope="module")
def admin(stack: PanelStack) -> str:
    return stack.admin_token()


def ok(answer: Any, action: str) -> dict[str, Any]:
    assert answer.status == 200, answer.body
    assert answer.body["result"] == "OK", answer.body
    assert answer.body["action"] == action
    return dict(answer.body)


def test_missing_action_is_the_seeds_failure(stack: PanelStack, token: str) -> None:
    a = stack.api(token, "", path="/s3")
    assert a.status == 400
    assert a.body == {"code": -1, "message": "action required"}


def test_action_may_come_as_a_parameter_like_s3_php(stack: PanelStack, token: str) -> None:
    a = stack.api(token, "", {"action": "list_plans"}, path="/s3.php", as_json=False)
    ok(a, "list_plans")


def test_create_bucket_then_get_buckets_rmq(stack: PanelStack, owner: Service, token: str) -> None:
    a = stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "photos"})
    body = ok(a, "create_bucket")
    assert body["bucket"] == {"name": f"{owner.username}--photos", "prefix": f"{owner.username}--"}
    rmq = ok(stack.api(token, "get_buckets_rmq", {"s3uid": owner.username}, method="GET"), "get_buckets_rmq")
    assert f"{owner.username}--photos" in [b["name"] for b in rmq["message"]]
    assert set(rmq) >= {"usage_storage", "quota", "metering", "access_key", "secret_key", "endpoint"}
    assert rmq["quota"] == 1024**3
    assert rmq["access_key"] == owner.username
    assert rmq["secret_key"] == owner.password  # decrypted by WHMCS's API (the stand-in api.php)
    assert set(rmq["metering"]) >= {"total_traffic_gb", "total_storage_gb"}
    assert rmq["endpoint"] == f"http://127.0.0.1:{stack.minio.port}"


def test_create_bucket_failures(stack: PanelStack, owner: Service, token: str) -> None:
    assert stack.api(token, "create_bucket", {"s3uid": "nobody-1", "bucket_name": "x1"}).body == NOT_FOUND
    bad = stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "Bad_Name"})
    assert bad.status == 400
    assert bad.body["message"].startswith("Invalid bucket name")
    assert bad.body["details"]["prefix"] == f"{owner.username}--"
    stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "twice"})
    again = stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "twice"})
    assert again.status == 409
    assert "already exists" in again.body["message"]


def test_max_buckets_of_the_plan(stack: PanelStack) -> None:
    svc = stack.service({22: "1"})
    tok = stack.client_token(svc)
    ok(stack.api(tok, "create_bucket", {"s3uid": svc.username, "bucket_name": "one"}), "create_bucket")
    refused = stack.api(tok, "create_bucket", {"s3uid": svc.username, "bucket_name": "two"})
    assert refused.status == 409
    assert refused.body["message"] == f"account {svc.username} has 1 of 1 buckets its plan allows"


def test_delete_bucket_success_and_the_seeds_not_empty_failure(stack: PanelStack, owner: Service, token: str) -> None:
    stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "full"})
    owner.s3().put_object(Bucket=f"{owner.username}--full", Key="a", Body=b"1")
    full = stack.api(token, "delete_bucket", {"s3uid": owner.username, "bucket_name": "full"})
    assert full.status == 409
    assert full.body["message"] == "Delete S3 bucket error: Bucket not empty or access denied"
    stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "empty"})
    gone = ok(stack.api(token, "delete_bucket", {"s3uid": owner.username, "bucket_name": "empty"}), "delete_bucket")
    assert gone["message"] == f"bucket {owner.username}--empty deleted"
    assert stack.api(token, "delete_bucket", {"s3uid": "x-1", "bucket_name": "empty"}).body == NOT_FOUND


def test_get_files_pages_folders_and_searches(stack: PanelStack, owner: Service, token: str) -> None:
    stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "files"})
    bucket = f"{owner.username}--files"
    s3 = owner.s3()
    for i in range(7):
        s3.put_object(Bucket=bucket, Key=f"f{i:02d}.txt", Body=b"x" * i)
    s3.put_object(Bucket=bucket, Key="docs/report-2026.pdf", Body=b"pdf")
    s3.put_object(Bucket=bucket, Key="docs/deep/notes-2026.txt", Body=b"n")
    args = {"s3uid": owner.username, "bucket_name": "files", "max_keys": 3}
    first = ok(stack.api(token, "get_files", args, method="GET"), "get_files")
    assert [f["name"] for f in first["files"]] == ["docs/", "f00.txt", "f01.txt"]
    assert first["files"][0]["type"] == "folder"
    assert first["is_truncated"]
    seen = [f["name"] for f in first["files"]]
    cont = first["continuation_token"]
    while cont:
        page = ok(stack.api(token, "get_files", {**args, "continuation_token": cont}, method="GET"), "get_files")
        seen += [f["name"] for f in page["files"]]
        cont = page["continuation_token"]
    assert seen == ["docs/", *[f"f{i:02d}.txt" for i in range(7)]]
    folder = ok(stack.api(token, "get_files", {**args, "prefix": "docs/"}, method="GET"), "get_files")
    assert [f["name"] for f in folder["files"]] == ["deep/", "report-2026.pdf"]
    by_prefix = ok(stack.api(token, "get_files", {**args, "search": "f0"}, method="GET"), "get_files")
    assert [f["key"] for f in by_prefix["files"]] == ["f00.txt", "f01.txt", "f02.txt"]
    contains = ok(stack.api(token, "get_files", {**args, "search": "2026", "search_mode": "contains"}), "get_files")
    assert [f["key"] for f in contains["files"]] == ["docs/deep/notes-2026.txt", "docs/report-2026.pdf"]
    assert contains["search"]["complete"] is True


def test_get_files_failures(stack: PanelStack, owner: Service, token: str) -> None:
    args = {"s3uid": owner.username, "bucket_name": "files"}
    too_many = stack.api(token, "get_files", {**args, "max_keys": 101})
    assert too_many.body == {"code": -1, "message": "parameter 'max_keys' must be 1-100, got 101",
                             "details": {"parameter": "max_keys"}}  # fmt: skip
    assert stack.api(token, "get_files", {**args, "s3uid": "zz-9"}).body == NOT_FOUND
    missing = stack.api(token, "get_files", {**args, "bucket_name": "nothere"})
    assert missing.status == 404
    assert missing.body["message"] == f"bucket '{owner.username}--nothere' not found in account {owner.username}"


def test_delete_file_one_and_many(stack: PanelStack, owner: Service, token: str) -> None:
    stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "del"})
    s3 = owner.s3()
    for k in ("a", "b", "c"):
        s3.put_object(Bucket=f"{owner.username}--del", Key=k, Body=b"1")
    one = ok(stack.api(token, "delete_file", {"s3uid": owner.username, "bucket_name": "del", "filename": "a"}),
             "delete_file")  # fmt: skip
    assert one["deleted"] == ["a"]
    many = stack.api(token, "delete_file", {"s3uid": owner.username, "bucket_name": "del", "filename": ["b", "c"]},
                     as_json=False)  # fmt: skip
    assert sorted(ok(many, "delete_file")["deleted"]) == ["b", "c"]
    assert stack.api(token, "delete_file", {"s3uid": "q-1", "bucket_name": "del", "filename": "a"}).body == NOT_FOUND


def test_show_key_both_kinds_and_the_seeds_failure(stack: PanelStack, owner: Service, token: str) -> None:
    access = ok(stack.api(token, "show_key", {"s3uid": owner.username, "s3_key": "access_key"}), "show_key")
    assert access["access_key"] == owner.username
    secret = ok(stack.api(token, "show_key", {"s3uid": owner.username, "s3_key": "secret_key"}), "show_key")
    assert secret["secret_key"] == owner.password
    failed = stack.api(token, "show_key", {"s3uid": "x-2", "s3_key": "secret_key"})
    assert failed.body == {"code": -1, "message": "s3/show_key: customer not found",
                           "details": {"error": "S3 account not found for this customer"}}  # fmt: skip


def test_history_records_lifecycle_and_panel_events(stack: PanelStack, owner: Service, token: str) -> None:
    stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "hist"})
    h = ok(stack.api(token, "history", {"id": owner.serviceid}, method="GET"), "history")
    events = [e["event"] for e in h["history"]]
    assert "created" in events
    assert "bucket created" in events
    mine = next(e for e in h["history"] if e["event"] == "bucket created" and e["detail"].endswith("--hist"))
    assert mine["by"].startswith(f"client {owner.clientid} token ")
    assert stack.api(token, "history", {"id": 999_999_999}).body == {"code": -1, "message": "S3 plan not found"}


def test_list_plans_client_in_their_currency_admin_all(stack: PanelStack, owner: Service, token: str,
                                                       admin: str) -> None:  # fmt: skip
    stack.sql("INSERT IGNORE INTO tblcurrencies (id, code, prefix, suffix, format, rate, `default`)"
              " VALUES (1, 'USD', '$', ' USD', 1, 1.0, 1), (2, 'EUR', '', ' EUR', 1, 0.9, 0)")  # fmt: skip
    stack.sql("DELETE FROM tblpricing WHERE relid = %s AND type = 'product'", (owner.serviceid,))
    for cur, price in ((1, "10.50"), (2, "9.80")):
        stack.sql("INSERT INTO tblpricing (type, currency, relid, msetupfee, qsetupfee, ssetupfee, asetupfee,"
                  " bsetupfee, tsetupfee, monthly, quarterly, semiannually, annually, biennially, triennially)"
                  " VALUES ('product', %s, %s, 0, 0, 0, 0, 0, 0, %s, -1, -1, 100, -1, -1)",
                  (cur, owner.serviceid, price))  # fmt: skip
    stack.sql("UPDATE tblclients SET currency = 2 WHERE id = %s", (owner.clientid,))
    mine = ok(stack.api(token, "list_plans", method="GET"), "list_plans")
    plan = next(p for p in mine["plans"] if p["id"] == owner.serviceid)
    assert plan["price"] == {"base_price": 10.5, "price": 9.8}
    assert plan["currency"] == "EUR"
    assert plan["cycles"] == {"monthly": 9.8, "annually": 100.0}
    assert plan["storage_type"] == "minio"
    assert plan["orderable"] is True
    stack.sql("UPDATE tblproducts SET hidden = 1 WHERE id = %s", (owner.serviceid,))
    try:
        hidden = ok(stack.api(token, "list_plans"), "list_plans")
        assert owner.serviceid not in [p["id"] for p in hidden["plans"]]
        everything = ok(stack.api(admin, "list_plans", {"id": owner.serviceid}), "list_plans")
        assert everything["plans"][0]["price"]["price"] == {"USD": 10.5, "EUR": 9.8}
        assert everything["plans"][0]["active"] == 0
    finally:
        stack.sql("UPDATE tblproducts SET hidden = 0 WHERE id = %s", (owner.serviceid,))
    assert stack.api(admin, "list_plans", {"id": 999_999_999}).body == {"code": -1, "message": "S3 plan not found"}


def test_a_client_is_listed_only_plans_priced_in_their_currency(stack: PanelStack, owner: Service, token: str,
                                                                 admin: str) -> None:  # fmt: skip
    """WHMCS sells a product only in currencies it has a price in: a client paying in EUR is not offered a plan
    priced in USD alone (issue 20 item 9; before: listed with "price": null)."""
    stack.sql("INSERT IGNORE INTO tblcurrencies (id, code, prefix, suffix, format, rate, `default`)"
              " VALUES (1, 'USD', '$', ' USD', 1, 1.0, 1), (2, 'EUR', '', ' EUR', 1, 0.9, 0)")  # fmt: skip
    stack.sql("DELETE FROM tblpricing WHERE relid = %s AND type = 'product'", (owner.serviceid,))
    stack.sql("INSERT INTO tblpricing (type, currency, relid, msetupfee, qsetupfee, ssetupfee, asetupfee,"
              " bsetupfee, tsetupfee, monthly, quarterly, semiannually, annually, biennially, triennially)"
              " VALUES ('product', 1, %s, 0, 0, 0, 0, 0, 0, 10.50, -1, -1, -1, -1, -1)",
              (owner.serviceid,))  # fmt: skip
    stack.sql("UPDATE tblclients SET currency = 2 WHERE id = %s", (owner.clientid,))
    try:
        mine = ok(stack.api(token, "list_plans", method="GET"), "list_plans")
        assert owner.serviceid not in [p["id"] for p in mine["plans"]], mine
        everything = ok(stack.api(admin, "list_plans", {"id": owner.serviceid}), "list_plans")
        assert everything["plans"][0]["price"]["price"] == {"USD": 10.5}  # admins still see every plan
        refused = stack.api(token, "create_order", {"plan_id": owner.serviceid, "bucket_name": "eur"})
        assert refused.body.get("code") == -1, refused.body
        assert "EUR" in refused.body["message"]
    finally:  # the other tests' plan is priced in the client's currency again
        stack.sql("UPDATE tblclients SET currency = 1 WHERE id = %s", (owner.clientid,))


def test_create_order_places_a_whmcs_order_through_its_api(stack: PanelStack, owner: Service, token: str) -> None:
    for action in ("create_order", "create_account"):
        placed = ok(stack.api(token, action, {"plan_id": owner.serviceid, "bucket_name": "first"}), action)
        assert placed["order_id"] > 0
        sid = int(str(placed["service_ids"]).split(",")[0])
        row = stack.sql("SELECT userid, packageid, domain, domainstatus FROM tblhosting WHERE id = %s", (sid,))[0]
        # no domain (WHMCS would show "Visit Website http://first"): the name waits in the module's own table
        assert row == {"userid": owner.clientid, "packageid": owner.serviceid, "domain": "",
                       "domainstatus": "Pending"}  # fmt: skip
        # the name waits for the service WHMCS answered with, whatever else the client orders meanwhile
        waiting = stack.sql("SELECT clientid, packageid, bucket_suffix FROM mod_s3bridge_orders WHERE serviceid = %s",
                            (sid,))  # fmt: skip
        assert waiting == [{"clientid": owner.clientid, "packageid": owner.serviceid, "bucket_suffix": "first"}]
    bad = stack.api(token, "create_order", {"plan_id": owner.serviceid, "bucket_name": "Bad Name"})
    assert bad.body["message"].startswith(
        "S3 account was being created, however a bucket creation error occurred - Invalid bucket name"
    )
    assert stack.api(token, "create_order", {"plan_id": 999_999_999, "bucket_name": "b"}).body == {
        "code": -1, "message": "S3 plan not found"}  # fmt: skip


def test_create_order_refused_for_a_plan_without_panel_orders(stack: PanelStack) -> None:
    svc = stack.service()
    tok = stack.client_token(svc)
    refused = stack.api(tok, "create_order", {"plan_id": svc.serviceid, "bucket_name": "x1"})
    assert refused.status == 403
    assert "cannot be ordered from the panel" in refused.body["message"]


def test_delete_payment_account_and_its_withdrawal(stack: PanelStack) -> None:
    svc = stack.service()
    tok = stack.client_token(svc)
    args = {"s3uid": svc.username}
    ok(stack.api(tok, "delete_payment_account", {**args, "reason": "moving"}), "delete_payment_account")
    rows = stack.sql("SELECT type, reason FROM tblcancelrequests WHERE relid = %s", (svc.serviceid,))
    assert rows == [{"type": "End of Billing Period", "reason": "moving (filed from the S3 panel)"}]
    twice = stack.api(tok, "delete_payment_account", args)
    assert twice.status == 409
    ok(stack.api(tok, "cancel_payment_account_deletion", args), "cancel_payment_account_deletion")
    assert stack.sql("SELECT id FROM tblcancelrequests WHERE relid = %s", (svc.serviceid,)) == []
    none = stack.api(tok, "cancel_payment_account_deletion", args)
    assert none.body == {"code": -1, "message": "no cancellation request is pending for this account"}
    assert stack.api(tok, "delete_payment_account", {"s3uid": "n-1"}).body == NOT_FOUND
    assert stack.api(tok, "cancel_payment_account_deletion", {"s3uid": "n-1"}).body == NOT_FOUND


def test_withdrawing_a_cancellation_is_logged_and_refused_when_whmcs_cancelled_invoices(stack: PanelStack) -> None:
    """WHMCS writes "Removed Automatic Cancellation" to its activity log when it removes a request; filing one may
    have cancelled the service's unpaid invoices or gateway subscription (WHMCS settings), which deleting the row
    does not restore: then the withdrawal is refused with the reason (issue 20 item 5)."""
    svc = stack.service()
    tok = stack.client_token(svc)
    args = {"s3uid": svc.username}
    ok(stack.api(tok, "delete_payment_account", args), "delete_payment_account")
    ok(stack.api(tok, "cancel_payment_account_deletion", args), "cancel_payment_account_deletion")
    logged = stack.sql("SELECT description, userid FROM tblactivitylog WHERE description LIKE %s",
                       (f"Removed Automatic Cancellation%{svc.serviceid}",))  # fmt: skip
    assert logged == [{"description": f"Removed Automatic Cancellation for Service ID: {svc.serviceid}",
                       "userid": svc.clientid}]  # fmt: skip
    ok(stack.api(tok, "delete_payment_account", args), "delete_payment_account")
    stack.sql("INSERT INTO tblconfiguration (setting, value, created_at, updated_at) VALUES"
              " ('CancelInvoiceOnCancellation', 'on', NOW(), NOW()) ON DUPLICATE KEY UPDATE value = 'on'")  # fmt: skip
    try:
        refused = stack.api(tok, "cancel_payment_account_deletion", args)
    finally:
        stack.sql("DELETE FROM tblconfiguration WHERE setting = 'CancelInvoiceOnCancellation'")
    assert refused.status == 409, refused.body
    assert "CancelInvoiceOnCancellation" in refused.body["message"]
    assert "contact support" in refused.body["message"]
    assert stack.sql("SELECT type FROM tblcancelrequests WHERE relid = %s", (svc.serviceid,)) != []  # kept


def test_delete_account_client_requests_admin_terminates(stack: PanelStack, admin: str) -> None:
    svc = stack.service()
    tok = stack.client_token(svc)
    asked = ok(stack.api(tok, "delete_account", {"s3uid": svc.username}), "delete_account")
    assert "immediate cancellation requested" in asked["message"]
    assert stack.sql("SELECT type FROM tblcancelrequests WHERE relid = %s", (svc.serviceid,)) == [
        {"type": "Immediate"}]  # fmt: skip
    done = ok(stack.api(admin, "delete_account", {"s3uid": svc.username, "id": svc.clientid}), "delete_account")
    assert done["message"] == f"account {svc.username} terminated"
    state = stack.sql("SELECT state FROM mod_s3bridge_services WHERE serviceid = %s", (svc.serviceid,))
    assert state == [{"state": "terminated"}]  # WHMCS ran the module's TerminateAccount
    assert stack.api(admin, "delete_account", {"s3uid": svc.username}).body == NOT_FOUND


def test_get_buckets_of_all_the_clients_accounts(stack: PanelStack, owner: Service, token: str, admin: str) -> None:
    mine = ok(stack.api(token, "get_buckets"), "get_buckets")
    assert owner.username in [a["s3uid"] for a in mine["message"]]
    one = ok(stack.api(token, "get_buckets", {"s3uid": owner.username}), "get_buckets")
    assert one["s3uid"] == owner.username
    nobody = stack.api(admin, "get_buckets", {"id": 999_999_999})
    assert nobody.body == {"code": -1, "message": "Load bucket error: customer not found"}


def test_get_users_filters_and_sorts(stack: PanelStack, owner: Service, token: str, admin: str) -> None:
    stack.sql("INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets, sent_bytes,"
              " received_bytes) VALUES (%s, CURDATE(), %s, 1, 1, %s, 0)"
              " ON DUPLICATE KEY UPDATE used_bytes = VALUES(used_bytes), sent_bytes = VALUES(sent_bytes)",
              (owner.serviceid, 5 * 1024**3, 2 * 1024**3))  # fmt: skip
    users = ok(stack.api(admin, "get_users", {"s3uid": owner.username}, method="GET"), "get_users")
    assert users["total"] == 1
    u = users["s3_users"][0]
    assert u["id"] == owner.clientid
    assert u["s3uid"] == owner.username
    assert u["email"] == f"c{owner.clientid}@example.com"
    assert u["total_storage_peak_gb"] == 5.0
    assert u["traffic"] == 2.0
    assert u["service"]["id"] == owner.serviceid
    assert u["service"]["status"] == "active"
    by_bucket = ok(stack.api(admin, "get_users", {"bucket_name": f"{owner.username}--photos"}), "get_users")
    assert [x["s3uid"] for x in by_bucket["s3_users"]] == [owner.username]
    ranked = ok(stack.api(admin, "get_users", {"order": "total_storage_peak_gb", "order_by": "DESC", "limit": 1}),
                "get_users")  # fmt: skip
    assert ranked["s3_users"][0]["total_storage_peak_gb"] >= 5.0
    assert stack.api(admin, "get_users", {"id": 999_999_999}).body == {"code": -1, "message": "customer not found"}
    refused = stack.api(token, "get_users")
    assert refused.status == 403
    assert refused.body == {"code": -1, "message": "s3/get_users is for administrators"}


def test_access_keys_list_create_use_revoke(stack: PanelStack, owner: Service, token: str) -> None:
    stack.api(token, "create_bucket", {"s3uid": owner.username, "bucket_name": "keys"})
    bucket = f"{owner.username}--keys"
    owner.s3().put_object(Bucket=bucket, Key="k.txt", Body=b"keyed")
    made = ok(stack.api(token, "create_key", {"s3uid": owner.username, "name": "backup", "read_only": "1",
                                              "buckets": "keys", "expires": "2026-12-31"}), "create_key")  # fmt: skip
    assert made["buckets"] == [bucket]
    key = owner.s3(made["access_key"], made["secret_key"])
    assert key.get_object(Bucket=bucket, Key="k.txt")["Body"].read() == b"keyed"
    with pytest.raises(Exception, match="AccessDenied"):
        key.put_object(Bucket=bucket, Key="w", Body=b"no")  # read-only
    listed = ok(stack.api(token, "list_keys", {"s3uid": owner.username}), "list_keys")
    entry = next(k for k in listed["keys"] if k["access_key"] == made["access_key"])
    assert entry["name"] == "backup"
    assert entry["restricted"] is True
    assert entry["expires"].startswith("2026-12-31")
    assert "secret_key" not in entry
    ok(stack.api(token, "revoke_key", {"s3uid": owner.username, "access_key": made["access_key"]}), "revoke_key")
    with pytest.raises(Exception, match=r"InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied"):
        key.get_object(Bucket=bucket, Key="k.txt")
    again = stack.api(token, "revoke_key", {"s3uid": owner.username, "access_key": made["access_key"]})
    assert again.status == 404


def test_the_shim_way_answers_in_the_same_envelopes(stack: PanelStack, owner: Service) -> None:
    answer, effects = stack.shim(owner, "get_buckets_rmq", {"s3uid": owner.username})
    assert answer.ok
    assert answer.body["action"] == "get_buckets_rmq"
    assert answer.body["secret_key"] == owner.password  # from WHMCS's $params, no API needed
    assert effects == []
    refused, _ = stack.shim(owner, "get_buckets_rmq", {"s3uid": "other-1"})
    assert refused.body == NOT_FOUND


def test_the_shim_way_turns_whmcs_work_into_effects(stack: PanelStack) -> None:
    svc = stack.service()
    answer, effects = stack.shim(svc, "delete_payment_account", {"s3uid": svc.username})
    assert answer.ok, answer.body
    assert effects == [{"type": "localapi", "command": "AddCancelRequest",
                        "params": {"serviceid": svc.serviceid, "type": "End of Billing Period",
                                   "reason": "(filed from the S3 panel)"}}]  # fmt: skip


def test_history_records_the_limit_decisions(stack: PanelStack) -> None:
    """Over the disk limit the account is limited (by the cron or Recalculate): the history says when and who."""
    svc = stack.service({2: "1", 3: "MB", 12: "on"})
    tok = stack.client_token(svc)
    svc.s3().put_object(Bucket=f"{svc.username}--data", Key="big", Body=b"x" * (2 * 1024 * 1024))
    assert svc.call("RecalculateDiskSpace").returned == "success"
    h = ok(stack.api(tok, "history", {"id": svc.serviceid}), "history")
    limited = [e for e in h["history"] if e["event"].startswith("limited")]
    assert limited
    assert limited[0]["by"] == "WHMCS automation"
