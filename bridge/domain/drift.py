"""Drift: where WHMCS and the storage server disagree, as pure rules (no I/O).

The inputs are one server's whole picture, gathered once: WHMCS's services on the server with the daemon's records
(`ServiceView`), every account the server holds (`StoredAccount`, one listing) and every bucket (one listing). The
output is a list of `Finding`s, each naming the repair that would make the storage agree with WHMCS.

Repairs are of two kinds: *safe* ones apply what WHMCS says (enable or disable an account, attach the policy the
usage calls for) and touch only the one service's account; *destructive* ones (deleting an orphan's data) need the
admin to type the account's name and wait a grace period after the orphan was first seen (`may_delete`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bridge.domain.naming import SEPARATOR
from bridge.domain.policies import PolicyKind, choose
from bridge.domain.usage_rules import assign
from bridge.domain.values import BucketUsage

DriftKind = Literal["state_mismatch", "orphan_user", "missing_user", "policy_mismatch", "stray_bucket"]
Repair = Literal["disable", "enable", "apply_policy", "delete_orphan", "none"]

# The order findings are shown in: a customer who should not be able to write comes first.
KINDS: tuple[DriftKind, ...] = ("state_mismatch", "orphan_user", "missing_user", "policy_mismatch", "stray_bucket")
SAFE_REPAIRS: frozenset[Repair] = frozenset({"disable", "enable", "apply_policy"})

LIVE = frozenset({"Active", "Suspended"})  # WHMCS statuses whose service should have a storage account
GONE = frozenset({"Terminated", "Cancelled", "Fraud", ""})  # "" = WHMCS has no such service any more
RECORD_LIVE = frozenset({"active", "suspended"})


@dataclass(frozen=True)
class StoredAccount:
    """An account as the storage server lists it."""

    username: str
    enabled: bool | None  # None: the server did not say
    policy: str | None = None  # "standard" / "limited" / another policy's name / "" none; None: no per-user policies
    owner_id: str = ""  # the server's own id (ostor), matching BucketUsage.owner
    managed: bool = True  # looks like an account the bridge made (MinIO: an s3bridge policy; ostor: its e-mail domain)


@dataclass(frozen=True)
class ServiceView:
    """One service as WHMCS and the daemon's record see it."""

    serviceid: int
    whmcs_status: str  # tblhosting.domainstatus; "" when WHMCS has no such service
    record_state: str  # mod_s3bridge_services.state; "" when the daemon has no record
    username: str = ""
    owner_id: str = ""
    disk_limit_bytes: int = 0  # from the product; 0 = unlimited


@dataclass(frozen=True)
class Finding:
    kind: DriftKind
    subject: str  # the account's username, or the bucket's name
    serviceid: int | None
    expected: str
    actual: str
    repair: Repair

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.subject)

    @property
    def safe(self) -> bool:
        return self.repair in SAFE_REPAIRS


def find_drift(
    services: Sequence[ServiceView],
    accounts: Sequence[StoredAccount],
    buckets: Sequence[BucketUsage],
    *,
    ours: Iterable[str] = (),
) -> list[Finding]:
    """Every disagreement between WHMCS and one storage server, most urgent first.

    An account that is not `managed` and that no record names (`ours`: every username the daemon's records hold,
    terminated ones included) is someone else's (the server's admin's own users): it is never a finding."""
    known = set(ours) | {s.username for s in services if s.username}
    by_user = {a.username: a for a in accounts if a.managed or a.username in known}
    live = [s for s in services if s.whmcs_status in LIVE and s.record_state in RECORD_LIVE and s.username]
    live_users = {s.username for s in live}
    findings: list[Finding] = []

    usage = assign(
        buckets,
        {s.serviceid: s.username for s in live},
        {s.serviceid: s.owner_id for s in live if s.owner_id},
    )
    for s in services:
        if s.whmcs_status in LIVE and s.record_state not in RECORD_LIVE:
            what = "never created" if not s.record_state else s.record_state
            findings.append(
                Finding("missing_user", s.username or f"#{s.serviceid}", s.serviceid, "account exists", what, "none")
            )
    for s in live:
        acct = by_user.get(s.username)
        if acct is None:
            findings.append(Finding("missing_user", s.username, s.serviceid, "account exists", "no account", "none"))
            continue
        want_enabled = s.whmcs_status == "Active"
        if acct.enabled is not None and acct.enabled != want_enabled:
            findings.append(
                Finding(
                    "state_mismatch",
                    s.username,
                    s.serviceid,
                    "enabled" if want_enabled else "disabled",
                    "enabled" if acct.enabled else "disabled",
                    "enable" if want_enabled else "disable",
                )
            )
        if acct.policy is not None:
            used = usage[s.serviceid].bytes
            want: PolicyKind = choose(used, s.disk_limit_bytes)
            if acct.policy != want:
                findings.append(
                    Finding(
                        "policy_mismatch", s.username, s.serviceid, want, acct.policy or "no policy", "apply_policy"
                    )
                )

    # Whom each leftover account belonged to, for the row's link (the newest record of that username).
    former = {s.username: s.serviceid for s in sorted(services, key=lambda s: s.serviceid) if s.username}
    for name in sorted(by_user):
        if name in live_users:
            continue
        acct = by_user[name]
        state = "enabled" if acct.enabled else "disabled" if acct.enabled is not None else "present"
        findings.append(Finding("orphan_user", name, former.get(name), "no account", state, "delete_orphan"))

    owners = {a.owner_id for a in accounts if a.owner_id}
    live_owners = {s.owner_id for s in live if s.owner_id}
    for b in buckets:
        if b.owner:
            if b.owner in live_owners or b.owner in owners:
                continue  # a live account's, or an orphan's (deleted with it)
        else:
            prefix, sep, _ = b.name.partition(SEPARATOR)
            if sep and (prefix in live_users or prefix in by_user):
                continue
        findings.append(Finding("stray_bucket", b.name, None, "in an account's namespace", "in none", "none"))

    rank = {k: i for i, k in enumerate(KINDS)}
    # Within state mismatches, "should be disabled but is enabled" first.
    return sorted(findings, key=lambda f: (rank[f.kind], f.repair != "disable", f.subject))


def current_buckets(scanned: Sequence[BucketUsage], existing: Iterable[str]) -> list[BucketUsage]:
    """The scanner's figures for the buckets that exist now (`existing`: a live listing). The scanner lags: a bucket
    deleted since its last pass is dropped (it is no one's stray), one made since is kept with no figures yet."""
    names = set(existing)
    out = [b for b in scanned if b.name in names]
    seen = {b.name for b in out}
    out.extend(BucketUsage(name, 0, 0) for name in sorted(names - seen))
    return out


def may_delete(finding: Finding, *, confirmation: str, first_seen: datetime, now: datetime, grace: timedelta) -> str:
    """Why an orphan's data may not be deleted now ("" when it may): the admin must type the account's name exactly,
    and the orphan must have been seen for the whole grace period."""
    if finding.repair != "delete_orphan":
        return "only an orphan's data is deleted by a repair"
    if confirmation != finding.subject:
        return f"type the account's name '{finding.subject}' to confirm deleting its data"
    waited = now - first_seen
    if waited < grace:
        left = grace - waited
        hours = int(left.total_seconds() // 3600)
        minutes = int(left.total_seconds() % 3600 // 60)
        return (
            f"first seen {first_seen:%Y-%m-%d %H:%M} UTC; its data can be deleted once the grace period is over"
            f" ({hours} h {minutes} min left)"
        )
    return ""


def counts(findings: Iterable[Finding]) -> dict[DriftKind, int]:
    out: dict[DriftKind, int] = dict.fromkeys(KINDS, 0)
    for f in findings:
        out[f.kind] += 1
    return out


# `s3bridge reconcile` exit codes, as monitoring plugins use them (Nagios, Icinga, Sensu).
EXIT_CLEAN, EXIT_DRIFT, EXIT_CRITICAL, EXIT_UNKNOWN = 0, 1, 2, 3


def exit_status(remaining: Iterable[tuple[str, str]]) -> int:
    """From the (kind, expected) of the findings left unrepaired: critical when a service WHMCS suspended can still
    use its storage, drift for anything else, clean for nothing."""
    items = list(remaining)
    if any(kind == "state_mismatch" and expected == "disabled" for kind, expected in items):
        return EXIT_CRITICAL
    return EXIT_DRIFT if items else EXIT_CLEAN
