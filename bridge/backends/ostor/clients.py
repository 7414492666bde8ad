"""The shared parts of every ostor backend: the aiohttp session (admin), the urllib3 and thread pools (data), the
per-user creation locks; one set for the daemon, closed by the app's cleanup context."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import aiohttp
import certifi
from minio import Minio

from bridge import metrics
from bridge.backends.ostor.admin_client import OstorAdminClient
from bridge.backends.ostor.errors import map_data_error
from bridge.backends.ostor.settings import OstorSettings
from bridge.backends.ostor.signing import Keys
from bridge.backends.s3.http_pool import pool_manager
from bridge.config import BackendSettings
from bridge.domain.params import ServerParams
from bridge.domain.values import KeyPair
from bridge.locks import KeyedLocks

T = TypeVar("T")


class OstorClients:
    """Owns the aiohttp session (admin), the urllib3 pool and thread pool (data) and the per-user creation locks."""

    def __init__(self, settings: BackendSettings) -> None:
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=settings.max_concurrency, thread_name_prefix="s3bridge-ostor")
        self.locks = KeyedLocks()
        self.ssl_context = ssl.create_default_context(cafile=settings.ca_file or certifi.where())
        self.http = pool_manager(settings)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        """Created on first use, inside the running event loop."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.settings.max_concurrency, ssl=self.ssl_context),
                timeout=aiohttp.ClientTimeout(
                    sock_connect=self.settings.connect_timeout, sock_read=self.settings.read_timeout
                ),
            )
        return self._session

    def admin(self, server: ServerParams, settings: OstorSettings) -> OstorAdminClient:
        scheme = "https" if server.secure else "http"
        return OstorAdminClient(
            self.session(),
            f"{scheme}://{server.endpoint}",
            Keys(server.access_key, server.secret_key),
            signature=settings.signature,
            region=settings.region,
        )

    def s3_as(self, server: ServerParams, settings: OstorSettings, pair: KeyPair | Keys) -> Minio:
        return Minio(
            server.endpoint,
            access_key=pair.access_key,
            secret_key=pair.secret_key,
            secure=server.secure,
            region=settings.region,
            http_client=self.http,
        )

    async def run(self, fn: Callable[[], T], *, endpoint: str, action: str) -> T:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.executor, fn)
        except Exception as e:  # every failure becomes a BackendError sentence
            mapped = map_data_error(e, endpoint, action=action)
            metrics.storage_call("ostor", mapped.code)
            raise mapped from e
        metrics.storage_call("ostor", "ok")
        return result

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
        self.executor.shutdown(wait=True)
        self.http.clear()
