"""Optional backend capabilities beyond `base.StorageBackend` (Virtuozzo ostor has them; MinIO does not yet).

A use case asks `isinstance(backend, AccessKeys)` (the protocols are runtime-checkable) and offers the feature only
where the backend has it. Every method is idempotent like the base interface, and raises `bridge.errors.BackendError`
subclasses with sentences an admin can act on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from bridge.domain.drift import StoredAccount
from bridge.domain.panel.storage import AccessKey, KeySpec, NewAccessKey, ObjectPage
from bridge.domain.values import KeyPair, RateLimits, TrafficCollection, TrafficRecord


@runtime_checkable
class AccessKeys(Protocol):
    """The server generates key pairs (at most 2 per user); the bridge cannot choose the secret."""

    async def key_pairs(self, username: str) -> tuple[KeyPair, ...]:
        """The account's key pairs, oldest first (empty if the account does not exist)."""
        ...

    async def begin_key_rotation(self, username: str, current_access_key: str, pending_access_key: str = "") -> KeyPair:
        """The pair `pending_access_key` names (made by this service's unfinished rotation) if the account still has
        it, else a newly generated one: never any other pair the account holds (a customer's own second pair).

        Never revokes anything, so the current pair keeps working until `finish_key_rotation`."""
        ...

    async def finish_key_rotation(self, username: str, keep_access_key: str) -> int:
        """Revoke every pair except `keep_access_key`; returns how many were revoked.

        Refuses (and revokes nothing) if `keep_access_key` is not one of the account's pairs."""
        ...


@runtime_checkable
class RateLimiting(Protocol):
    async def rate_limits(self, username: str) -> RateLimits: ...

    async def set_rate_limits(self, username: str, limits: RateLimits) -> RateLimits:
        """Make the account's limits exactly `limits` (all zero removes them); returns what the server holds when
        read back afterwards, so a caller can say where it differs from what was asked."""
        ...


@runtime_checkable
class StorageQuotas(Protocol):
    async def quota_gb(self, username: str) -> int | None:
        """The account's storage quota in gigabytes, None when it has none."""
        ...

    async def set_quota_gb(self, username: str, gigabytes: int | None) -> None:
        """Set the account's storage quota (None removes it: read first, deleted only if there is one)."""
        ...

    async def set_bucket_quotas_gb(self, username: str, gigabytes: int | None, *, replacing: int | None) -> int:
        """Per-bucket quotas the module owns: every bucket of the account whose quota is none or `replacing` (what
        the module set before; None: not recorded, any quota counts as the module's) gets `gigabytes` (None: its
        quota removed). A bucket holding another quota is left alone. Returns how many buckets were changed."""
        ...


@runtime_checkable
class BucketOwnership(Protocol):
    """Buckets belong to the account that made them, whatever their name (ostor): the account may name buckets
    freely, and usage and deletion go by owner, never by name."""

    async def owner_id(self, username: str) -> str | None:
        """The server's id for the account, as TrafficRecord.owner_id and BucketUsage.owner name it (None if it does
        not exist)."""
        ...


@runtime_checkable
class TrafficStatistics(BucketOwnership, Protocol):
    async def collect_traffic(
        self,
        store: Callable[[str, tuple[TrafficRecord, ...]], Awaitable[None]],
        *,
        max_objects: int = 1000,
    ) -> TrafficCollection:
        """Read pending statistics objects, hand each one's records to `store`, and delete an object only after
        `store` returned for it. An object that cannot be read is kept and named. Server-wide, not per account."""
        ...


@runtime_checkable
class AuditWebhook(Protocol):
    """The server posts a per-request audit log to a webhook (MinIO's `audit_webhook` targets)."""

    async def configure_audit_webhook(self, target: str, settings: dict[str, str]) -> bool:
        """Point the named target at `settings` (endpoint, auth_token, queue_dir, ...), enabled, without a
        restart. Idempotent: the same settings again leave the same target. True if a visible setting changed."""
        ...

    async def audit_webhook(self, target: str) -> dict[str, str]:
        """The target's current settings as the server shows them (it never shows the auth token)."""
        ...


@runtime_checkable
class ScannerClock(Protocol):
    """`server_usage` figures come from a background scanner: `last_scan` is when they were measured (set by the
    latest `server_usage` call, None before it)."""

    last_scan: datetime | None


@runtime_checkable
class LiveBucketNames(Protocol):
    """`server_usage` comes from a background scanner and lags it (`ScannerClock`): a bucket deleted a moment ago is
    still in it, one made a moment ago is not yet. `bucket_names` is one live listing of every bucket on the server,
    for what must know which buckets exist now (reconcile's stray buckets)."""

    async def bucket_names(self) -> set[str]: ...


@runtime_checkable
class AccountInventory(Protocol):
    """Every account on the server in one listing (reconcile compares it with WHMCS), never one call per account."""

    async def list_accounts(self) -> list[StoredAccount]:
        """Every user the server holds, each marked `managed` when it looks like one the bridge made."""
        ...


# -- the self-service panel (docs/PANEL.md) --------------------------------------------------------------------------


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
        self, username: str, bucket: str, prefix: str, expires_s: int, max_bytes: int, *, endpoint_url: str = "",
        redirect: str = "",
    ) -> dict[str, Any]: ...  # fmt: skip


@runtime_checkable
class PanelFiles(Protocol):
    """A driver whose accounts' buckets and files the panel can reach: `files` acts for one account at a time."""

    files: PanelStorage


@runtime_checkable
class ServiceAccountKeys(Protocol):
    async def list_access_keys(self, username: str) -> list[AccessKey]: ...

    async def create_access_key(self, username: str, spec: KeySpec) -> NewAccessKey: ...

    async def revoke_access_key(self, username: str, access_key: str) -> bool:
        """False when the key is not one of the account's (nothing revoked)."""
        ...
