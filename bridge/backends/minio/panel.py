"""MinIO's part of the self-service panel: files as the server's admin; extra access keys as service accounts of the
account's user (`minio.keys`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from minio import MinioAdmin

from bridge.backends.minio import keys as minio_keys
from bridge.backends.minio.clients import MinioClients
from bridge.backends.s3.panel_files import S3FilesPanel
from bridge.domain.panel.storage import AccessKey, KeySpec, NewAccessKey

T = TypeVar("T")


class MinioPanel(S3FilesPanel):
    """Files as the server's admin; keys as service accounts of the account's user. Mixed into `MinioBackend`
    (which provides `server`, `clients`, `admin` and `_call`)."""

    admin: MinioAdmin
    clients: MinioClients

    async def _call(self, fn: Callable[[], T], action: str) -> T:  # provided by MinioBackend
        raise NotImplementedError

    async def _identity(self, username: str) -> tuple[str, str, str, str]:
        return self.server.access_key, self.server.secret_key, "us-east-1", "s3v4"

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
