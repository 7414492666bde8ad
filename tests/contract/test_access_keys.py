"""Contract: server-generated key pairs and their two-step rotation (the AccessKeys capability)."""

from __future__ import annotations

import pytest

from bridge.backends.capabilities import AccessKeys
from bridge.domain.values import KeyPair
from bridge.errors import BackendError
from tests.conftest import unique
from tests.contract.conftest import Harness, having
from tests.support.key_rotation import rotate_key_pair


def keys_of(h: Harness) -> AccessKeys:
    assert isinstance(h.backend, AccessKeys)
    return h.backend


@having(AccessKeys)
async def test_key_rotation_hands_over_the_new_pair_before_the_old_one_is_revoked(harness: Harness) -> None:
    keys = keys_of(harness)
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    (old,) = await keys.key_pairs(name)
    seen_while_storing: list[bool] = []

    async def store(new: KeyPair) -> None:
        seen_while_storing.append(await harness.can_read(harness.s3(old.access_key, old.secret_key), bucket))
        seen_while_storing.append(await harness.can_read(harness.s3(new.access_key, new.secret_key), bucket))

    new = await rotate_key_pair(keys, name, old.access_key, store)
    assert new.access_key != old.access_key
    assert seen_while_storing == [True, True]
    assert await keys.key_pairs(name) == (new,)
    assert await harness.backend.credentials_valid(name, old.secret_key) is False
    assert await harness.backend.credentials_valid(name, new.secret_key) is True


@having(AccessKeys)
async def test_the_pair_a_rotation_begins_with_is_the_one_the_account_did_not_hold_before(harness: Harness) -> None:
    """Whether the server answers the new pair only or all pairs in any order, the new one is handed out."""
    keys = keys_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    before = await keys.key_pairs(name)
    new = await keys.begin_key_rotation(name, before[0].access_key)
    assert new.access_key not in {k.access_key for k in before}
    assert new in await keys.key_pairs(name)


@having(AccessKeys)
async def test_key_rotation_after_a_failed_store_hands_out_the_same_new_pair_not_a_third(harness: Harness) -> None:
    keys = keys_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    (old,) = await keys.key_pairs(name)
    offered: list[KeyPair] = []

    async def failing_store(new: KeyPair) -> None:
        offered.append(new)
        raise RuntimeError("WHMCS did not store it")

    with pytest.raises(RuntimeError):
        await rotate_key_pair(keys, name, old.access_key, failing_store)
    assert await harness.backend.credentials_valid(name, old.secret_key) is True

    async def store(new: KeyPair) -> None:
        offered.append(new)

    await rotate_key_pair(keys, name, old.access_key, store, offered[0].access_key)  # the record's pending pair
    assert offered[0] == offered[1]
    assert offered[0].access_key != old.access_key
    assert await keys.key_pairs(name) == (offered[0],)


@having(AccessKeys)
async def test_finishing_a_rotation_for_an_unknown_key_revokes_nothing(harness: Harness) -> None:
    keys = keys_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    before = await keys.key_pairs(name)
    with pytest.raises(BackendError, match="nothing was revoked") as refused:
        await keys.finish_key_rotation(name, "NOSUCHKEY")
    assert refused.value.code == "no_such_key"
    assert await keys.key_pairs(name) == before


@having(AccessKeys)
async def test_rotation_never_hands_out_a_pair_the_customer_made_itself(harness: Harness) -> None:
    """The customer made a second pair in the panel: Rotate Keys must not return it (a leaked panel key would become
    the service key and no fresh secret would be issued). With both pairs held, it refuses and revokes nothing."""
    keys = keys_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    (service_pair,) = await keys.key_pairs(name)
    own = await keys.begin_key_rotation(name, service_pair.access_key)  # the panel's "create key": a new pair
    assert own.access_key != service_pair.access_key
    with pytest.raises(BackendError, match=own.access_key) as refused:
        await keys.begin_key_rotation(name, service_pair.access_key)
    assert refused.value.code == "too_many_keys"
    assert set(await keys.key_pairs(name)) == {service_pair, own}
    await keys.finish_key_rotation(name, service_pair.access_key)  # the customer's pair goes (Revoke Old Keys)
    new = await keys.begin_key_rotation(name, service_pair.access_key)
    assert new.access_key not in {service_pair.access_key, own.access_key}


@having(AccessKeys)
async def test_rotation_hands_out_the_recorded_pending_pair_again_and_only_that_one(harness: Harness) -> None:
    keys = keys_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    (current,) = await keys.key_pairs(name)
    pending = await keys.begin_key_rotation(name, current.access_key)
    assert await keys.begin_key_rotation(name, current.access_key, pending.access_key) == pending
    await keys.finish_key_rotation(name, current.access_key)  # the pending pair was revoked meanwhile
    again = await keys.begin_key_rotation(name, current.access_key, pending.access_key)
    assert again.access_key not in {current.access_key, pending.access_key}
