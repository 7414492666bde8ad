"""The request signature (docs/PROTOCOL.md): known vector, and every refusal case of the verifier."""

from __future__ import annotations

import json
from typing import TypedDict

import pytest

from bridge.errors import AuthError
from bridge.web.signing import (
    HEADER_NONCE,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    RequestVerifier,
    sign,
    signed_call,
    signed_headers,
)


class Vector(TypedDict):
    secret: str
    method: str
    path: str
    timestamp: str
    nonce: str
    body: bytes
    expected: str


VECTOR: Vector = {
    "secret": "s3cr3t-vector",
    "method": "POST",
    "path": "/v1/module/TestConnection",
    "timestamp": "1700000000",
    "nonce": "00112233445566778899aabbccddeeff",
    "body": b'{"params":{}}',
    "expected": "bae3f44edbb4c2d6f6b8def975c038a91129aa9f1a29464f06b69ddb4fd34c49",
}
NOW = 1_700_000_000.0
SECRET = "first-secret-0123456789"
OLD_SECRET = "older-secret-9876543210"


def headers(
    secret: str = SECRET,
    ts: float = NOW,
    nonce: str = "ab" * 16,
    body: bytes = b"{}",
    path: str = "/v1/module/TestConnection",
) -> dict[str, str]:
    return signed_headers(secret, path, body, timestamp=int(ts), nonce=nonce)


class SeenNonces:
    """The verifier's nonce store in memory (the daemon's is the WHMCS database:
    tests/integration/daemon/test_shared_state.py)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    async def first_use(self, nonce: str, now: float) -> bool:
        if nonce in self.seen:
            return False
        self.seen.add(nonce)
        return True


def verifier(now: float = NOW) -> RequestVerifier:
    return RequestVerifier(secrets=[SECRET, OLD_SECRET], clock=lambda: now, nonces=SeenNonces())


def test_signature_matches_the_published_vector() -> None:
    v = VECTOR
    got = sign(v["secret"], v["method"], v["path"], v["timestamp"], v["nonce"], v["body"])
    assert got == VECTOR["expected"]


async def test_fresh_request_signed_with_current_secret_is_accepted() -> None:
    await verifier().verify("POST", "/v1/module/TestConnection", headers(), b"{}")


async def test_a_signed_module_call_posts_its_params_to_the_functions_path_and_is_accepted() -> None:
    call = signed_call(SECRET, "TestConnection", {"serverid": 7}, timestamp=int(NOW), nonce="cd" * 16)
    assert (call.path, json.loads(call.body)) == ("/v1/module/TestConnection", {"params": {"serverid": 7}})
    assert call.headers["Content-Type"] == "application/json"
    await verifier().verify("POST", call.path, call.headers, call.body)
    with pytest.raises(AuthError, match="signature does not match"):
        await verifier().verify("POST", "/v1/module/CreateAccount", call.headers, call.body)


async def test_request_signed_with_an_older_listed_secret_is_accepted_for_rotation() -> None:
    await verifier().verify("POST", "/v1/module/TestConnection", headers(secret=OLD_SECRET), b"{}")


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda h: h.pop(HEADER_SIGNATURE), "missing_auth"),
        (lambda h: h.pop(HEADER_NONCE), "missing_auth"),
        (lambda h: h.update({HEADER_SIGNATURE: "0" * 64}), "bad_signature"),
        (lambda h: h.update({HEADER_SIGNATURE: "zz"}), "bad_signature"),
        (lambda h: h.update({HEADER_NONCE: "short"}), "bad_nonce"),
        (lambda h: h.update({HEADER_TIMESTAMP: "yesterday"}), "bad_timestamp"),
    ],
)
async def test_malformed_or_missing_headers_are_refused(mutate, code) -> None:
    h = headers()
    mutate(h)
    with pytest.raises(AuthError) as e:
        await verifier().verify("POST", "/v1/module/TestConnection", h, b"{}")
    assert e.value.code == code


async def test_unknown_secret_is_refused() -> None:
    with pytest.raises(AuthError) as e:
        await verifier().verify("POST", "/v1/module/TestConnection", headers(secret="not-a-configured-secret"), b"{}")
    assert e.value.code == "bad_signature"


async def test_tampered_body_path_or_method_is_refused() -> None:
    h = headers(body=b'{"params":{"a":1}}')
    for method, path, body in [
        ("POST", "/v1/module/TestConnection", b'{"params":{"a":2}}'),
        ("POST", "/v1/module/TerminateAccount", b'{"params":{"a":1}}'),
        ("PUT", "/v1/module/TestConnection", b'{"params":{"a":1}}'),
    ]:
        with pytest.raises(AuthError):
            await verifier().verify(method, path, dict(h), body)


@pytest.mark.parametrize("offset", [301, -301, 86400])
async def test_timestamp_outside_the_300_second_window_is_refused(offset: int) -> None:
    with pytest.raises(AuthError) as e:
        await verifier(now=NOW + offset).verify("POST", "/v1/module/TestConnection", headers(), b"{}")
    assert e.value.code == "stale_timestamp"


async def test_timestamp_at_the_edge_of_the_window_is_accepted() -> None:
    await verifier(now=NOW + 300).verify("POST", "/v1/module/TestConnection", headers(), b"{}")


async def test_replayed_nonce_is_refused_inside_the_window() -> None:
    v = verifier()
    await v.verify("POST", "/v1/module/TestConnection", headers(), b"{}")
    with pytest.raises(AuthError) as e:
        await v.verify("POST", "/v1/module/TestConnection", headers(), b"{}")
    assert e.value.code == "replayed_nonce"


async def test_forged_requests_do_not_consume_nonces() -> None:
    v = verifier()
    forged = headers(secret="wrong-secret-000000000")
    with pytest.raises(AuthError):
        await v.verify("POST", "/v1/module/TestConnection", forged, b"{}")
    await v.verify("POST", "/v1/module/TestConnection", headers(), b"{}")  # same nonce, real signature: accepted
