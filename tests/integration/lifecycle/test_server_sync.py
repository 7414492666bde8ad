"""ListAccounts for WHMCS's Server Sync Tool, through the real shim in the stand-in (which passes the server's params
only, as the tool does) against real MinIO and the ostor emulator: WHMCS's documented account fields (email,
username, domain, uniqueIdentifier, product, primaryip, created as Y-m-d H:i:s, status Status::ACTIVE or
Status::SUSPENDED) and MetaData keys."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.services import MariaDB, MinIO
from rig.shim import run_shim
from tests.support.ostor_gateway import Gateway
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
FIELDS = {"email", "username", "domain", "uniqueIdentifier", "product", "primaryip", "created", "status"}
WHMCS_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.stop()


def listed(svc: Service) -> dict[str, Any]:
    r = run_shim("ListAccounts", svc.server_params(), url=svc.url, secret=svc.secret)
    assert isinstance(r.returned, dict), r.returned
    return r.returned


def check_shape(returned: dict[str, Any]) -> dict[str, dict[str, str]]:
    assert returned["success"] is True, returned
    rows = returned["accounts"]
    for row in rows:
        assert set(row) == FIELDS, row
        assert all(isinstance(v, str) for v in row.values()), row
        assert WHMCS_TIME.match(row["created"]), row
        assert row["status"] in ("Active", "Suspended"), row
        assert row["uniqueIdentifier"] == row["username"]
    return {row["username"]: row for row in rows}


def test_metadata_names_the_unique_identifier_and_the_product_field(daemon, minio: MinIO) -> None:
    meta = Service(minio, daemon.url, daemon.secret).call("MetaData").returned
    assert meta["ListAccountsUniqueIdentifierField"] == "username"
    assert meta["ListAccountsUniqueIdentifierDisplayName"] == "Username"
    assert meta["ListAccountsProductField"] == "configoption1"


def test_minio_accounts_are_listed_with_whmcs_fields_and_statuses_and_foreign_users_are_not(
    daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    serverid = next_id()
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
    services = []
    for _ in range(2):
        s = Service(minio, daemon.url, daemon.secret, serverid=serverid)
        s.register(mariadb, whmcs_db)
        assert s.call("CreateAccount").returned == "success"
        services.append(s)
    active, suspended = services
    assert suspended.call("SuspendAccount").returned == "success"
    stranger = f"admins-own-{next_id()}"
    admin.user_add(stranger, "a-long-enough-secret-1")  # the server admin's own user: no s3bridge policy, no record
    orphan = f"left-{next_id()}"
    admin.user_add(orphan, "a-long-enough-secret-2")
    admin.policy_add(f"s3bridge-{orphan}", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{orphan}--*"]}]})  # fmt: skip
    admin.policy_set(f"s3bridge-{orphan}", user=orphan)

    rows = check_shape(listed(active))
    a = rows[active.username]
    assert a["email"] == f"c{active.clientid}@example.com"
    assert (a["product"], a["primaryip"], a["status"]) == ("minio", "127.0.0.1", "Active")
    assert rows[suspended.username]["status"] == "Suspended"
    assert stranger not in rows
    assert rows[orphan]["email"] == ""  # a bridge-made account no service holds: offered for import
    assert json.loads(admin.user_info(active.username))["status"] == "enabled"  # listing changed nothing


def test_ostor_accounts_are_listed_by_the_access_key_whmcs_holds(
    daemon, gateway: Gateway, mariadb: MariaDB, whmcs_db: str
) -> None:
    s = Service(gateway, daemon.url, daemon.secret, serverid=next_id(), accesshash="backend=ostor",  # type: ignore[arg-type]
                options={1: "ostor"})  # fmt: skip
    s.register(mariadb, whmcs_db)
    assert s.call("CreateAccount").returned == "success"
    rows = check_shape(listed(s))
    assert set(rows) == {s.username}  # the access key WHMCS stored as the service's username
    assert rows[s.username]["product"] == "ostor"
    assert rows[s.username]["status"] == "Active"


def test_an_unreachable_daemon_is_an_error_whmcs_shows(daemon, minio: MinIO) -> None:
    s = Service(minio, "http://127.0.0.1:9", daemon.secret)
    r = run_shim("ListAccounts", s.server_params(), url=s.url, secret=s.secret)
    assert r.returned["success"] is False
    assert "s3bridge daemon unreachable at 127.0.0.1:9" in r.returned["error"]
