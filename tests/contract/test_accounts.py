"""Contract: accounts, their state, credentials and policies, on every backend (see conftest.py)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest

from bridge.backends.base import AccountInfo, AccountSpec
from bridge.backends.capabilities import AccessKeys
from bridge.backends.minio.driver import MinioBackend, policy_name
from bridge.backends.ostor.driver import OstorBackend
from bridge.errors import BackendError, Unsupported
from tests.conftest import unique
from tests.contract.conftest import Harness, having, lacking, policies_for


async def test_account_exists_only_after_provision(harness: Harness) -> None:
    name = unique("c")
    assert await harness.backend.account_exists(name) is False
    await harness.backend.provision(harness.spec(name))
    assert await harness.backend.account_exists(name) is True


async def _attached_policy(harness: Harness, name: str) -> str:
    info = await harness.backend.account_info(name)
    assert info is not None
    return info.policy


async def test_account_info_shows_the_enabled_state_groups_and_attached_policy(harness: Harness) -> None:
    name = unique("c")
    assert await harness.backend.account_info(name) is None
    await harness.backend.provision(harness.spec(name))
    info = await harness.backend.account_info(name)
    assert info is not None
    assert (info.enabled, info.groups) == (True, ())
    assert info.policy in ("", policy_name(name, "standard"))  # "" where the server has no per-user policies
    await harness.backend.set_enabled(name, False)
    assert await harness.backend.account_info(name) == AccountInfo(False, (), info.policy)
    await harness.backend.set_enabled(name, True)
    assert await harness.backend.account_info(name) == info


async def test_list_buckets_names_only_the_accounts_buckets_with_their_creation_time(harness: Harness) -> None:
    mine, other = unique("c"), unique("c")
    started = datetime.now(UTC)
    await harness.backend.provision(harness.spec(mine, buckets=(f"{mine}--two", f"{mine}--one")))
    await harness.backend.provision(harness.spec(other, buckets=(f"{other}--one",)))
    listed = await harness.backend.list_buckets(mine)
    assert sorted(n for n, _ in listed) == [f"{mine}--one", f"{mine}--two"]
    for _, created in listed:
        when = datetime.fromisoformat(created)  # ISO 8601 with a zone, as the client area parses it
        assert when.tzinfo is not None
        assert started - timedelta(minutes=5) < when < datetime.now(UTC) + timedelta(minutes=5)
    assert await harness.backend.list_buckets(unique("nobody")) == []


async def test_provision_twice_makes_one_user_and_one_bucket_and_the_credentials_keep_working(
    harness: Harness,
) -> None:
    name = unique("c")
    bucket = f"{name}--data"
    spec = harness.spec(name, buckets=(bucket,))
    await harness.backend.provision(spec)
    first = await harness.credentials(name)
    await harness.backend.provision(spec)
    assert await harness.users_named(name) == 1
    assert {b for b in await harness.all_buckets() if b.startswith(f"{name}--")} == {bucket}
    assert await harness.credentials(name) == first
    assert await harness.can_read(harness.s3(*first), bucket) is True
    if isinstance(harness.backend, AccessKeys):
        assert len(await harness.backend.key_pairs(name)) == 1


async def test_provision_with_create_false_refuses_a_missing_account(harness: Harness) -> None:
    name = unique("c")
    spec = harness.spec(name)
    with pytest.raises(BackendError) as refused:
        await harness.backend.provision(AccountSpec(**{**spec.__dict__, "create": False, "secret": None}))
    assert refused.value.code == "no_such_account"
    assert await harness.backend.account_exists(name) is False


async def test_set_enabled_false_blocks_the_accounts_data_access_and_true_restores_it(harness: Harness) -> None:
    """Also where the server reports no state (or reports the old one): enable/disable is sent every time."""
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    s3 = await harness.as_account(name)
    for _ in range(2):  # twice: "already so" is success
        await harness.backend.set_enabled(name, False)
    assert await harness.can_read(s3, bucket) is False
    for _ in range(2):
        await harness.backend.set_enabled(name, True)
    assert await harness.can_read(s3, bucket) is True


async def test_provision_with_enabled_false_creates_the_bucket_and_leaves_the_account_disabled(
    harness: Harness,
) -> None:
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,), enabled=False))
    assert bucket in await harness.all_buckets()
    assert await harness.can_read(await harness.as_account(name), bucket) is False


async def test_credentials_valid_accepts_the_accounts_secret_and_rejects_another(harness: Harness) -> None:
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    _, secret = await harness.credentials(name)
    assert await harness.backend.credentials_valid(name, secret) is True
    assert await harness.backend.credentials_valid(name, "wrong-" + secret) is False
    assert await harness.backend.credentials_valid(unique("nobody"), secret) is False


@lacking(AccessKeys)  # a backend that generates its keys is tested for rotation instead
async def test_set_secret_replaces_the_secret_where_the_backend_takes_chosen_secrets(harness: Harness) -> None:
    assert not isinstance(harness.backend, AccessKeys)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    old = harness.secrets[name]
    await harness.backend.set_secret(name, "new-secret-" + secrets.token_hex(6), enabled=True)
    assert await harness.backend.credentials_valid(name, old) is False


@having(AccessKeys)
async def test_a_backend_that_generates_keys_refuses_a_chosen_secret_and_says_to_rotate(harness: Harness) -> None:
    assert isinstance(harness.backend, AccessKeys)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    before = await harness.credentials(name)
    with pytest.raises(BackendError, match="rotate the account's key pair") as refused:
        await harness.backend.set_secret(name, "chosen-secret-123", enabled=True)
    assert refused.value.code == "unsupported"
    assert await harness.credentials(name) == before


@having(AccessKeys)
async def test_two_accounts_get_two_distinct_server_users_and_key_pairs(harness: Harness) -> None:
    assert isinstance(harness.backend, AccessKeys)
    first, second = unique("c"), unique("c")
    await harness.backend.provision(harness.spec(first))
    await harness.backend.provision(harness.spec(second))
    assert (await harness.users_named(first), await harness.users_named(second)) == (1, 1)
    assert set(await harness.backend.key_pairs(first)).isdisjoint(await harness.backend.key_pairs(second))


# -- policies and groups -------------------------------------------------------------------------------------------


async def test_apply_policy_standard_keeps_the_account_able_to_write(harness: Harness) -> None:
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.backend.apply_policy(name, "standard", policies_for(name))
    await harness.put(name, bucket, "after-standard", b"ok")
    assert await harness.keys_in(name, bucket) == ["after-standard"]


async def test_apply_policy_limited_is_attached_where_supported_and_refused_as_unsupported_elsewhere(
    harness: Harness,
) -> None:
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    refused: Unsupported | None = None
    try:
        await harness.backend.apply_policy(name, "limited", policies_for(name))
    except Unsupported as e:
        refused = e
    if refused is not None:
        assert "storage quota" in refused.message  # says what to use instead
        assert await _attached_policy(harness, name) == ""
    else:
        assert await _attached_policy(harness, name) == policy_name(name, "limited")


async def test_a_group_is_applied_or_refused_before_anything_is_created(harness: Harness) -> None:
    name = unique("c")
    spec = AccountSpec(**{**harness.spec(name).__dict__, "group": unique("g")})
    refused: Unsupported | None = None
    try:
        await harness.backend.provision(spec)
    except Unsupported as e:
        refused = e
    if refused is not None:
        assert "no user groups" in refused.message
        assert await harness.backend.account_exists(name) is False
    else:
        info = await harness.backend.account_info(name)
        assert info is not None
        assert info.groups == (spec.group,)


def test_the_contract_covers_both_drivers() -> None:
    """The kinds the contract runs on include both drivers (so neither silently drops out of the suite)."""
    from tests.contract.conftest import KINDS

    assert {MinioBackend, OstorBackend} <= {k.driver for k in KINDS}
