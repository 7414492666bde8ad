"""What the self-service panel asks of a storage backend: buckets, files and access keys of one account.

`PanelStorage` is the capability (runtime-checkable, like those in `capabilities.py`); `MinioPanel` implements it for
the MinIO driver (mixed into `MinioBackend`). Files and buckets go through botocore (`s3_files.S3Files`) as the
server's admin, after the use case checked the bucket is in the account's namespace; access keys are service
accounts of the account's user (`minio_keys`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from botocore.exceptions import BotoCoreError, ClientError
from minio import MinioAdmin

from bridge.backends import minio_keys
from bridge.backends.s3_files import DataCredentials, S3Files, make_client
from bridge.config import BackendSettings
from bridge.domain.panel.storage import AccessKey, KeySpec, NewAccessKey, ObjectPage
from bridge.domain.params import ServerParams
from bridge.errors import BackendError, BridgeError

if TYPE_CHECKING:
    from bridge.backends.minio_backend import MinioClients

T = TypeVar("T")


class StorageRefused(BackendError):
    """The S3 endpoint refused a data call (bucket not empty, no such bucket, ...): the code says which."""

    status = 409
    code = "storage_refused"

    def __init__(self, message: str, s3_code: str) -> None:
        super().__init__(message)
        self.s3_code = s3_code


@runtime_checkable
class PanelStorage(Protocol):
    async def create_bucket(self, username: str, bucket: str) -> None: ...

    async def delete_bucket(self, username: str, bucket: str) -> None: ...

    async def list_page(self, username: str, bucket: str, prefix: str, position: str, max_keys: int) -> ObjectPage: ...

    async def search_contains(
        self, username: str, bucket: str, prefix: str, term: str, position: str, max_keys: int, budget_s: float
    ) -> ObjectPage: ...

    async def delete_objects(
        self, username: str, bucket: str, keys: tuple[str, ...]
    ) -> tuple[list[str], list[dict[str, str]]]: ...

    async def presign_get(self, username: str, bucket: str, key: str, expires_s: int, endpoint_url: str = "") -> str:
        """A GET URL for the object, signed for `endpoint_url` (the endpoint clients use) when given."""
        ...

    async def presign_post(
        self,
        username: str,
        bucket: str,
        prefix: str,
        expires_s: int,
        max_bytes: int,
        *,
        endpoint_url: str = "",
        redirect: str = "",
    ) -> dict[str, Any]: ...

    async def list_access_keys(self, username: str) -> list[AccessKey]: ...

    async def create_access_key(self, username: str, spec: KeySpec) -> NewAccessKey: ...

    async def revoke_access_key(self, username: str, access_key: str) -> bool:
        """False when the key is not one of the account's (nothing revoked)."""
        ...


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


class MinioPanel:
    """Mixed into `MinioBackend` (which provides `server`, `clients`, `admin` and `_call`)."""

    server: ServerParams
    admin: MinioAdmin
    clients: MinioClients

    async def _call(self, fn: Callable[[], T], action: str) -> T:  # provided by MinioBackend
        raise NotImplementedError

    def _files(self, endpoint_url: str = "") -> S3Files:
        scheme = "https" if self.server.secure else "http"
        url = endpoint_url or f"{scheme}://{self.server.endpoint}"
        creds = DataCredentials(url, self.server.access_key, self.server.secret_key)
        return files_for(creds, self.clients.settings)

    async def _data(self, fn: Callable[[], T], action: str) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.clients.executor, fn)
        except (ClientError, BotoCoreError) as e:
            raise _s3_error(e, self.server.endpoint, action) from e

    async def create_bucket(self, username: str, bucket: str) -> None:
        await self._data(lambda: self._files().create_bucket(bucket), "create bucket")

    async def delete_bucket(self, username: str, bucket: str) -> None:
        await self._data(lambda: self._files().delete_bucket(bucket), "delete bucket")

    async def list_page(self, username: str, bucket: str, prefix: str, position: str, max_keys: int) -> ObjectPage:
        return await self._data(lambda: self._files().page(bucket, prefix, position, max_keys), "list objects")

    async def search_contains(
        self, username: str, bucket: str, prefix: str, term: str, position: str, max_keys: int, budget_s: float
    ) -> ObjectPage:
        return await self._data(
            lambda: self._files().search_contains(bucket, prefix, term, position, max_keys, budget_s), "search objects"
        )

    async def delete_objects(
        self, username: str, bucket: str, keys: tuple[str, ...]
    ) -> tuple[list[str], list[dict[str, str]]]:
        return await self._data(lambda: self._files().delete(bucket, keys), "delete objects")

    async def presign_get(self, username: str, bucket: str, key: str, expires_s: int, endpoint_url: str = "") -> str:
        if not await self._data(lambda: self._files().exists(bucket, key), "look up object"):
            raise StorageRefused(f"no object named {key!r} in bucket {bucket}", "NoSuchKey")
        return self._files(endpoint_url).presign_get(bucket, key, expires_s)

    async def presign_post(
        self,
        username: str,
        bucket: str,
        prefix: str,
        expires_s: int,
        max_bytes: int,
        *,
        endpoint_url: str = "",
        redirect: str = "",
    ) -> dict[str, Any]:
        return self._files(endpoint_url).presign_post(bucket, prefix, expires_s, max_bytes, redirect)

    async def list_access_keys(self, username: str) -> list[AccessKey]:
        return await self._call(lambda: minio_keys.list_keys(self.admin, username), "admin list service accounts")

    async def create_access_key(self, username: str, spec: KeySpec) -> NewAccessKey:
        async with self.clients.crypto_slots:  # an encrypted admin call (Argon2id)
            return await self._call(
                lambda: minio_keys.add_key(self.admin, self.server.secret_key, username, spec),
                "admin add service account",
            )

    async def revoke_access_key(self, username: str, access_key: str) -> bool:
        keys = await self.list_access_keys(username)
        if access_key not in {k.access_key for k in keys}:
            return False
        await self._call(lambda: minio_keys.remove_key(self.admin, access_key), "admin delete service account")
        return True
