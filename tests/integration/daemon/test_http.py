"""The daemon's HTTP layer in-process (the same app factory as `serve`): health, errors, the signed channel."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bridge.app import create_app
from bridge.config import Config
from bridge.web.signing import signed_headers
from rig.services import MariaDB

pytestmark = pytest.mark.mariadb


def signed(secret: str, path: str, body: bytes, *, ts: int | None = None, nonce: str | None = None) -> dict[str, str]:
    timestamp = ts if ts is not None else int(time.time())
    return signed_headers(secret, path, body, timestamp=timestamp, nonce=nonce or secrets.token_hex(16))


@pytest.fixture
async def client(aiohttp_client: Any, config: Config) -> TestClient[Any, Any]:
    made: TestClient[Any, Any] = await aiohttp_client(create_app(config))
    return made


async def post(
    client: TestClient[Any, Any], path: str, body: bytes, secret: str, **kw: Any
) -> tuple[int, dict[str, Any]]:
    r = await client.post(path, data=body, headers=signed(secret, path, body, **kw))
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.headers.get("X-Request-Id")
    return r.status, await r.json()


async def test_healthz_answers_alive(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/healthz")
    assert r.status == 200
    assert (await r.json())["status"] == "alive"


async def test_readyz_is_ready_when_the_database_answers(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/readyz")
    assert r.status == 200, await r.text()


async def test_readyz_is_503_naming_the_database_when_it_is_down(aiohttp_client: Any, config: Config) -> None:
    from dataclasses import replace

    broken = replace(config, whmcs_db=replace(config.whmcs_db, port=1, connect_timeout=1))
    c = await aiohttp_client(create_app(broken))
    r = await c.get("/readyz")
    body = await r.json()
    assert r.status == 503
    assert body["error"]["code"] == "database_unavailable"
    assert "127.0.0.1:1" in body["error"]["message"]
    assert config.whmcs_db.password not in json.dumps(body)


async def test_unknown_function_is_404_json(client: TestClient[Any, Any], config: Config) -> None:
    status, body = await post(client, "/v1/module/NoSuchThing", b'{"params":{}}', config.daemon.secrets[0])
    assert status == 404
    assert body["error"]["code"] == "unknown_function"
    assert "NoSuchThing" in body["error"]["message"]


async def test_unknown_route_is_404_json_not_html(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.get("/nope")
    assert r.status == 404
    assert (await r.json())["ok"] is False


@pytest.mark.parametrize(
    ("body", "code", "names"),
    [
        (b"{not json", "bad_json", "not valid JSON"),
        (b"[1,2]", "bad_json", "JSON object"),
        (b"{}", "missing_param", "'params'"),
        (b'{"params": {"serverusername": "x"}}', "missing_param", "'serverpassword'"),
        (b'{"params": {"serverusername": "x", "serverpassword": "y"}}', "missing_param", "'serverhostname'"),
        (
            b'{"params": {"serverusername": "x", "serverpassword": "y", "serverhostname": "h", "serverport": "abc"}}',
            "bad_param",
            "'serverport'",
        ),
    ],
)
async def test_malformed_requests_are_400_naming_the_field(
    client: TestClient[Any, Any],
    config: Config,
    body: bytes,
    code: str,
    names: str,
) -> None:
    status, answer = await post(client, "/v1/module/TestConnection", body, config.daemon.secrets[0])
    assert status == 400
    assert answer["error"]["code"] == code
    assert names in answer["error"]["message"]


async def test_bad_signature_is_401_and_audited(
    client: TestClient[Any, Any],
    config: Config,
    mariadb: MariaDB,
    whmcs_db: str,
) -> None:
    r = await client.post(
        "/v1/module/TestConnection",
        data=b'{"params":{}}',
        headers=signed("not-the-daemon-secret-at-all", "/v1/module/TestConnection", b'{"params":{}}'),
    )
    body = await r.json()
    assert r.status == 401
    assert body["error"]["code"] == "bad_signature"
    assert "Traceback" not in json.dumps(body)
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT action, outcome, detail FROM mod_s3bridge_audit WHERE request_id = %s", (r.headers["X-Request-Id"],)
        )
        rows = cur.fetchall()
    assert list(rows) == [
        {
            "action": "auth:TestConnection",
            "outcome": "refused",
            "detail": "bad_signature: signature does not match any configured secret",
        }
    ]


async def test_stale_timestamp_is_401(client: TestClient[Any, Any], config: Config) -> None:
    status, body = await post(
        client, "/v1/module/TestConnection", b'{"params":{}}', config.daemon.secrets[0], ts=int(time.time()) - 301
    )
    assert status == 401
    assert body["error"]["code"] == "stale_timestamp"


async def test_replayed_request_is_401(client: TestClient[Any, Any], config: Config) -> None:
    path, body = "/v1/module/NoSuchThing", b'{"params":{}}'
    headers = signed(config.daemon.secrets[0], path, body)
    first = await client.post(path, data=body, headers=headers)
    assert first.status == 404  # authentic: reaches the function lookup
    again = await client.post(path, data=body, headers=headers)
    assert again.status == 401
    assert (await again.json())["error"]["code"] == "replayed_nonce"


async def test_unsigned_request_is_401(client: TestClient) -> None:  # type: ignore[type-arg]
    r = await client.post("/v1/module/TestConnection", data=b'{"params":{}}')
    assert r.status == 401
    assert (await r.json())["error"]["code"] == "missing_auth"
