"""The shared parts of every MinIO backend: the urllib3 pool, the thread pool and one client pair per server; one set
for the daemon, closed by the app's cleanup context."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from bridge import metrics
from bridge.backends.minio.errors import map_minio_error
from bridge.backends.s3.http_pool import pool_manager
from bridge.config import BackendSettings
from bridge.domain.params import ServerParams
from bridge.errors import BackendError

T = TypeVar("T")


class MinioClients:
    """Owns the HTTP pool, the thread pool and one client pair per server; closed by the app's cleanup context."""

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="s3bridge-minio")
        # Encrypted admin calls (add user) each derive a ~64 MiB Argon2id key: bound how many run at once.
        self.crypto_slots = asyncio.Semaphore(settings.max_crypto_concurrency)
        self.http = pool_manager(settings)
        self._admins: dict[tuple[str, bool, str, str], MinioAdmin] = {}
        self._s3: dict[tuple[str, bool, str, str], Minio] = {}
        # (endpoint, username, admin secret digest) whose presigning key this process has set (minio.keys)
        self.presign_ready: set[tuple[str, str, str]] = set()

    @staticmethod
    def _key(server: ServerParams) -> tuple[str, bool, str, str]:
        digest = hashlib.sha256(server.secret_key.encode()).hexdigest()
        return (server.endpoint, server.secure, server.access_key, digest)

    def admin(self, server: ServerParams) -> MinioAdmin:
        key = self._key(server)
        if key not in self._admins:
            self._admins[key] = MinioAdmin(
                endpoint=server.endpoint,
                credentials=StaticProvider(server.access_key, server.secret_key),
                secure=server.secure,
                http_client=self.http,
            )
        return self._admins[key]

    def s3(self, server: ServerParams) -> Minio:
        key = self._key(server)
        if key not in self._s3:
            self._s3[key] = Minio(
                server.endpoint,
                access_key=server.access_key,
                secret_key=server.secret_key,
                secure=server.secure,
                http_client=self.http,
            )
        return self._s3[key]

    def s3_as(self, server: ServerParams, access_key: str, secret_key: str) -> Minio:
        return Minio(
            server.endpoint, access_key=access_key, secret_key=secret_key, secure=server.secure, http_client=self.http
        )

    async def call(self, server: ServerParams, fn: Callable[[], T], *, action: str) -> T:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, fn)
        except BackendError as e:
            metrics.storage_call("minio", e.code)
            raise
        except Exception as e:  # every failure becomes a BackendError sentence
            mapped = map_minio_error(e, server.endpoint, action=action)
            metrics.storage_call("minio", mapped.code)
            raise mapped from e
        metrics.storage_call("minio", "ok")
        return result

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self._admins.clear()
        self._s3.clear()
        self.http.clear()
