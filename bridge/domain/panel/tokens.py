"""Bearer tokens of the panel API (pure): their format, and what is stored of them.

A token reads `s3b_<kind>_<id>_<secret>`: kind `c` (a client's, made in the client area) or `a` (an admin's, made by
`s3bridge token create --admin`), a public id of 12 hex digits (the row to look up) and 32 random bytes in
base64url. Only SHA-256 of the secret is stored: the secret has 256 bits of entropy, so a fast hash suffices (no
password stretching needed) and a stolen table holds nothing usable. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from bridge.domain.secret import Secret

TokenKind = Literal["client", "admin"]
PREFIX = "s3b"
_KIND_CHAR: dict[TokenKind, str] = {"client": "c", "admin": "a"}
_FORMAT = re.compile(r"^s3b_([ca])_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class NewToken:
    """A freshly made token: `plain` is shown once and never stored; `token_id` and `secret_hash` are stored."""

    kind: TokenKind
    token_id: str
    plain: Secret
    secret_hash: str


@dataclass(frozen=True)
class PresentedToken:
    kind: TokenKind
    token_id: str
    secret: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def new_token(kind: TokenKind, *, token_bytes: int = 32) -> NewToken:
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(token_bytes)
    plain = Secret(f"{PREFIX}_{_KIND_CHAR[kind]}_{token_id}_{secret}")
    return NewToken(kind, token_id, plain, hash_secret(secret))


def parse_token(text: str) -> PresentedToken | None:
    """The parts of a well-formed token, or None (the caller refuses it without saying more)."""
    m = _FORMAT.match(text.strip())
    if not m:
        return None
    kind: TokenKind = "client" if m.group(1) == "c" else "admin"
    return PresentedToken(kind, m.group(2), m.group(3))


def matches(presented: PresentedToken, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(presented.secret), stored_hash)


def bearer(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, value = header.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
