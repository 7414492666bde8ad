"""The account lifecycle on real MinIO through the real PHP shim, as WHMCS drives it."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.services import MariaDB, MinIO
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture
def new_service(daemon, minio: MinIO) -> Callable[..., Service]:
    def make(**kw: Any) -> Service:
        return Service(minio=minio, url=daemon.url, secret=daemon.secret, **kw)

    return make


@pytest.fixture(scope="module")
def admin(minio: MinIO) -> MinioAdmin:
    return MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )


@pytest.fixture(scope="module")
def root_s3(minio: MinIO) -> Minio:
    return Minio(minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False)


def users(admin: MinioAdmin) -> dict[str, Any]:
    return dict(json.loads(admin.user_list()))


def policies(admin: MinioAdmin) -> set[str]:
    return set(json.loads(admin.policy_list()))


def denied(fn: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as e:
        fn()
    return str(e.value.response["Error"]["Code"])


def test_create_account_makes_a_working_account_with_credentials_stored_in_whmcs(new_service, admin) -> None:
    svc = new_service(options={12: "on", 13: "files", 7: "customers"})
    r = svc.call("CreateAccount")
    assert r.returned == "success", r.returned
    assert svc.username == f"{svc.clientid}-{svc.serviceid}"
    assert 20 <= len(svc.password) <= 40
    info = json.loads(admin.user_info(svc.username))
    assert info["status"] == "enabled"
    assert info["policyName"] == f"s3bridge-{svc.username}"
    assert "customers" in info.get("memberOf", [])
    s3 = svc.s3()
    bucket = f"{svc.username}--files"
    s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello world")
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello world"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [bucket]


def test_suspend_blocks_access_and_unsuspend_restores_it(new_service) -> None:
    svc = new_service(options={12: "on"})
    svc.call("CreateAccount")
    bucket = f"{svc.username}--data"
    svc.s3().put_object(Bucket=bucket, Key="k", Body=b"v")
    assert svc.call("SuspendAccount").returned == "success"
    assert denied(lambda: svc.s3().get_object(Bucket=bucket, Key="k")) in {"InvalidAccessKeyId", "AccessDenied"}
    assert svc.call("SuspendAccount").returned == "success"  # idempotent
    assert svc.call("UnsuspendAccount").returned == "success"
    assert svc.s3().get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
    assert svc.call("UnsuspendAccount").returned == "success"


def test_change_password_switches_credentials_and_keeps_a_suspended_account_suspended(new_service, admin) -> None:
    svc = new_service(options={12: "on"})
    svc.call("CreateAccount")
    old = svc.password
    svc.password = "Chosen-by-admin-2026"
    assert svc.call("ChangePassword").returned == "success"
    svc.s3().list_buckets()
    assert denied(lambda: svc.s3(password=old).list_buckets()) == "SignatureDoesNotMatch"
    svc.call("SuspendAccount")
    svc.password = "Another-choice-2026x"
    assert svc.call("ChangePassword").returned == "success"
    assert json.loads(admin.user_info(svc.username))["status"] == "disabled"
    assert denied(lambda: svc.s3().list_buckets()) in {"InvalidAccessKeyId", "AccessDenied"}


def test_change_password_refuses_a_password_minio_cannot_take(new_service) -> None:
    svc = new_service()
    svc.call("CreateAccount")
    r = svc.call("ChangePassword", password="short")
    assert "parameter 'password' must be 8-40 characters" in r.returned


def test_reset_password_button_generates_and_stores_a_new_password(new_service) -> None:
    svc = new_service(options={12: "on"})
    svc.call("CreateAccount")
    old = svc.password
    assert svc.call("ResetPassword").returned == "success"
    assert svc.password != old
    svc.s3().list_buckets()


def test_terminate_deletes_every_version_bucket_policy_and_the_user(new_service, admin, root_s3) -> None:
    svc = new_service(options={12: "on"})
    svc.call("CreateAccount")
    s3 = svc.s3()
    bucket = f"{svc.username}--data"
    second = f"{svc.username}--more"
    s3.create_bucket(Bucket=second)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for i in range(3):
        s3.put_object(Bucket=bucket, Key="versioned", Body=f"v{i}".encode())
    s3.delete_object(Bucket=bucket, Key="versioned")  # leaves a delete marker
    s3.put_object(Bucket=second, Key="a/b/c", Body=b"x")
    r = svc.call("TerminateAccount")
    assert r.returned == "success"
    assert svc.username not in users(admin)
    assert not {f"s3bridge-{svc.username}", f"s3bridge-{svc.username}-limited"} & policies(admin)
    assert not root_s3.bucket_exists(bucket)
    assert not root_s3.bucket_exists(second)
    assert "5 object version(s)" in r.module_log[-1]["masked"]["response"]


def test_terminate_of_a_service_never_created_or_already_gone_succeeds_and_says_so(new_service) -> None:
    svc = new_service()
    r = svc.call("TerminateAccount")
    assert r.returned == "success"
    assert "nothing to delete" in r.module_log[-1]["masked"]["response"]
    svc.call("CreateAccount")
    assert svc.call("TerminateAccount").returned == "success"
    again = svc.call("TerminateAccount")
    assert again.returned == "success"
    assert "already terminated" in again.module_log[-1]["masked"]["response"]


def test_create_after_terminate_makes_a_fresh_account(new_service, admin) -> None:
    svc = new_service(options={12: "on"})
    svc.call("CreateAccount")
    svc.call("TerminateAccount")
    assert svc.call("CreateAccount").returned == "success"
    assert json.loads(admin.user_info(svc.username))["status"] == "enabled"
    svc.s3().list_buckets()


def test_create_retried_after_a_lost_answer_leaves_one_account_and_working_credentials(new_service, admin) -> None:
    svc = new_service(options={12: "on"})
    first = svc.call("CreateAccount", apply_effects=False)  # the answer never reached WHMCS (timeout)
    assert first.returned == "success"
    second = svc.call("CreateAccount")
    assert second.returned == "success"
    svc.s3().list_buckets()
    assert svc.username in users(admin)
    assert sum(1 for u in users(admin) if u == svc.username) == 1
    # With WHMCS now holding a working password, another Create changes nothing.
    held = svc.password
    svc.call("CreateAccount")
    assert svc.password == held
    svc.s3().list_buckets()


def test_twenty_concurrent_creates_leave_one_user_one_policy_pair_one_bucket(new_service, admin, root_s3) -> None:
    svc = new_service(options={12: "on"})
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: svc.call("CreateAccount", apply_effects=False), range(20)))
    assert [r.returned for r in results] == ["success"] * 20
    passwords = {
        c["values"]["servicepassword"] for r in results for c in r.local_api if c["command"] == "UpdateClientProduct"
    }
    assert len(passwords) == 1  # whichever answer WHMCS stores last, it is the one MinIO has
    for r in results:
        svc.apply(r)
    svc.s3().list_buckets()
    name = svc.username
    assert [u for u in users(admin) if u.startswith(name)] == [name]
    assert {p for p in policies(admin) if name in p} == {f"s3bridge-{name}", f"s3bridge-{name}-limited"}
    assert [b.name for b in root_s3.list_buckets() if b.name.startswith(name)] == [f"{name}--data"]


def test_twenty_concurrent_creates_of_different_services_all_succeed(new_service, mariadb, whmcs_db) -> None:
    """A WHMCS order batch: the daemon's DB transactions may deadlock under load; MySQL says re-issue them, and a
    customer must never get "database unavailable" for it (bench/lifecycle.py met it at 20 concurrent creates)."""
    services = [new_service(options={12: "on"}) for _ in range(20)]
    for s in services:
        s.register(mariadb, whmcs_db)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda s: s.call("CreateAccount").returned, services))
    assert results == ["success"] * 20
    for s in services:
        s.s3().list_buckets()


@pytest.mark.parametrize(
    ("option", "value", "names"),
    [
        (8, "{not json", "'Raw standard policy' (configoption8) is not valid JSON"),
        (
            8,
            '{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::<USER_ID>*"]}]}',
            "could reach buckets of other customers",
        ),
        (15, "{client_id}-{nope}", "'Username rule' (configoption15) uses the unknown macro {nope}"),
        (15, "{client_id}_{service_id}", "may hold only lowercase letters, digits and single hyphens"),
        (15, "ab--{service_id}", "may hold only lowercase letters, digits and single hyphens"),
        (16, "4:abcdefghijklmnop", "'Password rule' (configoption16) length 4 is out of range"),
        (16, "20:aaaa", "distinct characters"),
        (4, "150", "'Warning threshold %' (configoption4) must be 1-100"),
        (3, "XB", "'Unit' (configoption3) must be one of MB, GB, TB, PB"),
    ],
)
def test_invalid_settings_fail_naming_the_setting_and_create_nothing(
    new_service,
    admin,
    mariadb: MariaDB,
    whmcs_db: str,
    option: int,
    value: str,
    names: str,
) -> None:
    svc = new_service(options={option: value})
    r = svc.call("CreateAccount")
    assert names in r.returned
    assert svc.username == ""
    assert f"{svc.clientid}-{svc.serviceid}" not in users(admin)
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM mod_s3bridge_services WHERE serviceid = %s", (svc.serviceid,))
        assert cur.fetchone()["n"] == 0  # type: ignore[index]


def test_custom_username_rule_with_random_parts_is_used_and_stable_across_retries(new_service) -> None:
    svc = new_service(options={15: "s3-{random_letter_4}{random_digit_3}", 12: "on"})
    lost = svc.call("CreateAccount", apply_effects=False)  # answer lost: WHMCS never learned the name
    first_user = lost.local_api[0]["values"]["serviceusername"]
    assert first_user.startswith("s3-")
    assert len(first_user) == 10
    svc.call("CreateAccount")
    assert svc.username == first_user  # the retry completed the same account, it did not draw a new name
    svc.s3().list_buckets()


def test_generated_password_appears_in_no_log_module_log_or_note(
    new_service,
    daemon,
    mariadb: MariaDB,
    whmcs_db: str,
) -> None:
    svc = new_service()
    r = svc.call("CreateAccount")
    r2 = svc.call("ResetPassword")
    passwords = [
        c["values"]["servicepassword"] for x in (r, r2) for c in x.local_api if "servicepassword" in c["values"]
    ]
    assert len(passwords) == 2
    log = daemon.log_text()
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT note FROM tblnotes")
        notes = " ".join(row["note"] for row in cur.fetchall())
        cur.execute("SELECT detail FROM mod_s3bridge_audit")
        audit = " ".join(row["detail"] for row in cur.fetchall())
    for pw in passwords:
        assert pw not in log
        assert pw not in notes + audit
        for x in (r, r2):
            for entry in x.module_log:
                assert pw not in json.dumps(entry["masked"])
    assert "ResetPassword" in log


def put(s3: Any, bucket: str, key: str, data: bytes) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=io.BytesIO(data))
