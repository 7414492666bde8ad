"""Pure rules: usernames, the bucket namespace, policy templates, password rules, per-service locks, pending secrets."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime

import pytest

from bridge.domain import naming, policies
from bridge.domain.passwords import PasswordRule, PasswordRuleError
from bridge.locks import KeyedLocks

NOW = datetime(2026, 11, 25, 9, 8, 7, tzinfo=UTC)


def test_default_rule_expands_client_and_service_ids() -> None:
    assert naming.expand_rule("{client_id}-{service_id}", client_id=7, service_id=55, now=NOW) == "7-55"


def test_time_macros_and_random_parts_expand_and_are_lowercase() -> None:
    picks = itertools.cycle("aZ9")
    name = naming.expand_rule(
        "S3-{date}-{time}-{unixtime}-{random_letter_2}",
        client_id=1,
        service_id=2,
        now=NOW,
        choice=lambda _alphabet: next(picks),
    )
    assert name == f"s3-2026-11-25-09-08-07-{int(NOW.timestamp())}-az"


def test_no_two_valid_usernames_can_share_a_bucket_namespace() -> None:
    """Exhaustive over short names: a `--` prefix of one username never starts another's bucket."""
    alphabet = "a1-"
    names = [n for k in range(3, 6) for n in map("".join, itertools.product(alphabet, repeat=k))]
    valid = []
    for n in names:
        try:
            naming.check_username(n)
            valid.append(n)
        except naming.NamingError:
            pass
    assert "a-1" in valid
    assert "a--1" not in valid
    for a, b in itertools.permutations(valid, 2):
        assert not naming.owns_bucket(a, naming.bucket_prefix(b) + "x"), (a, b)


def test_rendered_policy_reaches_only_the_users_namespace() -> None:
    doc = policies.render(policies.DEFAULT_STANDARD, "7-55")
    assert doc["Statement"][0]["Resource"] == ["arn:aws:s3:::7-55--*"]


def test_the_seed_modules_prefix_policy_is_refused_with_the_fix() -> None:
    seed = '{"Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:::<USER_ID>*"]}]}'
    with pytest.raises(policies.PolicyError, match=r"arn:aws:s3:::<USER_ID>--\*"):
        policies.parse_template(seed)


def test_deny_statements_may_name_any_resource() -> None:
    policies.parse_template(
        '{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":'
        '"arn:aws:s3:::<USER_ID>--*"},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}'
    )


@pytest.mark.parametrize(
    ("used", "limit", "kind"),
    [(0, 0, "standard"), (10**12, 0, "standard"), (99, 100, "standard"), (100, 100, "limited"), (101, 100, "limited")],
)
def test_policy_choice_limits_only_when_the_disk_is_full(used: int, limit: int, kind: str) -> None:
    assert policies.choose(used, limit) == kind


def test_password_rule_generates_from_its_charset_at_its_length() -> None:
    rule = PasswordRule.parse("30:abcdefghij0123456789")
    pw = rule.generate()
    assert len(pw) == 30
    assert set(pw) <= set("abcdefghij0123456789")
    assert rule.generate() != pw


@pytest.mark.parametrize("rule", ["41:abcdefghijklmnop", "7:abcdefghijklmnop", "abc", "12:abc", "12:abcdefghij k"])
def test_bad_password_rules_are_refused(rule: str) -> None:
    with pytest.raises(PasswordRuleError):
        PasswordRule.parse(rule)


async def test_keyed_locks_serialize_one_key_and_let_other_keys_run() -> None:
    locks, order = KeyedLocks(), []

    async def work(key: int, tag: str) -> None:
        async with locks.hold(key):
            order.append(f"{tag}+")
            await asyncio.sleep(0.05)
            order.append(f"{tag}-")

    await asyncio.gather(work(1, "a"), work(1, "b"), work(2, "c"))
    assert order.index("a-") < order.index("b+")  # same service: one after the other
    assert order.index("c+") < order.index("a-")  # other service: in parallel
    assert len(locks) == 0  # nothing kept once idle


def test_usage_is_assigned_by_owner_where_the_server_reports_one_else_by_namespace() -> None:
    from bridge.domain.usage_rules import assign
    from bridge.domain.values import BucketUsage

    buckets = [
        BucketUsage("7-55--a", 10, 1),  # MinIO: by name
        BucketUsage("7-551--a", 20, 1),
        BucketUsage("no-namespace", 40, 1),  # nobody's
        BucketUsage("7-55--planted", 80, 1, owner="ostor-user-B"),  # ostor: named like A's, owned by B
    ]
    out = assign(buckets, {1: "7-55", 2: "7-551", 3: "b-user"}, {3: "ostor-user-B"})
    assert (out[1].bytes, out[2].bytes, out[3].bytes) == (10, 20, 80)
