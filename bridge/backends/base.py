"""The interface every storage backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from bridge.params import ServerParams


@dataclass(frozen=True)
class ConnectionReport:
    """What TestConnection learned about a healthy server."""

    backend: str
    endpoint: str
    version: str = ""
    details: dict[str, str] = field(default_factory=dict)


class StorageBackend(Protocol):
    """A storage system the bridge provisions on. Methods raise `bridge.errors.BackendError` subclasses."""

    name: str

    async def test_connection(self) -> ConnectionReport:
        """Check the server is reachable and the credentials have admin rights."""
        ...


class BackendFactory(Protocol):
    def __call__(self, server: ServerParams) -> StorageBackend: ...
