"""Which storage server a WHMCS server id is, remembered from the calls WHMCS makes.

The daemon keeps no storage credentials of its own: they arrive with every module call. Work that starts inside
the daemon (a limit crossed in the audit stream) uses the credentials of the latest call for that server, held in
memory here; observers hear of each new or changed server (the meter keeps them sealed in the database, so it can
act after a restart: bridge.functions.meter.servers).
"""

from __future__ import annotations

from collections.abc import Callable

from bridge.backends.base import BackendFactory, StorageBackend
from bridge.domain.params import ServerParams


class ServerDirectory:
    """A BackendFactory that remembers the server params of each server id it served."""

    def __init__(self, factory: BackendFactory) -> None:
        self.factory = factory
        self._servers: dict[int, ServerParams] = {}
        self.observers: list[Callable[[ServerParams], None]] = []

    def __call__(self, server: ServerParams) -> StorageBackend:
        backend = self.factory(server)
        if server.server_id is not None:
            if self._servers.get(server.server_id) != server:
                for observe in self.observers:
                    observe(server)
            self._servers[server.server_id] = server
        return backend

    def params(self, server_id: int) -> ServerParams | None:
        return self._servers.get(server_id)

    def backend(self, server_id: int) -> StorageBackend | None:
        server = self._servers.get(server_id)
        return None if server is None else self.factory(server)

    def server(self, server_id: int) -> ServerParams | None:
        """The params of the latest call naming this server (None before one)."""
        return self._servers.get(server_id)

    def known(self) -> list[int]:
        return sorted(self._servers)
