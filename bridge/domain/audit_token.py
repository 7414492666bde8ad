"""The token MinIO's audit webhook presents for one storage server (pure: no I/O).

Derived from a daemon secret and the WHMCS server id, so nobody can copy one server's token to post for another, and
any daemon holding the secret checks it without storing anything.
"""

from __future__ import annotations

import hashlib
import hmac


def audit_token(secret: str, server_id: int) -> str:
    """The auth token MinIO sends for server `server_id`."""
    return hmac.new(secret.encode(), f"s3bridge-audit-webhook:{server_id}".encode(), hashlib.sha256).hexdigest()


def token_ok(secrets: tuple[str, ...], server_id: int, presented: str) -> bool:
    """Any configured secret's token is accepted (rotation: list the new secret first, re-enable, drop the old).
    Every secret is compared, in constant time."""
    presented = presented.removeprefix("Bearer ").strip()
    ok = False
    for s in secrets:
        ok |= hmac.compare_digest(audit_token(s, server_id).encode(), presented.encode())
    return ok
