"""Sealing small secrets for storage at rest: AES-256-GCM (the `cryptography` package), keyed from the daemon's config.

Pure: no I/O (the nonce comes from `secrets`). The first key seals, every key opens (rotation, like `[daemon] secrets`).
Each sealed value is bound to a context (e.g. the service id), so a sealed value copied to another row does not open.
Keys come from `[daemon] state_keys` when set, else are derived from the HMAC `secrets`; either way through
HKDF-SHA256 with a purpose label, so a key is never used for two things.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = b"\x01"
NONCE_BYTES = 12


def derive_key(material: str, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"s3bridge/" + purpose).derive(material.encode())


class SecretBox:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._ciphers = [AESGCM(k) for k in keys]

    @classmethod
    def from_config(cls, materials: Sequence[str], purpose: bytes) -> SecretBox:
        return cls([derive_key(m, purpose) for m in materials])

    def seal(self, plaintext: str, context: bytes) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return VERSION + nonce + self._ciphers[0].encrypt(nonce, plaintext.encode(), VERSION + context)

    def open(self, sealed: bytes, context: bytes) -> str | None:
        """The plaintext, or None when no configured key opens it (key removed, value tampered with or moved)."""
        if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
            return None
        nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
        for cipher in self._ciphers:
            try:
                return cipher.decrypt(nonce, body, VERSION + context).decode()
            except InvalidTag:
                continue
        return None
