"""TestConnection end to end: the real PHP shim -> the real daemon -> real MinIO, every outcome an admin meets."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.services import MinIO, free_port, scratch_dir
from tests.conftest import CANARY_HMAC, server_params

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


def test_success_on_a_healthy_server_with_admin_rights(shim, minio: MinIO) -> None:
    r = shim("TestConnection", server_params(minio))
    assert r.returned == {"success": True, "error": ""}
    assert r.module_log[0]["action"] == "testconnection"


def test_wrong_secret_key_is_reported_as_rejected_credentials(shim, minio: MinIO) -> None:
    r = shim("TestConnection", server_params(minio, serverpassword="definitely-wrong-secret"))
    assert r.returned["success"] is False
    assert "rejected the access key or secret key" in r.returned["error"]
    assert f"127.0.0.1:{minio.port}" in r.returned["error"]


def test_unknown_access_key_is_reported_as_rejected_credentials(shim, minio: MinIO) -> None:
    r = shim("TestConnection", server_params(minio, serverusername="nosuchuser"))
    assert r.returned["success"] is False
    assert "rejected the access key or secret key (InvalidAccessKeyId)" in r.returned["error"]


@pytest.fixture(scope="module")
def plain_user(minio: MinIO) -> tuple[str, str]:
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
    admin.user_add("plainuser", "plainuser-secret-123")
    admin.policy_set("readonly", user="plainuser")
    return "plainuser", "plainuser-secret-123"


def test_credentials_without_admin_rights_are_reported_as_such(shim, minio: MinIO, plain_user) -> None:
    r = shim("TestConnection", server_params(minio, serverusername=plain_user[0], serverpassword=plain_user[1]))
    assert r.returned["success"] is False
    assert "valid but not allowed" in r.returned["error"]
    assert "consoleAdmin" in r.returned["error"]


def test_server_down_is_reported_as_unreachable(shim, minio: MinIO) -> None:
    r = shim("TestConnection", server_params(minio, serverport=free_port()))
    assert r.returned["success"] is False
    assert "is unreachable: connection refused" in r.returned["error"]


def test_tls_to_a_plain_http_port_is_reported_as_a_tls_failure(shim, minio: MinIO) -> None:
    r = shim("TestConnection", server_params(minio, serversecure="on"))
    assert r.returned["success"] is False
    assert "TLS handshake with MinIO" in r.returned["error"]
    assert "does not speak TLS on that port" in r.returned["error"]


@pytest.fixture(scope="module")
def tls_minio() -> Iterator[MinIO]:
    """A second real MinIO serving HTTPS with a self-signed certificate nobody trusts."""
    root = scratch_dir("minio-tls")
    certs = root / "certs"
    certs.mkdir()
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(certs / "private.key"),
            "-out",
            str(certs / "public.crt"),
        ],
        check=True,
        capture_output=True,
    )
    server = MinIO(root=root, port=free_port(), console_port=free_port(), certs_dir=certs)
    server.start()
    yield server
    server.stop()


def test_untrusted_certificate_is_reported_as_a_tls_failure(shim, tls_minio: MinIO) -> None:
    r = shim("TestConnection", server_params(tls_minio, serversecure="on"))
    assert r.returned["success"] is False
    assert "server certificate is not trusted" in r.returned["error"]


def test_daemon_down_is_reported_with_its_address(minio: MinIO) -> None:
    from rig.shim import run_shim

    port = free_port()
    r = run_shim("TestConnection", server_params(minio), url=f"http://127.0.0.1:{port}", secret=CANARY_HMAC)
    assert r.returned == {
        "success": False,
        "error": f"s3bridge daemon unreachable at 127.0.0.1:{port}: connection refused",
    }


def test_daemon_refusing_the_signature_is_reported_with_what_to_check(shim, minio: MinIO) -> None:
    r = shim("TestConnection", server_params(minio), secret="a-secret-the-daemon-does-not-know")
    assert r.returned["success"] is False
    assert "refused the request signature" in r.returned["error"]
    assert "S3BRIDGE_SECRET" in r.returned["error"]


def test_unconfigured_shim_says_how_to_configure_it(minio: MinIO, tmp_path: Path) -> None:
    from rig.shim import run_shim

    r = run_shim("TestConnection", server_params(minio), url="", secret="")
    assert r.returned["success"] is False
    assert "s3bridge is not configured" in r.returned["error"]
    assert "S3BRIDGE_URL" in r.returned["error"]


def test_canary_secrets_appear_in_no_log_module_log_or_message(shim, daemon, minio: MinIO) -> None:
    canary_server_pw = "canary-serverpass-51ab07"
    canary_hash = "canary-accesshash-93cd11"
    results = [
        shim("TestConnection", server_params(minio, serveraccesshash=canary_hash)),
        shim("TestConnection", server_params(minio, serverpassword=canary_server_pw, serveraccesshash=canary_hash)),
        shim("TestConnection", server_params(minio, serverpassword=canary_server_pw), secret="wrong-secret-1234567"),
        shim(
            "TestConnection",
            {
                "serverhostname": f"bad host {canary_server_pw}",
                "serverusername": "x",
                "serverpassword": canary_server_pw,
            },
        ),
    ]
    log = daemon.log_text()
    for canary in (canary_server_pw, canary_hash, CANARY_HMAC, minio.secret_key, "canary-dbpass"):
        assert canary not in log, f"{canary} leaked into the daemon log"
        for r in results:
            assert canary not in json.dumps(r.returned)
            for entry in r.module_log:
                assert canary not in json.dumps(entry["masked"]), f"{canary} leaked into the module log"
    assert '"function": "TestConnection"' in log  # the log is really there and has the calls
