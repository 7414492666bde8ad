"""View models of the client area and the admin tab: plain data, filled by the use cases, rendered by
`bridge.views.render`. Every string in here may come from a customer or an admin: the templates escape all of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bridge.domain.values import DailyPoint, MonthlyPoint

PasswordDisplay = Literal["button", "plain", "hidden"]


@dataclass(frozen=True)
class Disk:
    used_bytes: int
    limit_bytes: int  # 0 = unlimited
    unit: str  # MB, GB, TB, PB (binary: 1 GB = 1024 MB)
    last_update: datetime | None
    exact: bool  # figures from an exact listing (Recalculate) rather than the storage server's scan


@dataclass(frozen=True)
class Bucket:
    name: str
    created: datetime | None
    objects: int | None  # None: the storage server gives no object counts (ostor's bucket sizes)
    size_bytes: int


@dataclass(frozen=True)
class Traffic:
    """Traffic of a period: bytes the customer uploaded (in) and downloaded (out), requests by class."""

    bytes_in: int
    bytes_out: int
    requests: dict[str, int] = field(default_factory=dict)  # read, write, list, delete, other


@dataclass(frozen=True)
class Decision:
    """Which figure the latest limit decision used: scan, estimate (scan + written since - known deletes) or an
    exact listing."""

    source: str
    used_bytes: int
    at: datetime | None


@dataclass(frozen=True)
class ClientAreaView:
    language: str  # WHMCS language name, e.g. "english", "arabic"; unknown -> English
    serviceid: int
    endpoint: str  # S3 endpoint URL
    console_url: str  # "" = none
    instructions_url: str  # "" = none
    username: str
    password: str  # "" when display is "hidden" (never sent to the page then)
    password_display: PasswordDisplay
    suspended: bool
    policy: Literal["standard", "limited"]
    disk: Disk
    buckets: tuple[Bucket, ...]
    daily: tuple[DailyPoint, ...]  # the last 30 days, oldest first (days without data are absent)
    monthly: tuple[MonthlyPoint, ...]  # monthly averages, oldest first
    # WHMCS links and module buttons (URLs are relative to the WHMCS client area)
    change_password_url: str = ""
    recalculate_url: str = ""
    upgrade_url: str = ""
    cancel_url: str = ""
    notice: str = ""  # e.g. the result of the last action
    keys: bool = False  # the backend generates key pairs: username = access key, password = secret key
    traffic: tuple[DailyPoint, ...] = ()  # bytes in + out per day, the last 30 days (used_bytes = traffic)
    traffic_month: Traffic | None = None  # this month so far; None = no traffic metered for this service
    csrf_token: str = ""  # WHMCS's token: actions that change something are forms posting it (_csrf.html.j2)


@dataclass(frozen=True)
class AdminTabView:
    language: str
    connection_ok: bool
    connection_message: str  # version on success, the error sentence otherwise
    username: str
    user_status: str  # "enabled", "disabled", "missing", "unknown"
    groups: tuple[str, ...]
    policy: str  # attached policy name as the storage server reports it
    policy_kind: Literal["standard", "limited", "unknown"]
    disk: Disk
    buckets: tuple[Bucket, ...]
    state: str  # the bridge's record: active, suspended, creating, ...
    notes: tuple[str, ...] = field(default_factory=tuple)
    traffic_month: Traffic | None = None
    decision: Decision | None = None
