"""Which storage server a WHMCS server id is, remembered from the calls WHMCS makes.

The daemon keeps no storage credentials of its own: they arrive with every module call. Work that starts inside
the daemon (a limit crossed in the audit stream) uses the credentials of the latest call for that server, held in
memory only. After a restart they are back with the first call naming the server (the cron calls every server
every 5 minutes); until then such work waits for the cron's own check.
"""

from __future__ import annotations

from bridge.backends.base import BackendFactory, StorageBackend
from bridge.domain.params import ServerParams


class ServerDirectory:
    """A BackendFactory that remembers the server params of each server id it served."""

    def __init__(self, factory: BackendFactory) -> None:
        self.factory = factory
        self._servers: dict[int, ServerParams] = {}

    def __call__(self, server: ServerParams) -> StorageBackend:
        backend = self.factory(server)
        if server.server_id is not None:
            self._servers[server.server_id] = server
        return backend

    def backend(self, server_id: int) -> StorageBackend | None:
        server = self._servers.get(server_id)
        return None if server is None else self.factory(server)

    def server(self, server_id: int) -> ServerParams | None:
        """The params of the latest call naming this server (None before one)."""
        return self._servers.get(server_id)

    def known(self) -> list[int]:
        return sorted(self._servers)
