"""Continuation tokens for `get_files` (pure): S3's own token, wrapped and signed so it only continues the listing
it came from.

A client could otherwise hand back a `continuation_token` of another listing, or craft one (MinIO's tokens are
base64 of the next key): the wrapper binds it to the service, bucket, folder and search, expires after an hour,
and is signed with HMAC-SHA256 under a key derived from the daemon's secret (every configured secret verifies, so a
rotation does not break open pages). The clock is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bridge.domain.panel.envelope import PanelError

VERSION = "c1"
LIFETIME_S = 3600
_CONTEXT = b"s3bridge panel continuation token v1"


@dataclass(frozen=True)
class Listing:
    """What a page continues: the service, the bucket, the folder and the search."""

    serviceid: int
    bucket: str
    prefix: str
    search: str
    mode: str


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _fields(listing: Listing) -> list[Any]:
    return [listing.serviceid, listing.bucket, listing.prefix, listing.search, listing.mode]


def sign(listing: Listing, position: str, *, secret: str, now: float) -> str:
    """A token for the page after `position` (S3's continuation token, or the last key seen)."""
    payload = json.dumps([*_fields(listing), position, int(now) + LIFETIME_S], separators=(",", ":")).encode()
    mac = hmac.new(_key(secret), VERSION.encode() + b"." + payload, hashlib.sha256).digest()
    return f"{VERSION}.{_b64(payload)}.{_b64(mac)}"


def open_token(token: str, listing: Listing, *, secrets: Sequence[str], now: float) -> str:
    """The position inside a token this daemon signed for this very listing; PanelError otherwise."""
    bad = PanelError("continuation_token is not valid for this listing; start again from the first page",
                     {"parameter": "continuation_token"})  # fmt: skip
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != VERSION:
        raise bad
    try:
        payload, mac = _unb64(parts[1]), _unb64(parts[2])
    except ValueError:
        raise bad from None
    signed = VERSION.encode() + b"." + payload
    if not any(hmac.compare_digest(hmac.new(_key(s), signed, hashlib.sha256).digest(), mac) for s in secrets):
        raise bad
    try:
        data = json.loads(payload)
    except ValueError:
        raise bad from None
    if not isinstance(data, list) or len(data) != 7 or data[:5] != _fields(listing):
        raise bad
    position, expires = data[5], data[6]
    if not isinstance(position, str) or not isinstance(expires, int):
        raise bad
    if now > expires:
        raise PanelError("continuation_token has expired; start again from the first page",
                         {"parameter": "continuation_token"})  # fmt: skip
    return position
