"""Which driver serves a server: the `backend=` line of the server's Access Hash (default MinIO)."""

from __future__ import annotations

from bridge.backends.base import StorageBackend
from bridge.backends.minio_backend import MinioBackend, MinioClients
from bridge.backends.ostor_backend import DEFAULT_EMAIL_DOMAIN, OstorBackend, OstorClients, OstorSettings
from bridge.backends.ostor_client import bandwidth_unit, ops_unit
from bridge.config import BackendSettings
from bridge.domain.params import ServerParams
from bridge.errors import BadParam


class Backends:
    """Owns every driver's shared clients (closed by the app's cleanup context) and builds a backend per call."""

    def __init__(self, settings: BackendSettings) -> None:
        self.minio = MinioClients(settings)
        self.ostor = OstorClients(settings)

    def __call__(self, server: ServerParams) -> StorageBackend:
        if server.backend == "ostor":
            try:
                settings = OstorSettings(
                    email_domain=server.option("email_domain", DEFAULT_EMAIL_DOMAIN),
                    signature="v4" if server.option("signature") == "v4" else "v2",
                    region=server.option("region", "us-east-1"),
                    bandwidth_unit=bandwidth_unit(server.option("bandwidth_unit")),
                    ops_unit=ops_unit(server.option("ops_unit")),
                )
            except ValueError as e:
                raise BadParam("serveraccesshash", str(e)) from None
            return OstorBackend(server, self.ostor, settings)
        return MinioBackend(server, self.minio)

    async def close(self) -> None:
        self.minio.close()
        await self.ostor.close()
