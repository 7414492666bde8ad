"""A whole key rotation in one go, for the contract suite: what the product does across two calls (Rotate Keys hands
WHMCS the new pair; the next call, once WHMCS holds it, revokes the old one: bridge/functions/call.py settle_rotation).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bridge.backends.capabilities import AccessKeys
from bridge.domain.values import KeyPair


async def rotate_key_pair(
    backend: AccessKeys,
    username: str,
    current_access_key: str,
    store: Callable[[KeyPair], Awaitable[None]],
    pending_access_key: str = "",
) -> KeyPair:
    """Generate a new pair, hand it to `store`, and revoke the old pair only once `store` returned.

    If `store` fails, both pairs stay valid and the next rotation, told the pending pair as the service's record
    tells it, hands out the same new pair again (no third pair)."""
    new = await backend.begin_key_rotation(username, current_access_key, pending_access_key)
    await store(new)
    await backend.finish_key_rotation(username, new.access_key)
    return new
