"""Which driver serves a server: the `backend=` line of the server's Access Hash (default MinIO).

`DRIVERS` is the table of drivers (as Libcloud's `DRIVERS`): a name, and how that driver builds its shared clients
from the daemon's settings; each driver then builds a backend per call from the server's own settings. A new
driver is one folder under `backends/` and one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bridge.backends.base import StorageBackend
from bridge.backends.minio.driver import MinioDriver
from bridge.backends.ostor.driver import OstorDriver
from bridge.config import BackendSettings
from bridge.domain.params import ServerParams
from bridge.errors import BadParam


class Driver(Protocol):
    """One driver's shared clients (pools, sessions), owned by the daemon: a backend per call, closed once."""

    def backend(self, server: ServerParams) -> StorageBackend: ...

    async def close(self) -> None: ...


DRIVERS: dict[str, Callable[[BackendSettings], Driver]] = {"minio": MinioDriver, "ostor": OstorDriver}


class Backends:
    """Owns every driver (closed by the app's cleanup context) and builds a backend per call."""

    def __init__(self, settings: BackendSettings) -> None:
        self.drivers = {name: build(settings) for name, build in DRIVERS.items()}

    def __call__(self, server: ServerParams) -> StorageBackend:
        driver = self.drivers.get(server.backend)
        if driver is None:
            raise BadParam("serveraccesshash", f"backend must be one of {', '.join(self.drivers)}")
        return driver.backend(server)

    async def close(self) -> None:
        for driver in self.drivers.values():
            await driver.close()
