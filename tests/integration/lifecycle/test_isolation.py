"""Tenant isolation on real MinIO: no service can reach another's buckets or objects, or even see their names,
including when one username is a prefix of another (7-55 / 7-551, svc7 / svc75)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rig.services import MinIO
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture(scope="module")
def tenants(daemon, minio: MinIO) -> dict[str, Service]:
    """Four services whose usernames are prefixes of each other, each with data in its default bucket."""
    made = {
        "7-55": Service(minio, daemon.url, daemon.secret, serviceid=55, clientid=7, options={12: "on"}),
        "7-551": Service(minio, daemon.url, daemon.secret, serviceid=551, clientid=7, options={12: "on"}),
        "svc7": Service(minio, daemon.url, daemon.secret, serviceid=7, clientid=1007,
                        options={12: "on", 15: "svc{service_id}"}),
        "svc75": Service(minio, daemon.url, daemon.secret, serviceid=75, clientid=1007,
                         options={12: "on", 15: "svc{service_id}"}),
    }  # fmt: skip
    for name, svc in made.items():
        assert svc.call("CreateAccount").returned == "success"
        assert svc.username == name
        svc.s3().put_object(Bucket=f"{name}--data", Key="secret.txt", Body=name.encode())
    return made


PAIRS = [("7-55", "7-551"), ("7-551", "7-55"), ("svc7", "svc75"), ("svc75", "svc7"), ("7-55", "svc75")]


def refused(fn: Callable[[], Any]) -> None:
    with pytest.raises(ClientError) as e:
        fn()
    assert e.value.response["Error"]["Code"] in {"AccessDenied", "AllAccessDisabled"}


@pytest.mark.parametrize(("me", "other"), PAIRS)
def test_no_service_can_read_list_write_or_delete_another_services_objects(tenants, me: str, other: str) -> None:
    s3 = tenants[me].s3()
    bucket = f"{other}--data"
    refused(lambda: s3.get_object(Bucket=bucket, Key="secret.txt"))
    refused(lambda: s3.list_objects_v2(Bucket=bucket))
    refused(lambda: s3.put_object(Bucket=bucket, Key="intruder.txt", Body=b"x"))
    refused(lambda: s3.delete_object(Bucket=bucket, Key="secret.txt"))
    multi = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "secret.txt"}]})  # per-key errors
    assert not multi.get("Deleted")
    assert [e["Code"] for e in multi["Errors"]] == ["AccessDenied"]
    refused(lambda: s3.delete_bucket(Bucket=bucket))
    refused(lambda: s3.put_bucket_policy(Bucket=bucket, Policy="{}"))
    refused(
        lambda: s3.copy_object(Bucket=f"{me}--data", Key="stolen", CopySource={"Bucket": bucket, "Key": "secret.txt"})
    )
    owner = tenants[other].s3()
    assert owner.get_object(Bucket=bucket, Key="secret.txt")["Body"].read() == other.encode()


@pytest.mark.parametrize(("me", "other"), PAIRS)
def test_no_service_can_create_a_bucket_in_another_services_namespace(tenants, me: str, other: str) -> None:
    refused(lambda: tenants[me].s3().create_bucket(Bucket=f"{other}--mine-now"))


@pytest.mark.parametrize("me", ["7-55", "svc7"])
def test_a_service_can_create_buckets_only_under_its_own_prefix(tenants, me: str) -> None:
    s3 = tenants[me].s3()
    s3.create_bucket(Bucket=f"{me}--extra")
    for name in (f"{me}1--x", f"{me}-x", "unprefixed-bucket", f"{me}x"):
        refused(functools.partial(s3.create_bucket, Bucket=name))
    s3.delete_bucket(Bucket=f"{me}--extra")


@pytest.mark.parametrize("me", ["7-55", "7-551", "svc7", "svc75"])
def test_a_service_sees_only_its_own_bucket_names(tenants, me: str) -> None:
    names = [b["Name"] for b in tenants[me].s3().list_buckets()["Buckets"]]
    assert names == [f"{me}--data"]


def test_terminate_touches_only_what_the_service_owns(tenants, minio: MinIO) -> None:
    """Terminating 7-55 and svc7 leaves every bucket and object of 7-551 and svc75 intact."""
    for gone in ("7-55", "svc7"):
        assert tenants[gone].call("TerminateAccount").returned == "success"
    for kept in ("7-551", "svc75"):
        s3 = tenants[kept].s3()
        assert s3.get_object(Bucket=f"{kept}--data", Key="secret.txt")["Body"].read() == kept.encode()
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == [f"{kept}--data"]
