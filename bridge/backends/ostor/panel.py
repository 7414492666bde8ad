"""ostor's part of the self-service panel: buckets and files as the account's own key pair (the gateway makes the
user the owner of what it creates); its key pairs go through `capabilities.AccessKeys`."""

from __future__ import annotations

from bridge.backends.ostor.answers import OstorUser
from bridge.backends.ostor.clients import OstorClients
from bridge.backends.ostor.settings import OstorSettings
from bridge.backends.s3.panel_files import S3FilesPanel
from bridge.domain.values import KeyPair


class OstorPanel(S3FilesPanel):
    """Files and buckets as the account's own key pair (the gateway makes the user the owner of what it creates).
    Mixed into `OstorBackend` (which provides `server`, `clients`, `settings`, `_require_user` and `_usable_pair`)."""

    clients: OstorClients
    settings: OstorSettings

    async def _require_user(self, username: str) -> OstorUser:  # provided by OstorBackend
        raise NotImplementedError

    async def _usable_pair(self, user: OstorUser) -> KeyPair:  # provided by OstorBackend
        raise NotImplementedError

    async def _identity(self, username: str) -> tuple[str, str, str, str]:
        pair = await self._usable_pair(await self._require_user(username))
        return pair.access_key, pair.secret_key, self.settings.region, "s3v4"  # as the driver's own data calls
