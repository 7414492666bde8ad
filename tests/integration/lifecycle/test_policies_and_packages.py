"""Policy buttons and ChangePackage on real MinIO: limited means read, list and delete but no writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.services import MinIO
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
MB = 1024 * 1024


@pytest.fixture
def svc(daemon, minio: MinIO) -> Service:
    s = Service(minio, daemon.url, daemon.secret, options={12: "on", 2: "1", 3: "MB"})
    assert s.call("CreateAccount").returned == "success"
    return s


@pytest.fixture(scope="module")
def admin(minio: MinIO) -> MinioAdmin:
    return MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )


def attached(admin: MinioAdmin, username: str) -> str:
    return str(json.loads(admin.user_info(username))["policyName"])


def write_refused(fn: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as e:
        fn()
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_limited_policy_refuses_writes_and_allows_reads_lists_and_deletes(svc: Service, admin: MinioAdmin) -> None:
    s3, bucket = svc.s3(), f"{svc.username}--data"
    s3.put_object(Bucket=bucket, Key="keep", Body=b"1")
    s3.put_object(Bucket=bucket, Key="drop", Body=b"2")
    assert svc.call("SetLimitedPolicy").returned == "success"
    assert attached(admin, svc.username) == f"s3bridge-{svc.username}-limited"
    write_refused(lambda: s3.put_object(Bucket=bucket, Key="new", Body=b"3"))
    write_refused(lambda: s3.create_bucket(Bucket=f"{svc.username}--another"))
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"1"
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["drop", "keep"]
    s3.delete_object(Bucket=bucket, Key="drop")
    assert svc.call("SetStandardPolicy").returned == "success"
    assert attached(admin, svc.username) == f"s3bridge-{svc.username}"
    s3.put_object(Bucket=bucket, Key="new", Body=b"3")


def test_update_policy_chooses_by_exact_usage(svc: Service, admin: MinioAdmin) -> None:
    s3, bucket = svc.s3(), f"{svc.username}--data"
    s3.put_object(Bucket=bucket, Key="big", Body=b"x" * (MB + 1))  # over the 1 MB limit
    r = svc.call("UpdatePolicy")
    assert r.returned == "success"
    assert attached(admin, svc.username) == f"s3bridge-{svc.username}-limited"
    assert '"used_bytes": 1048577' in json.dumps(r.module_log[-1]["response"])
    s3.delete_object(Bucket=bucket, Key="big")
    svc.call("UpdatePolicy")
    assert attached(admin, svc.username) == f"s3bridge-{svc.username}"


def test_change_package_applies_the_new_limit_and_group(svc: Service, admin: MinioAdmin) -> None:
    s3, bucket = svc.s3(), f"{svc.username}--data"
    s3.put_object(Bucket=bucket, Key="half", Body=b"x" * (MB // 2))
    svc.options.update({2: "0.25", 7: "small-plan"})  # downgrade below current usage, join a group
    assert svc.call("ChangePackage").returned == "success"
    assert attached(admin, svc.username) == f"s3bridge-{svc.username}-limited"
    assert json.loads(admin.user_info(svc.username)).get("memberOf") == ["small-plan"]
    write_refused(lambda: s3.put_object(Bucket=bucket, Key="more", Body=b"y"))
    svc.options.update({2: "10", 7: "big-plan"})  # upgrade: standard again, moved to the new group
    assert svc.call("ChangePackage").returned == "success"
    assert attached(admin, svc.username) == f"s3bridge-{svc.username}"
    assert json.loads(admin.user_info(svc.username)).get("memberOf") == ["big-plan"]
    s3.put_object(Bucket=bucket, Key="more", Body=b"y")


def test_unlimited_products_are_never_limited(svc: Service, admin: MinioAdmin) -> None:
    svc.s3().put_object(Bucket=f"{svc.username}--data", Key="big", Body=b"x" * (2 * MB))
    svc.options[2] = "0"
    svc.call("ChangePackage")
    assert attached(admin, svc.username) == f"s3bridge-{svc.username}"


def test_buttons_on_a_service_without_an_account_say_so(daemon, minio: MinIO) -> None:
    s = Service(minio, daemon.url, daemon.secret)
    for fn in ("SuspendAccount", "UnsuspendAccount", "ChangePackage", "UpdatePolicy", "ResetPassword"):
        assert s.call(fn).returned == f"the storage account of service {s.serviceid} does not exist"


def test_admin_and_client_buttons_are_declared(daemon, minio: MinIO) -> None:
    s = Service(minio, daemon.url, daemon.secret)
    assert s.call("AdminCustomButtonArray").returned == {
        "Recalculate Disk Space": "RecalculateDiskSpace", "Update Policy": "UpdatePolicy",
        "Set Standard Policy": "SetStandardPolicy", "Set Limited Policy": "SetLimitedPolicy",
        "Change Password": "ResetPassword", "Enable Traffic Metering": "EnableMetering",
        "Adopt Existing Buckets": "AdoptBuckets"}  # fmt: skip
    # clients get the page's token-carrying forms, not WHMCS's tokenless sidebar links
    assert s.call("ClientAreaCustomButtonArray").returned == []
    assert s.call("ClientAreaAllowedFunctions").returned == {
        "Change Password": "ResetPassword", "Recalculate Disk Space": "RecalculateDiskSpace",
        "Storage": "Panel"}  # fmt: skip


def test_admin_tab_tells_the_policy_kind_from_the_services_record_not_the_policy_name(daemon, minio: MinIO) -> None:
    """A username the product's rule makes end in '-limited' still shows its standard policy as standard."""
    s = Service(minio, daemon.url, daemon.secret, options={15: "u{service_id}-limited"})
    assert s.call("CreateAccount").returned == "success"
    assert s.username.endswith("-limited")
    text = " ".join(s.call("AdminServicesTabFields", session={"adminid": 1}).returned.values())
    assert "(standard policy)" in text
    assert "uploads paused" not in text
    assert s.call("SetLimitedPolicy").returned == "success"
    text = " ".join(s.call("AdminServicesTabFields", session={"adminid": 1}).returned.values())
    assert "(limited policy: uploads paused)" in text
