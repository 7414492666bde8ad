"""Secrets handed to WHMCS but not yet seen back (in memory only, never written anywhere).

CreateAccount may run again before WHMCS stored the password it was given (a retry after a timeout, or 20
concurrent calls). Until WHMCS is seen holding it (a later call carries it as `password`), every repeat returns the
same secret, so whichever answer WHMCS applies last, it matches the storage server.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

TTL_SECONDS = 15 * 60


@dataclass
class PendingSecrets:
    clock: Callable[[], float] = time.monotonic
    ttl: float = TTL_SECONDS
    _items: dict[int, tuple[str, float]] = field(default_factory=dict)

    def put(self, serviceid: int, secret: str) -> None:
        self._items[serviceid] = (secret, self.clock() + self.ttl)

    def get(self, serviceid: int) -> str | None:
        item = self._items.get(serviceid)
        if item is None:
            return None
        if item[1] < self.clock():
            del self._items[serviceid]
            return None
        return item[0]

    def settle(self, serviceid: int, seen: str) -> None:
        """WHMCS sent `seen` as the service password: if it is the pending one, it is stored; forget it."""
        if self.get(serviceid) == seen:
            del self._items[serviceid]

    def drop(self, serviceid: int) -> None:
        self._items.pop(serviceid, None)
