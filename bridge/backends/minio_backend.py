"""The MinIO driver: admin API through minio-py's MinioAdmin, run in a bounded thread pool."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import certifi
import urllib3
from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from bridge.backends.base import ConnectionReport
from bridge.backends.minio_errors import map_minio_error
from bridge.config import BackendSettings
from bridge.params import ServerParams

T = TypeVar("T")


class MinioClients:
    """Owns the HTTP pool, the thread pool and one MinioAdmin per server; closed by the app's cleanup context."""

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="s3bridge-minio")
        self.crypto_slots = asyncio.Semaphore(settings.max_crypto_concurrency)
        self.http = urllib3.PoolManager(
            num_pools=64,
            maxsize=settings.max_concurrency,
            timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
            # Idempotent admin reads may be retried once on a dropped connection; the use cases own retries.
            retries=urllib3.Retry(total=1, connect=0, read=0, status=0, backoff_factor=0.1),
            cert_reqs="CERT_REQUIRED",
            ca_certs=settings.ca_file or certifi.where(),
        )
        self._admins: dict[tuple[str, bool, str, str], MinioAdmin] = {}

    def admin(self, server: ServerParams) -> MinioAdmin:
        key = (
            server.endpoint,
            server.secure,
            server.access_key,
            hashlib.sha256(server.secret_key.encode()).hexdigest(),
        )
        client = self._admins.get(key)
        if client is None:
            client = MinioAdmin(
                endpoint=server.endpoint,
                credentials=StaticProvider(server.access_key, server.secret_key),
                secure=server.secure,
                http_client=self.http,
            )
            self._admins[key] = client
        return client

    async def call(self, server: ServerParams, fn: Callable[[], T], *, action: str) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, fn)
        except Exception as e:  # every failure becomes a BackendError sentence
            raise map_minio_error(e, server.endpoint, action=action) from e

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self._admins.clear()
        self.http.clear()


class MinioBackend:
    name = "minio"

    def __init__(self, server: ServerParams, clients: MinioClients) -> None:
        self.server = server
        self.clients = clients

    async def test_connection(self) -> ConnectionReport:
        admin = self.clients.admin(self.server)
        raw = await self.clients.call(self.server, admin.info, action="admin ServerInfo")
        info: dict[str, Any] = json.loads(raw) if raw else {}
        servers = info.get("servers") or []
        version = str(servers[0].get("version", "")) if servers and isinstance(servers[0], dict) else ""
        return ConnectionReport(
            backend=self.name,
            endpoint=self.server.endpoint,
            version=version,
            details={"mode": str(info.get("mode", "")), "servers": str(len(servers))},
        )
