"""The shim -> daemon request signature (docs/PROTOCOL.md): pure functions, the clock passed in."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bridge.errors import AuthError

SCHEME = "S3BRIDGE-HMAC-SHA256"
WINDOW_SECONDS = 300
HEADER_TIMESTAMP = "X-S3Bridge-Timestamp"
HEADER_NONCE = "X-S3Bridge-Nonce"
HEADER_SIGNATURE = "X-S3Bridge-Signature"

_NONCE = re.compile(r"^[0-9a-f]{32}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")


def canonical_string(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    return "\n".join([SCHEME, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = canonical_string(method, path, timestamp, nonce, body).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(secret: str, path: str, body: bytes, *, timestamp: int, nonce: str) -> dict[str, str]:
    """The headers of a signed JSON POST of `body` to `path`, as the shim sends them (nonce: 32 lowercase hex)."""
    ts = str(timestamp)
    return {
        "Content-Type": "application/json",
        HEADER_TIMESTAMP: ts,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: sign(secret, "POST", path, ts, nonce, body),
    }


@dataclass(frozen=True)
class SignedCall:
    """A module call ready to send: POST `body` to `path` with `headers`."""

    path: str
    body: bytes
    headers: dict[str, str]


def signed_call(secret: str, function: str, params: dict[str, Any], *, timestamp: int, nonce: str) -> SignedCall:
    """The shim's module call of `function` with `params` (docs/PROTOCOL.md), signed with `secret`."""
    body = json.dumps({"params": params}).encode()
    path = f"/v1/module/{function}"
    return SignedCall(path, body, signed_headers(secret, path, body, timestamp=timestamp, nonce=nonce))


def signature_matches(secrets: Sequence[str], signature: str, *parts: str | bytes) -> bool:
    """True if any secret produced `signature`. Every secret is tried, each compared in constant time."""
    method, path, timestamp, nonce, body = parts
    assert isinstance(body, bytes)
    matched = False
    for secret in secrets:
        expected = sign(secret, str(method), str(path), str(timestamp), str(nonce), body)
        matched |= hmac.compare_digest(expected, signature)
    return matched


class NonceStore(Protocol):
    """Where nonces seen inside the replay window are remembered (bridge.whmcs.nonce_store: the WHMCS database,
    shared by every daemon and kept across restarts)."""

    async def first_use(self, nonce: str, now: float) -> bool:
        """True the first time `nonce` is seen, False on any later call (from any daemon)."""
        ...


@dataclass
class RequestVerifier:
    secrets: Sequence[str]
    clock: Callable[[], float]
    nonces: NonceStore
    window: float = WINDOW_SECONDS

    async def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> None:
        """Raise AuthError naming the problem, or return if the request is authentic and fresh."""
        timestamp = headers.get(HEADER_TIMESTAMP, "")
        nonce = headers.get(HEADER_NONCE, "")
        signature = headers.get(HEADER_SIGNATURE, "")
        if not (timestamp and nonce and signature):
            missing = [
                h
                for h, v in ((HEADER_TIMESTAMP, timestamp), (HEADER_NONCE, nonce), (HEADER_SIGNATURE, signature))
                if not v
            ]
            raise AuthError(f"unsigned request: missing header {', '.join(missing)}", code="missing_auth")
        if not _TIMESTAMP.match(timestamp):
            raise AuthError(f"header {HEADER_TIMESTAMP} is not a Unix time in seconds", code="bad_timestamp")
        if not _NONCE.match(nonce):
            raise AuthError(f"header {HEADER_NONCE} must be 32 lowercase hex characters", code="bad_nonce")
        if not _SIGNATURE.match(signature):
            raise AuthError(f"header {HEADER_SIGNATURE} must be 64 lowercase hex characters")
        now = self.clock()
        skew = now - int(timestamp)
        if abs(skew) > self.window:
            raise AuthError(
                f"request timestamp is {abs(int(skew))} s {'old' if skew > 0 else 'in the future'};"
                f" the limit is {int(self.window)} s (check both clocks)",
                code="stale_timestamp",
            )
        if not signature_matches(self.secrets, signature, method, path, timestamp, nonce, body):
            raise AuthError("signature does not match any configured secret", code="bad_signature")
        # Record the nonce only for authentic requests, so forged requests cannot fill the cache.
        if not await self.nonces.first_use(nonce, now):
            raise AuthError("nonce already used inside the replay window (replayed request)", code="replayed_nonce")
