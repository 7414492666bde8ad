"""WHMCS's Server Sync Tool (Utilities > Server Sync, WHMCS 7.8+): the accounts a storage server holds, in the shape
the module's ListAccounts returns (docs: Server Sync): email, username, domain, uniqueIdentifier, product, primaryip,
created ("Y-m-d H:i:s") and status (Status::ACTIVE or Status::SUSPENDED). Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.domain.drift import StoredAccount
from bridge.domain.naming import SEPARATOR
from bridge.domain.values import BucketUsage

ACTIVE, SUSPENDED = "Active", "Suspended"  # WHMCS\Service\Status::ACTIVE / ::SUSPENDED
WHMCS_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class KnownService:
    """What WHMCS and the records know of an account's service."""

    username: str  # the bridge's account name
    whmcs_username: str  # what WHMCS holds as the service's username (ostor: the access key)
    email: str
    domain: str
    created: datetime


def _earliest(buckets: Iterable[BucketUsage]) -> datetime | None:
    times = []
    for b in buckets:
        try:
            times.append(datetime.fromisoformat(b.created.replace("Z", "+00:00")))
        except ValueError:
            continue
    return min(times) if times else None


def sync_accounts(
    accounts: Sequence[StoredAccount],
    known: Mapping[str, KnownService],
    buckets: Sequence[BucketUsage],
    *,
    product: str,
    primary_ip: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """One row per account the bridge made or a record names (never the server admin's own users). The unique
    identifier is the username WHMCS holds for the service, so the tool matches it to tblhosting.username;
    `product` is the backend name, which the product's first setting (ListAccountsProductField) holds."""
    by_owner: dict[str, list[BucketUsage]] = {}
    by_prefix: dict[str, list[BucketUsage]] = {}
    for b in buckets:
        if b.owner:
            by_owner.setdefault(b.owner, []).append(b)
        else:
            prefix, sep, _ = b.name.partition(SEPARATOR)
            if sep:
                by_prefix.setdefault(prefix, []).append(b)
    rows = []
    for a in accounts:
        service = known.get(a.username)
        if service is None and not a.managed:
            continue
        if service is not None:
            created = service.created
        else:
            created = _earliest(by_owner.get(a.owner_id, []) if a.owner_id else by_prefix.get(a.username, [])) or now
        name = service.whmcs_username if service else a.username
        rows.append(
            {
                "email": service.email if service else "",
                "username": name,
                "domain": service.domain if service else "",
                "uniqueIdentifier": name,
                "product": product,
                "primaryip": primary_ip,
                "created": created.strftime(WHMCS_TIME),
                "status": SUSPENDED if a.enabled is False else ACTIVE,
            }
        )
    return sorted(rows, key=lambda r: str(r["username"]))
