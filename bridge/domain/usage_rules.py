"""Usage arithmetic and limit decisions (pure: no I/O).

Per-bucket figures for a whole server are assigned to services by the bucket namespace (`<username>--*`): one
dictionary lookup per bucket, whatever the number of services.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bridge.domain import policies
from bridge.domain.naming import SEPARATOR
from bridge.domain.policies import PolicyKind
from bridge.domain.values import BucketUsage

MB = 1024 * 1024


@dataclass
class ServiceUsage:
    serviceid: int
    username: str
    buckets: list[BucketUsage] = field(default_factory=list)

    @property
    def bytes(self) -> int:
        return sum(b.size for b in self.buckets)

    @property
    def objects(self) -> int:
        return sum(b.objects for b in self.buckets)


def assign(
    buckets: Iterable[BucketUsage], usernames: Mapping[int, str], owners: Mapping[int, str] | None = None
) -> dict[int, ServiceUsage]:
    """Sum buckets per owning service: by the bucket's owner where the server reports one (`owners`: service ->
    the server's account id), else by the namespace in its name. Buckets nobody owns are ignored."""
    by_name = {name: sid for sid, name in usernames.items()}
    by_owner = {owner: sid for sid, owner in (owners or {}).items() if owner}
    out = {sid: ServiceUsage(sid, name) for sid, name in usernames.items()}
    for b in buckets:
        if b.owner:
            sid = by_owner.get(b.owner)
        else:
            prefix, sep, _ = b.name.partition(SEPARATOR)
            sid = by_name.get(prefix) if sep else None
        if sid is not None:
            out[sid].buckets.append(b)
    return out


def to_mb(n_bytes: int) -> int:
    """WHMCS's tblhosting usage columns are whole MB (MiB); round up so any data shows as at least 1 MB."""
    return -(-n_bytes // MB)


WHMCS_MB_MAX = 2**31 - 1  # tblhosting diskusage/disklimit/bwusage are signed int(10): at most 2 PB - 1 MB


def whmcs_mb(n_bytes: int) -> int:
    """`to_mb`, clamped to what tblhosting's int(10) columns hold (a bigger value fails the whole batched write in
    strict mode); the daemon keeps the exact figure in its own tables."""
    return min(to_mb(n_bytes), WHMCS_MB_MAX)


def overflows_whmcs(n_bytes: int) -> bool:
    return to_mb(n_bytes) > WHMCS_MB_MAX


@dataclass(frozen=True)
class LimitState:
    policy: PolicyKind
    warned: bool
    over_limit: bool


@dataclass(frozen=True)
class Decision:
    state: LimitState
    apply_policy: PolicyKind | None  # None: the attached policy is already right
    send_warning: bool
    send_suspension: bool

    def acts_on(self, current: LimitState) -> bool:
        """Whether applying it changes anything: a policy to attach, a limit state to save, an email to send."""
        return self.apply_policy is not None or self.state != current or self.send_warning or self.send_suspension


def decide(current: LimitState, used: int, limit: int, warn_percent: int) -> Decision:
    """What to do now. Each email goes once per crossing: the flags remember the crossing until usage drops back
    below it, and only a new crossing sends again. Unlimited products are never limited and never warned."""
    kind = policies.choose(used, limit)
    over = kind == "limited"
    warn_line = limit * warn_percent / 100 if limit > 0 else None
    warned = warn_line is not None and used >= warn_line
    return Decision(
        state=LimitState(policy=kind, warned=warned, over_limit=over),
        apply_policy=kind if kind != current.policy else None,
        send_warning=warned and not current.warned and not over,
        send_suspension=over and not current.over_limit,
    )


def usage_digest(buckets: Iterable[BucketUsage]) -> str:
    """A fingerprint of a service's per-bucket figures: equal digests mean nothing to write again."""
    text = "".join([f"{b.name}\0{b.size}\0{b.objects}\n" for b in sorted(buckets, key=lambda b: b.name)])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
