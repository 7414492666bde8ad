"""The interface every storage backend implements (MinIO, Virtuozzo ostor).

Every method is idempotent: calling it again after a failure or a timeout converges on the same end state, and
"already so" is success. Methods raise `bridge.errors.BackendError` subclasses with sentences an admin can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from bridge.domain.params import ServerParams
from bridge.domain.policies import PolicyKind
from bridge.domain.values import BucketUsage


@dataclass(frozen=True)
class ConnectionReport:
    """What TestConnection learned about a healthy server."""

    backend: str
    endpoint: str
    version: str = ""
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountSpec:
    """Everything an account should be.

    `create`: make the account when it is missing; False: it must exist already (else `no_such_account`).
    `secret`: the secret to set, on servers where the bridge chooses it (MinIO); None leaves the current one (a
    server that generates key pairs itself, ostor, takes None: read the pairs with `AccessKeys.key_pairs`). A server
    that needs a secret to create an account refuses `create` without one for a missing account."""

    username: str
    policies: dict[PolicyKind, dict[str, Any]]
    active_policy: PolicyKind
    create: bool = True
    secret: str | None = None
    group: str = ""
    buckets: tuple[str, ...] = ()
    enabled: bool = True


@dataclass(frozen=True)
class Usage:
    buckets: tuple[BucketUsage, ...]
    exact: bool  # False when a time budget cut the listing short (figures are a lower bound)
    listed: bool = True  # False: the server's own current sizes (ostor's `?ostor-buckets`), no listing, no counts

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.buckets)


@dataclass(frozen=True)
class AccountInfo:
    """What the storage server says about an account (admin tab)."""

    enabled: bool
    groups: tuple[str, ...] = ()
    policy: str = ""  # the attached policy's name on the server


@dataclass(frozen=True)
class DeletionReport:
    buckets: int = 0
    objects: int = 0
    user_removed: bool = False
    policies_removed: int = 0
    foreign_buckets: tuple[str, ...] = ()  # listed for the account but owned by another user: left alone


class StorageBackend(Protocol):
    """A storage system the bridge provisions on."""

    name: str
    counts_objects: bool  # do usage figures count objects (False: sizes only, objects always 0)

    async def test_connection(self) -> ConnectionReport:
        """Check the server is reachable and the credentials have admin rights."""
        ...

    async def account_exists(self, username: str) -> bool: ...

    async def account_info(self, username: str) -> AccountInfo | None:
        """None when the account does not exist on the server."""
        ...

    async def list_buckets(self, username: str) -> list[tuple[str, str]]:
        """The account's buckets as (name, ISO creation time), one cheap call."""
        ...

    async def provision(self, spec: AccountSpec) -> None:
        """Create or complete the account: policies, user (secret), policy mapping, group, buckets."""
        ...

    async def set_enabled(self, username: str, enabled: bool) -> None: ...

    async def set_secret(self, username: str, secret: str, *, enabled: bool) -> None:
        """Change the secret; the account keeps the given enabled state."""
        ...

    async def apply_policy(self, username: str, kind: PolicyKind, policies: dict[PolicyKind, dict[str, Any]]) -> None:
        """Store both policy documents and attach `kind`."""
        ...

    async def set_group(self, username: str, old: str, new: str) -> None: ...

    async def credentials_valid(self, username: str, secret: str) -> bool:
        """True if the pair authenticates for data access now."""
        ...

    async def server_usage(self) -> list[BucketUsage]:
        """Every bucket on the server with its size and object count, in one cheap call (may lag: MinIO's
        scanner figures). Never one call per account."""
        ...

    async def usage(self, username: str, *, budget_s: float) -> Usage:
        """Exact usage of the account's buckets by listing, within a time budget."""
        ...

    async def delete_account(self, username: str) -> DeletionReport:
        """Delete every object version, bucket, policy and the user of the account, and nothing else."""
        ...


class BackendFactory(Protocol):
    def __call__(self, server: ServerParams) -> StorageBackend: ...
