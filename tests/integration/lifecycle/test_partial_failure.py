"""MinIO stops half-way through CreateAccount (right after the user exists): the call reports a clear error, and
the retry completes the same account without duplicates; nothing exists that the records do not know about."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.services import MariaDB, MinIO, free_port, scratch_dir
from tests.support.tcp_proxy import TriggerProxy
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture
def fragile_minio() -> Iterator[MinIO]:
    server = MinIO(root=scratch_dir("minio-fragile"), port=free_port(), console_port=free_port())
    server.start()
    yield server
    server.stop()


def test_minio_stopping_after_the_user_exists_fails_clearly_and_the_retry_completes(
    daemon, fragile_minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    proxy = TriggerProxy(fragile_minio.port, b"/minio/admin/v3/add-user", fragile_minio.stop)
    try:
        svc = Service(fragile_minio, daemon.url, daemon.secret, options={12: "on"})
        svc.params = _through(svc.params, proxy.port)  # type: ignore[method-assign]
        proxy.armed = True
        first = svc.call("CreateAccount")
        assert proxy.fired.is_set(), first.returned  # the call reached add-user (say what it got if not)
        assert first.returned.startswith(f"MinIO at 127.0.0.1:{proxy.port}")
        assert "unreachable" in first.returned
        assert svc.username == ""  # WHMCS was told nothing

        conn = mariadb.connect(whmcs_db)
        with conn.cursor() as cur:
            cur.execute("SELECT username, state FROM mod_s3bridge_services WHERE serviceid = %s", (svc.serviceid,))
            rec = cur.fetchone()
        assert rec == {"username": f"{svc.clientid}-{svc.serviceid}", "state": "creating"}  # the record knows

        fragile_minio.start()
        admin = MinioAdmin(
            endpoint=fragile_minio.endpoint,
            secure=False,
            credentials=StaticProvider(fragile_minio.access_key, fragile_minio.secret_key),
        )
        assert rec["username"] in json.loads(admin.user_list())  # the half-made account: the user exists

        retry = svc.call("CreateAccount")
        assert retry.returned == "success"
        assert svc.username == rec["username"]
        svc.s3().put_object(Bucket=f"{svc.username}--data", Key="k", Body=b"v")
        assert list(json.loads(admin.user_list())) == [svc.username]
        assert {p for p in json.loads(admin.policy_list()) if p.startswith("s3bridge-")} == {
            f"s3bridge-{svc.username}",
            f"s3bridge-{svc.username}-limited",
        }
        root = Minio(fragile_minio.endpoint, fragile_minio.access_key, fragile_minio.secret_key, secure=False)
        assert [b.name for b in root.list_buckets()] == [f"{svc.username}--data"]
        with conn.cursor() as cur:
            cur.execute("SELECT state FROM mod_s3bridge_services WHERE serviceid = %s", (svc.serviceid,))
            assert cur.fetchone() == {"state": "active"}
    finally:
        proxy.close()


def _through(params_fn, port: int):
    def params(**extra):
        return params_fn(**{"serverport": port, **extra})

    return params
