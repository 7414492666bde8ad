"""Buckets already in a new service's namespace (left over, or made by an admin) are never handed over silently:
CreateAccount refuses naming them; the admin's 'Adopt Existing Buckets' button creates the account with them."""

from __future__ import annotations

import io
import json

import pytest
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.services import MariaDB, MinIO
from tests.conftest import Daemon
from tests.support.daemons import call
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.mariadb, pytest.mark.php]


def test_create_refuses_buckets_already_in_the_namespace_and_the_admin_can_adopt_them(
    daemon: Daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    svc = Service(minio, daemon.url, daemon.secret, options={12: "on"})
    svc.register(mariadb, whmcs_db)
    username = f"{svc.clientid}-{svc.serviceid}"
    root = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    for bucket in (f"{username}--old-photos", f"{username}--backup"):
        root.make_bucket(bucket)
    root.put_object(f"{username}--old-photos", "cat.jpg", io.BytesIO(b"meow"), 4)

    refused = svc.call("CreateAccount")  # through the real shim, as WHMCS runs it
    assert refused.returned == (
        f"buckets already exist in the namespace of '{username}' on 127.0.0.1:{minio.port}:"
        f" {username}--backup, {username}--old-photos. They belong to no service, so CreateAccount will not hand"
        f" them to service {svc.serviceid}: remove them, or use the admin button 'Adopt Existing Buckets' to create"
        " the account with them"
    )
    admin = MinioAdmin(
        endpoint=minio.endpoint, secure=False, credentials=StaticProvider(minio.access_key, minio.secret_key)
    )
    assert username not in json.loads(admin.user_list())  # nothing half-made
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM mod_s3bridge_services WHERE serviceid = %s", (svc.serviceid,))
        assert cur.fetchone() is None

    as_client = call(daemon, "AdoptBuckets", svc.params(bridge_client_id=svc.clientid))
    assert as_client.status == 403
    assert as_client.body["error"]["code"] == "admin_only"

    adopted = svc.call("AdoptBuckets", session={"adminid": 1})  # the admin button, through the real shim
    assert adopted.returned == "success"
    assert svc.username == username
    assert svc.s3().get_object(Bucket=f"{username}--old-photos", Key="cat.jpg")["Body"].read() == b"meow"
    with conn.cursor() as cur:
        cur.execute(
            "SELECT outcome, detail FROM mod_s3bridge_audit WHERE action = 'AdoptBuckets' AND serviceid = %s",
            (svc.serviceid,),
        )
        assert list(cur.fetchall()) == [
            {
                "outcome": "adopted",
                "detail": f"'{username}' takes 2 existing bucket(s): {username}--backup, {username}--old-photos",
            }
        ]
    conn.close()
    assert svc.call("CreateAccount").returned == "success"  # the account is this service's now: no refusal
