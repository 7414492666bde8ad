"""What the self-service panel asks of a storage backend: the buckets and files of one account, over botocore.

`PanelStorage` and `ServiceAccountKeys` are capabilities (runtime-checkable, in `capabilities.py`).
`S3PanelFiles` implements the first once over botocore (`s3.files.S3Files`) and is composed into each driver as its
`files` (`capabilities.PanelFiles`); each driver only says who acts on the endpoint: MinIO the server's admin (after
the use case checked the bucket is in the account's namespace), ostor the account's own key pair (the gateway makes
the user the owner of what it creates). The MinIO driver implements the second with service accounts of the
account's user (`minio.keys`); ostor's key pairs go through `capabilities.AccessKeys`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from bridge.backends.s3.files import DataCredentials, S3Files, make_client
from bridge.config import BackendSettings
from bridge.domain.panel.storage import ObjectPage
from bridge.domain.params import ServerParams
from bridge.errors import BackendError, BridgeError

T = TypeVar("T")


class StorageRefused(BackendError):
    """The S3 endpoint refused a data call (bucket not empty, no such bucket, ...): the code says which."""

    status = 409
    code = "storage_refused"

    def __init__(self, message: str, s3_code: str) -> None:
        super().__init__(message)
        self.s3_code = s3_code


@functools.lru_cache(maxsize=256)
def _client(creds: DataCredentials, connect: float, read: float, ca_file: str | None) -> Any:
    return make_client(creds, connect_timeout=connect, read_timeout=read, ca_file=ca_file)


def files_for(creds: DataCredentials, settings: BackendSettings) -> S3Files:
    """One botocore client per endpoint and identity, reused (creating one costs tens of milliseconds)."""
    return S3Files(_client(creds, settings.connect_timeout, settings.read_timeout, settings.ca_file))


def _s3_error(e: Exception, endpoint: str, action: str) -> BridgeError:
    if isinstance(e, ClientError):
        err = e.response.get("Error", {})
        code = str(err.get("Code") or "")
        message = str(err.get("Message") or code)
        return StorageRefused(f"{action} refused by {endpoint}: {message} ({code})", code)
    if isinstance(e, BotoCoreError):
        return BackendError(f"{action} failed at {endpoint}: {e}")
    return BackendError(f"{action} failed at {endpoint}: {type(e).__name__}")


class _Pools(Protocol):
    @property
    def settings(self) -> BackendSettings: ...

    @property
    def executor(self) -> Executor: ...


Identity = tuple[str, str, str, str]  # (access key, secret key, region, botocore signature version)


class S3PanelFiles:
    """`PanelStorage` over botocore, composed into a driver (its `files`): the driver says who acts for an account
    (`identity`) and who signs its upload forms and download links (`presign_identity`, default the same): never
    the server's admin, always a key the storage server checks against the account's own policy and state when the
    form or link is used. The work runs on the driver's own thread pool with its timeouts."""

    def __init__(
        self,
        server: ServerParams,
        pools: _Pools,
        identity: Callable[[str], Awaitable[Identity]],
        presign_identity: Callable[[str], Awaitable[Identity]] | None = None,
    ) -> None:
        self.server = server
        self.pools = pools
        self.identity = identity
        self.presign_identity = presign_identity or identity

    async def _files(self, username: str, endpoint_url: str = "", *, presign: bool = False) -> S3Files:
        scheme = "https" if self.server.secure else "http"
        url = endpoint_url or f"{scheme}://{self.server.endpoint}"
        access, secret, region, signature = await (self.presign_identity if presign else self.identity)(username)
        return files_for(DataCredentials(url, access, secret, region, signature), self.pools.settings)

    async def _run(self, username: str, work: Callable[[S3Files], T], action: str, endpoint_url: str = "") -> T:
        files = await self._files(username, endpoint_url)
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.pools.executor, lambda: work(files))
        except (ClientError, BotoCoreError) as e:
            raise _s3_error(e, self.server.endpoint, action) from e

    async def create_bucket(self, username: str, bucket: str) -> None:
        await self._run(username, lambda f: f.create_bucket(bucket), "create bucket")

    async def delete_bucket(self, username: str, bucket: str) -> None:
        await self._run(username, lambda f: f.delete_bucket(bucket), "delete bucket")

    async def list_page(self, username: str, bucket: str, prefix: str, position: str, max_keys: int) -> ObjectPage:
        return await self._run(username, lambda f: f.page(bucket, prefix, position, max_keys), "list objects")

    async def search_contains(
        self, username: str, bucket: str, prefix: str, term: str, position: str, max_keys: int, budget_s: float
    ) -> ObjectPage:
        return await self._run(
            username, lambda f: f.search_contains(bucket, prefix, term, position, max_keys, budget_s), "search objects"
        )

    async def delete_objects(
        self, username: str, bucket: str, keys: tuple[str, ...]
    ) -> tuple[list[str], list[dict[str, str]]]:
        return await self._run(username, lambda f: f.delete(bucket, keys), "delete objects")

    async def presign_get(self, username: str, bucket: str, key: str, expires_s: int, endpoint_url: str = "") -> str:
        if not await self._run(username, lambda f: f.exists(bucket, key), "look up object"):
            raise StorageRefused(f"no object named {key!r} in bucket {bucket}", "NoSuchKey")
        return (await self._files(username, endpoint_url, presign=True)).presign_get(bucket, key, expires_s)

    async def presign_post(
        self, username: str, bucket: str, prefix: str, expires_s: int, max_bytes: int, *, endpoint_url: str = "",
        redirect: str = "",
    ) -> dict[str, Any]:  # fmt: skip
        files = await self._files(username, endpoint_url, presign=True)
        return files.presign_post(bucket, prefix, expires_s, max_bytes, redirect)
