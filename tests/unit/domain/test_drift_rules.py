"""The drift rules (bridge/domain/drift.py): pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bridge.domain.drift import (
    EXIT_CLEAN,
    EXIT_CRITICAL,
    EXIT_DRIFT,
    Finding,
    ServiceView,
    StoredAccount,
    current_buckets,
    exit_status,
    find_drift,
    may_delete,
)
from bridge.domain.values import BucketUsage

GB = 1024**3


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.kind, f.subject) for f in findings]


def test_agreement_is_no_drift() -> None:
    services = [ServiceView(1, "Active", "active", "u1"), ServiceView(2, "Suspended", "suspended", "u2")]
    accounts = [StoredAccount("u1", True, "standard"), StoredAccount("u2", False, "standard")]
    assert find_drift(services, accounts, [BucketUsage("u1--a", 5, 1), BucketUsage("u2--b", 5, 1)]) == []


def test_a_suspended_service_enabled_on_storage_comes_first_and_is_repaired_by_disabling() -> None:
    services = [ServiceView(1, "Active", "active", "a"), ServiceView(2, "Suspended", "suspended", "z")]
    accounts = [StoredAccount("a", False, "standard"), StoredAccount("z", True, "standard")]
    found = find_drift(services, accounts, [])
    assert kinds(found) == [("state_mismatch", "z"), ("state_mismatch", "a")]
    assert [f.repair for f in found] == ["disable", "enable"]
    assert all(f.safe for f in found)


def test_orphans_are_managed_accounts_or_known_names_with_no_live_service_and_never_safe() -> None:
    services = [
        ServiceView(1, "Terminated", "active", "gone"),  # WHMCS terminated it, the storage kept it
        ServiceView(2, "", "active", "deleted"),  # WHMCS has no such service any more
        ServiceView(3, "Active", "active", "live"),
    ]
    accounts = [
        StoredAccount("gone", True, ""),  # no s3bridge policy, but a record names it
        StoredAccount("deleted", True, "standard"),
        StoredAccount("live", True, "standard"),
        StoredAccount("stranger", True, "standard"),  # managed, no record
        StoredAccount("the-admins-own", True, "readwrite", managed=False),  # someone else's: left alone
    ]
    found = find_drift(services, accounts, [])
    assert kinds(found) == [("orphan_user", "deleted"), ("orphan_user", "gone"), ("orphan_user", "stranger")]
    assert {f.serviceid for f in found} == {2, 1, None}
    assert not any(f.safe for f in found)


def test_a_live_service_without_account_or_record_is_missing_with_no_automatic_repair() -> None:
    services = [ServiceView(1, "Active", "active", "u1"), ServiceView(2, "Active", "", "")]
    found = find_drift(services, [], [])
    assert kinds(found) == [("missing_user", "#2"), ("missing_user", "u1")]
    assert {f.repair for f in found} == {"none"}


def test_policy_follows_usage_by_namespace_or_by_owner() -> None:
    services = [
        ServiceView(1, "Active", "active", "full", disk_limit_bytes=GB),
        ServiceView(2, "Active", "active", "roomy", disk_limit_bytes=GB),
    ]
    accounts = [StoredAccount("full", True, "standard"), StoredAccount("roomy", True, "limited")]
    found = find_drift(services, accounts, [BucketUsage("full--x", GB, 1), BucketUsage("roomy--y", 10, 1)])
    assert [(f.subject, f.expected, f.actual) for f in found] == [
        ("full", "limited", "standard"),
        ("roomy", "standard", "limited"),
    ]
    # ostor: no per-user policies, so no policy findings
    assert find_drift(services[:1], [StoredAccount("full", True, None)], [BucketUsage("full--x", GB, 1)]) == []


def test_stray_buckets_are_those_of_no_account_by_name_or_by_owner() -> None:
    services = [ServiceView(1, "Active", "active", "u1", owner_id="o1")]
    accounts = [StoredAccount("u1", True, None, owner_id="o1"), StoredAccount("orph", True, None, owner_id="o2")]
    buckets = [
        BucketUsage("anything", 1, 0, owner="o1"),  # owned by a live account (ostor names freely)
        BucketUsage("orphans", 1, 0, owner="o2"),  # an orphan's: deleted with it, not stray
        BucketUsage("u1--named", 1, 0, owner="o9"),  # the name says u1, the owner says nobody: stray
        BucketUsage("loose", 1, 0),
    ]
    found = find_drift(services, accounts, buckets)
    assert kinds(found) == [("orphan_user", "orph"), ("stray_bucket", "loose"), ("stray_bucket", "u1--named")]


def test_the_buckets_that_exist_now_keep_the_scanners_figures_and_drop_what_the_scanner_saw_before_a_delete() -> None:
    scanned = [BucketUsage("gone--a", 7, 1), BucketUsage("kept--b", 5, 2)]
    now = current_buckets(scanned, {"kept--b", "new--c"})
    assert now == [BucketUsage("kept--b", 5, 2), BucketUsage("new--c", 0, 0)]
    # a bucket deleted since the scan is no one's stray; one made since the scan already is
    services = [ServiceView(1, "Terminated", "terminated", "gone"), ServiceView(2, "Active", "active", "kept")]
    accounts = [StoredAccount("kept", True, "standard")]
    assert kinds(find_drift(services, accounts, now)) == [("stray_bucket", "new--c")]


def test_deleting_an_orphan_needs_its_typed_name_and_the_whole_grace_period() -> None:
    orphan = Finding("orphan_user", "old", 5, "no account", "enabled", "delete_orphan")
    seen = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    grace = timedelta(hours=72)
    assert "type the account's name 'old'" in may_delete(
        orphan, confirmation="OLD", first_seen=seen, now=seen + grace, grace=grace
    )
    early = may_delete(orphan, confirmation="old", first_seen=seen, now=seen + timedelta(hours=71), grace=grace)
    assert "1 h 0 min left" in early
    assert may_delete(orphan, confirmation="old", first_seen=seen, now=seen + grace, grace=grace) == ""
    state = Finding("state_mismatch", "x", 1, "disabled", "enabled", "disable")
    assert may_delete(state, confirmation="x", first_seen=seen, now=seen + grace, grace=grace) != ""


def test_exit_status_is_critical_only_when_a_suspended_service_can_still_write() -> None:
    assert exit_status([]) == EXIT_CLEAN
    assert exit_status([("orphan_user", "no account"), ("state_mismatch", "enabled")]) == EXIT_DRIFT
    assert exit_status([("orphan_user", "no account"), ("state_mismatch", "disabled")]) == EXIT_CRITICAL
