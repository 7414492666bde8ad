"""Value types and rules of the panel's storage work (pure): object pages, access keys, key policies."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bridge.domain.panel.envelope import PanelError

MAX_KEY_LIFETIME_DAYS = 365  # MinIO refuses service-account expirations further out ("invalid ... expiration")
_KEY_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")
READ_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation")
WRITE_ACTIONS = ("s3:*",)


@dataclass(frozen=True)
class ObjectEntry:
    key: str
    size: int = 0
    modified: str = ""
    etag: str = ""
    folder: bool = False


@dataclass(frozen=True)
class ObjectPage:
    entries: tuple[ObjectEntry, ...]
    position: str  # where the next page starts ("" = no next page)
    complete: bool = True  # False: a bounded search stopped (time budget) before reaching the end
    scanned: int = 0  # objects looked at by a substring search


@dataclass(frozen=True)
class KeySpec:
    name: str
    expires: datetime | None
    read_only: bool
    buckets: tuple[str, ...]  # empty = every bucket of the account


@dataclass(frozen=True)
class AccessKey:
    access_key: str
    name: str = ""
    expires: str = ""  # ISO time, "" = never
    status: str = "on"
    restricted: bool = False  # carries its own (narrower) policy
    primary: bool = False  # the pair WHMCS holds (ostor); never revoked from the panel


@dataclass(frozen=True)
class NewAccessKey:
    access_key: str
    secret_key: str
    expires: str = ""


def key_spec(name: str, expires: date | None, read_only: bool, buckets: tuple[str, ...], *, today: date) -> KeySpec:
    if name and not _KEY_NAME.match(name):
        raise PanelError("parameter 'name' must be 1-32 letters, digits, '_' or '-', starting with a letter",
                         {"parameter": "name"})  # fmt: skip
    when = None
    if expires is not None:
        if expires <= today:
            raise PanelError("parameter 'expires' must be a future date", {"parameter": "expires"})
        if expires > today + timedelta(days=MAX_KEY_LIFETIME_DAYS):
            raise PanelError(f"parameter 'expires' may be at most {MAX_KEY_LIFETIME_DAYS} days ahead",
                             {"parameter": "expires"})  # fmt: skip
        when = datetime(expires.year, expires.month, expires.day)
    return KeySpec(name, when, read_only, tuple(dict.fromkeys(buckets)))


def key_policy(spec: KeySpec) -> dict[str, Any] | None:
    """The key's own policy (MinIO intersects it with the user's), or None to inherit the user's as is."""
    if not spec.read_only and not spec.buckets:
        return None
    if spec.buckets:
        resources = [r for b in spec.buckets for r in (f"arn:aws:s3:::{b}", f"arn:aws:s3:::{b}/*")]
    else:
        resources = ["arn:aws:s3:::*"]  # the user's own policy still bounds this to its namespace
    actions = list(READ_ACTIONS if spec.read_only else WRITE_ACTIONS)
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}
