"""Contract: storage quotas, rate limits and traffic statistics (StorageQuotas, RateLimiting, TrafficStatistics), and
what only an emulated gateway lets a test do (GATEWAY_HOOKS: see the requests it was sent, make a state change not
happen, store objects that cannot be read)."""

from __future__ import annotations

import asyncio

import pytest

from bridge.backends.capabilities import AccessKeys, RateLimiting, StorageQuotas, TrafficStatistics
from bridge.backends.ostor.driver import OstorBackend
from bridge.domain.values import RateLimits, TrafficCollection, TrafficRecord
from bridge.errors import BackendError
from tests.conftest import unique
from tests.contract.conftest import CLOSE_PERIOD, GATEWAY_HOOKS, Harness, having

# -- quotas --------------------------------------------------------------------------------------------------------


def quotas_of(h: Harness) -> StorageQuotas:
    assert isinstance(h.backend, StorageQuotas)
    return h.backend


@having(StorageQuotas)
async def test_storage_quota_is_set_changed_and_removed_or_refused_naming_what_enables_quotas(
    harness: Harness,
) -> None:
    quotas = quotas_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    assert await quotas.quota_gb(name) is None
    if not harness.quota_accounting:
        with pytest.raises(BackendError, match="ostor-ctl add-acc") as refused:
            await quotas.set_quota_gb(name, 10)
        assert refused.value.code == "quota_accounting_off"
        assert await quotas.quota_gb(name) is None
        return
    await quotas.set_quota_gb(name, 10)
    await quotas.set_quota_gb(name, 10)
    assert await quotas.quota_gb(name) == 10
    await quotas.set_quota_gb(name, 25)
    assert await quotas.quota_gb(name) == 25
    await quotas.set_quota_gb(name, None)
    await quotas.set_quota_gb(name, None)
    assert await quotas.quota_gb(name) is None


@having(StorageQuotas)
async def test_an_account_without_quotas_is_provisioned_cleared_and_deleted_whether_or_not_the_server_takes_quotas(
    harness: Harness,
) -> None:
    """A product without a quota never depends on quota support: clearing is "already so" when there is none."""
    quotas = quotas_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--a",)))
    await quotas.set_quota_gb(name, None)
    assert await quotas.set_bucket_quotas_gb(name, None) == 1
    report = await harness.backend.delete_account(name)
    assert (report.buckets, report.user_removed) == (1, True)


# -- rate limits ---------------------------------------------------------------------------------------------------


def limits_of(h: Harness) -> RateLimiting:
    assert isinstance(h.backend, RateLimiting)
    return h.backend


@having(RateLimiting)
async def test_rate_limits_are_set_exactly_and_all_zero_removes_them(harness: Harness) -> None:
    limits = limits_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    assert (await limits.rate_limits(name)).unlimited  # never set: unlimited, also where the server says "none"
    wanted = RateLimits(ops_get=3600.0, ops_put=50.0, bandwidth_out=100)
    await limits.set_rate_limits(name, wanted)
    assert await limits.rate_limits(name) == wanted
    await limits.set_rate_limits(name, RateLimits(ops_get=10.0))
    assert await limits.rate_limits(name) == RateLimits(ops_get=10.0)
    await limits.set_rate_limits(name, RateLimits())
    assert (await limits.rate_limits(name)).unlimited


@having(RateLimiting)
async def test_a_fractional_operations_rate_is_refused_with_a_sentence_and_nothing_is_set(harness: Harness) -> None:
    limits = limits_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    with pytest.raises(BackendError, match="whole number") as refused:
        await limits.set_rate_limits(name, RateLimits(ops_get=10.0, ops_put=50.5))
    assert refused.value.code == "invalid_limit"
    assert (await limits.rate_limits(name)).unlimited


@having(RateLimiting, needs=GATEWAY_HOOKS)
async def test_the_products_kilobytes_per_second_reach_the_gateway_as_kilobits_per_second(harness: Harness) -> None:
    """The guide's unit is "kbs/s" (lower-case b: bits): 100 KB/s sold is 800 kbit/s on the gateway, whole numbers."""
    assert harness.emulator is not None
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    mark = harness.admin_mark()
    await limits_of(harness).set_rate_limits(name, RateLimits(ops_get=3600.0, bandwidth_out=100))
    sent = {
        q["limit-resource"]: q["limit-value"]
        for m, s, q in harness.admin_calls_since(mark)
        if (m, s) == ("PUT", "ostor-limits")
    }
    assert (sent["out"], sent["get"], sent["put"]) == ("800", "3600", "0")


# -- state changes that do not happen ------------------------------------------------------------------------------


@having(AccessKeys, needs=GATEWAY_HOOKS)
async def test_a_suspend_the_gateway_accepts_but_does_not_carry_out_is_reported_with_the_state_it_shows(
    harness: Harness,
) -> None:
    assert harness.emulator is not None
    assert isinstance(harness.backend, OstorBackend)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    harness.emulator.state.stuck_states.add(harness.backend.email(name))
    with pytest.raises(BackendError, match="accepted 'disable'") as refused:
        await harness.backend.set_enabled(name, False)
    assert refused.value.code == "state_mismatch"
    reported = "state as 'enabled'" if harness.kind.variant and harness.kind.variant.state_reported else "still reach"
    assert reported in refused.value.message


# -- traffic -------------------------------------------------------------------------------------------------------


def traffic_of(h: Harness) -> TrafficStatistics:
    assert isinstance(h.backend, TrafficStatistics)
    return h.backend


def close_statistics_period(h: Harness) -> None:
    assert h.emulator is not None, "a harness that can close a period has the emulator"
    h.emulator.state.roll_usage()


class Stored:
    def __init__(self) -> None:
        self.objects: dict[str, tuple[TrafficRecord, ...]] = {}

    async def __call__(self, obj: str, records: tuple[TrafficRecord, ...]) -> None:
        self.objects[obj] = records


@having(TrafficStatistics, needs=CLOSE_PERIOD)
async def test_traffic_is_collected_per_account_and_each_object_deleted_after_it_was_stored(harness: Harness) -> None:
    """Also where the gateway prints hexadecimal service ids bare in the statistics object."""
    traffic = traffic_of(harness)
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.put(name, bucket, "up", b"u" * 500)
    close_statistics_period(harness)
    stored = Stored()
    assert await traffic.collect_traffic(stored) == TrafficCollection(1)
    owner = await traffic.owner_id(name)
    mine = [r for records in stored.objects.values() for r in records if r.owner_id == owner and r.bucket == bucket]
    assert (sum(r.bytes_in for r in mine), sum(r.ops_put for r in mine)) == (500, 1)
    assert await traffic.collect_traffic(stored) == TrafficCollection(0)  # collected objects are gone


@having(TrafficStatistics, needs=CLOSE_PERIOD)
async def test_a_statistics_object_whose_store_failed_is_kept_for_the_next_collection(harness: Harness) -> None:
    traffic = traffic_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--data",)))
    close_statistics_period(harness)

    async def failing(obj: str, records: tuple[TrafficRecord, ...]) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await traffic.collect_traffic(failing)
    stored = Stored()
    assert (await traffic.collect_traffic(stored)).collected == 1
    assert len(stored.objects) == 1


BROKEN = b'{"fmt_version": 1, "service_id": 80000000000000zz, "items": ['  # cut short, and not a number


@having(TrafficStatistics, needs=GATEWAY_HOOKS)
async def test_an_unreadable_statistics_object_is_kept_and_named_and_the_others_are_collected(
    harness: Harness,
) -> None:
    assert harness.emulator is not None
    traffic = traffic_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--data",)))
    broken = "s3-usage-800000000000006a-2017-02-01T16:27:24.000Z-1800"
    harness.emulator.state.raw_stats[broken] = BROKEN
    close_statistics_period(harness)
    stored = Stored()
    result = await traffic.collect_traffic(stored)
    assert (result.collected, result.unreadable) == (1, (broken,))
    assert broken not in stored.objects
    assert broken in harness.emulator.state.raw_stats  # kept on the gateway for an admin, never deleted
    again = await traffic.collect_traffic(stored)
    assert (again.collected, again.unreadable) == (0, (broken,))


@having(TrafficStatistics, needs=GATEWAY_HOOKS)
async def test_paging_statistics_ends_when_a_page_brings_nothing_new(harness: Harness) -> None:
    """A gateway that ignores `after=` and keeps saying `truncated` (the strict variant) cannot make it loop."""
    assert harness.emulator is not None
    assert harness.kind.variant is not None
    state = harness.emulator.state
    state.page_size = 2
    kept = [f"s3-usage-800000000000006a-2017-02-01T16:2{i}:24.000Z-1800" for i in range(3)]
    for obj in kept:
        state.raw_stats[obj] = BROKEN
    result = await asyncio.wait_for(traffic_of(harness).collect_traffic(Stored()), timeout=10)
    assert result.collected == 0
    if harness.kind.variant.ignores_after:
        assert (result.unreadable, result.paging_stopped) == (tuple(kept[:2]), True)
    else:
        assert (result.unreadable, result.paging_stopped) == (tuple(kept), False)
