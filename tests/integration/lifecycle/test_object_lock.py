"""Object Lock against hostile customers, on real MinIO through the real shim (issue 18, item 2): a customer can
neither create a bucket with Object Lock nor put retention or legal holds, a product policy allowing them is refused
naming the action, and Terminate of an account holding versions locked before the fix (made here as MinIO's root
user) deletes everything else, says what is left and until when, and leaves the account disabled."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from minio import Minio, MinioAdmin
from minio.commonconfig import COMPLIANCE, GOVERNANCE
from minio.credentials.providers import StaticProvider
from minio.retention import Retention

from rig.services import MinIO
from tests.conftest import Daemon
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture
def new_service(daemon: Daemon, minio: MinIO) -> Callable[..., Service]:
    def make(**kw: Any) -> Service:
        return Service(minio=minio, url=daemon.url, secret=daemon.secret, **kw)

    return make


@pytest.fixture(scope="module")
def root_s3(minio: MinIO) -> Minio:
    return Minio(minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False)


@pytest.fixture(scope="module")
def admin(minio: MinIO) -> MinioAdmin:
    return MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )


def refused(fn: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as e:
        fn()
    return str(e.value.response["Error"]["Code"])


def test_a_customer_can_neither_create_a_locked_bucket_nor_lock_an_object(
    new_service: Callable[..., Service], root_s3: Minio
) -> None:
    svc = new_service()
    assert svc.call("CreateAccount").returned == "success"
    s3 = svc.s3()
    assert refused(lambda: s3.create_bucket(Bucket=f"{svc.username}--vault", ObjectLockEnabledForBucket=True)) == (
        "AccessDenied"
    )
    vault = f"{svc.username}--granted"  # a locked bucket in the customer's namespace (made by the provider)
    root_s3.make_bucket(vault, object_lock=True)
    s3.put_object(Bucket=vault, Key="doc", Body=b"x")  # plain writes still work
    until = datetime.now(UTC) + timedelta(days=3650)
    attempts = {
        "retention": lambda: s3.put_object_retention(
            Bucket=vault, Key="doc", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until}
        ),
        "legal hold": lambda: s3.put_object_legal_hold(Bucket=vault, Key="doc", LegalHold={"Status": "ON"}),
        "lock on upload": lambda: s3.put_object(
            Bucket=vault, Key="locked", Body=b"y", ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until
        ),
        "bucket default": lambda: s3.put_object_lock_configuration(
            Bucket=vault,
            ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled",
                "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 10}},
            },
        ),
    }
    for what, attempt in attempts.items():
        assert refused(attempt) == "AccessDenied", what


def test_a_product_policy_allowing_object_lock_is_refused_naming_the_action(
    new_service: Callable[..., Service],
) -> None:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::<USER_ID>--*"]},
            {"Effect": "Allow", "Action": ["s3:PutObjectRetention"], "Resource": ["arn:aws:s3:::<USER_ID>--*"]},
        ],
    }
    svc = new_service(options={8: json.dumps(policy)})
    answer = svc.call("CreateAccount").returned
    assert "s3:PutObjectRetention" in answer, answer
    assert "Raw standard policy" in answer, answer
    assert "statement 2" in answer, answer


def test_terminate_with_locked_versions_says_until_when_and_leaves_the_account_disabled(
    new_service: Callable[..., Service], root_s3: Minio, admin: MinioAdmin
) -> None:
    svc = new_service()
    assert svc.call("CreateAccount").returned == "success"
    vault, plain = f"{svc.username}--vault", f"{svc.username}--plain"
    root_s3.make_bucket(vault, object_lock=True)  # as if the customer had made it before policies denied it
    svc.s3().create_bucket(Bucket=plain)
    svc.s3().put_object(Bucket=plain, Key="free", Body=b"x")
    until = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    compliance = root_s3.put_object(vault, "forever", io.BytesIO(b"c"), 1, retention=Retention(COMPLIANCE, until))
    root_s3.put_object(vault, "governed", io.BytesIO(b"g"), 1, retention=Retention(GOVERNANCE, until))
    root_s3.put_object(vault, "held", io.BytesIO(b"h"), 1, legal_hold=True)
    svc.s3().put_object(Bucket=vault, Key="unlocked", Body=b"u")

    answer = svc.call("TerminateAccount").returned
    assert f"1 object version(s) in bucket(s) '{vault}'" in answer, answer
    assert f"COMPLIANCE retention (S3 Object Lock) until {until:%Y-%m-%d %H:%M} UTC" in answer, answer
    assert "is disabled" in answer, answer
    left = [(o.object_name, o.version_id) for o in root_s3.list_objects(vault, recursive=True, include_version=True)]
    assert left == [("forever", compliance.version_id)], left  # governance bypassed, legal hold lifted, rest deleted
    assert not root_s3.bucket_exists(plain)
    assert json.loads(admin.user_info(svc.username))["status"] == "disabled"
    assert refused(lambda: svc.s3().list_objects_v2(Bucket=vault)) in ("AccessDenied", "InvalidAccessKeyId")

    tab = json.dumps(svc.call("AdminServicesTabFields").returned)
    assert "Terminate could not finish" in tab, tab
    assert "retained" in tab
    assert until.strftime("%Y-%m-%d %H:%M") in tab

    unsuspend = svc.call("UnsuspendAccount").returned  # nothing turns the keys back on
    assert "Object Lock retention" in unsuspend, unsuspend
    assert json.loads(admin.user_info(svc.username))["status"] == "disabled"
    again = svc.call("TerminateAccount").returned  # run again: the same sentence, not a refusal to delete
    assert f"COMPLIANCE retention (S3 Object Lock) until {until:%Y-%m-%d %H:%M} UTC" in again, again
