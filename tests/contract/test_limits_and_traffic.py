"""Contract: storage quotas, rate limits and traffic statistics (StorageQuotas, RateLimiting, TrafficStatistics), and
what only an emulated gateway lets a test do (GATEWAY_HOOKS: see the requests it was sent, make a state change not
happen, store objects that cannot be read)."""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from dataclasses import replace

import pytest

from bridge.backends.capabilities import AccessKeys, RateLimiting, StorageQuotas, TrafficStatistics
from bridge.backends.ostor.admin_client import for_bucket
from bridge.backends.ostor.driver import OstorBackend
from bridge.domain.values import RateLimits, TrafficCollection, TrafficRecord
from bridge.errors import BackendError
from tests.conftest import unique
from tests.contract.conftest import CLOSE_PERIOD, GATEWAY_HOOKS, Harness, having, run

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
    if not harness.quota_accounting:  # every quota request is refused: never read as "none"
        for call in (lambda: quotas.set_quota_gb(name, 10), lambda: quotas.quota_gb(name)):
            with pytest.raises(BackendError, match="ostor-ctl add-acc") as refused:
                await call()
            assert refused.value.code == "quota_accounting_off"
        return
    assert await quotas.quota_gb(name) is None
    await quotas.set_quota_gb(name, 10)
    await quotas.set_quota_gb(name, 10)
    assert await quotas.quota_gb(name) == 10
    await quotas.set_quota_gb(name, 25)
    assert await quotas.quota_gb(name) == 25
    await quotas.set_quota_gb(name, None)
    await quotas.set_quota_gb(name, None)
    assert await quotas.quota_gb(name) is None


@having(StorageQuotas, needs=GATEWAY_HOOKS)
async def test_removing_quotas_reads_first_and_sends_no_delete_when_there_is_none(harness: Harness) -> None:
    """Deleting a quota never set answers an error on some gateways (`Variant.unset_deletes_404`); without quota
    accounting the read is refused, and that refusal is an error with the sentence, never taken as "none" (the
    module itself sends no quota request for a product without quotas: functions/limits.py)."""
    quotas = quotas_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--a",)))
    mark = harness.admin_mark()
    if not harness.quota_accounting:
        with pytest.raises(BackendError, match="ostor-ctl add-acc") as refused:
            await quotas.set_quota_gb(name, None)
        assert refused.value.code == "quota_accounting_off"
    else:
        await quotas.set_quota_gb(name, None)
        assert await quotas.set_bucket_quotas_gb(name, None, replacing=None) == 0
    sent = [(m, s) for m, s, _ in harness.admin_calls_since(mark) if s == "ostor-quotas"]
    assert ("DELETE", "ostor-quotas") not in sent


@having(StorageQuotas, needs=GATEWAY_HOOKS)
async def test_per_bucket_quotas_someone_else_set_are_left_alone(harness: Harness) -> None:
    """The module converges only buckets with no quota or the one it set before (`replacing`); a bucket quota an
    admin set on the cluster stays, through a change of the product and its removal."""
    assert isinstance(harness.backend, OstorBackend)
    quotas = quotas_of(harness)
    name = unique("c")
    mine, theirs = f"{name}--a", f"{name}--b"
    await harness.backend.provision(harness.spec(name, buckets=(mine, theirs)))
    if not harness.quota_accounting:
        with pytest.raises(BackendError, match="ostor-ctl add-acc"):
            await quotas.set_bucket_quotas_gb(name, 10, replacing=0)
        return
    await harness.backend.admin.set_quota(for_bucket(theirs), 50)  # set by hand on the cluster

    admin = harness.backend.admin

    async def sizes() -> dict[str, int | None]:
        out = {}
        for b in (mine, theirs):
            q = await admin.get_quota(for_bucket(b))
            out[b] = q.size_gb if q else None
        return out

    assert await quotas.set_bucket_quotas_gb(name, 10, replacing=0) == 1
    assert await sizes() == {mine: 10, theirs: 50}
    assert await quotas.set_bucket_quotas_gb(name, 20, replacing=10) == 1
    assert await sizes() == {mine: 20, theirs: 50}
    assert await quotas.set_bucket_quotas_gb(name, None, replacing=20) == 1
    assert await sizes() == {mine: None, theirs: 50}


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


def sent_limits(harness: Harness, mark: int) -> dict[str, str]:
    return {
        q["limit-resource"]: q["limit-value"]
        for m, s, q in harness.admin_calls_since(mark)
        if (m, s) == ("PUT", "ostor-limits")
    }


@having(RateLimiting, needs=GATEWAY_HOOKS)
async def test_the_products_numbers_reach_the_gateway_unchanged_unless_the_server_declares_its_units(
    harness: Harness,
) -> None:
    """Nobody has confirmed the gateway's units ("kb/s", "kbs/s"; ops per second or per minute): by default the
    product's setting is in the gateway's own words and sent as it is (as the guide's WHMCS sample does). A server
    that declares them (Access Hash `bandwidth_unit=kbit|kbyte`, `ops_unit=per_second|per_minute`) gets the
    product's KB/s and ops/s converted."""
    assert isinstance(harness.backend, OstorBackend)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    mark = harness.admin_mark()
    await limits_of(harness).set_rate_limits(name, RateLimits(ops_get=3600.0, bandwidth_out=100))
    assert (sent_limits(harness, mark)["out"], sent_limits(harness, mark)["get"]) == ("100", "3600")
    for bandwidth, ops, want in (("kbit", "per_minute", ("800", "3600")), ("kbyte", "per_second", ("100", "60"))):
        settings = replace(harness.backend.settings, bandwidth_unit=bandwidth, ops_unit=ops)  # type: ignore[arg-type]
        declared = OstorBackend(harness.backend.server, harness.backend.clients, settings)
        mark = harness.admin_mark()
        held = await declared.set_rate_limits(name, RateLimits(ops_get=60.0, bandwidth_out=100))
        assert (sent_limits(harness, mark)["out"], sent_limits(harness, mark)["get"]) == want
        assert held == RateLimits(ops_get=60.0, bandwidth_out=100)  # read back and converted the same way


@having(RateLimiting, needs=GATEWAY_HOOKS)
async def test_limits_are_read_back_after_they_are_set_and_a_different_number_is_told(harness: Harness) -> None:
    """A gateway that holds another number than was sent (its read-back unit differs, as the API reference's PUT
    ops/min against GET ops/sec would): `set_rate_limits` returns what it holds, so the admin tab can say so."""
    assert harness.emulator is not None
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    harness.emulator.state.limit_readback["bandwidth"] = 8.0
    sold = RateLimits(ops_get=10.0, bandwidth_out=100)
    held = await limits_of(harness).set_rate_limits(name, sold)
    assert held == RateLimits(ops_get=10.0, bandwidth_out=800)
    assert sold.differences(held) == ["bandwidth out 800 held, 100 sold"]


@having(RateLimiting, needs=GATEWAY_HOOKS)
async def test_clearing_limits_reads_first_and_deletes_only_what_is_set(harness: Harness) -> None:
    limits = limits_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    mark = harness.admin_mark()
    await limits.set_rate_limits(name, RateLimits())
    assert [m for m, s, _ in harness.admin_calls_since(mark) if s == "ostor-limits"] == ["GET"]
    await limits.set_rate_limits(name, RateLimits(ops_put=5.0))
    mark = harness.admin_mark()
    await limits.set_rate_limits(name, RateLimits())
    assert [m for m, s, _ in harness.admin_calls_since(mark) if s == "ostor-limits"][:2] == ["GET", "DELETE"]
    assert (await limits.rate_limits(name)).unlimited


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


# -- the bandwidth unit, measured ----------------------------------------------------------------------------------

LIMIT_VALUE = 400  # sent to `limit-value` unchanged: 400 kB/s or 400 kbit/s (50 kB/s), k = 1000
KBIT, KBYTE = "kbit", "kbyte"


def unit_of(elapsed_s: float, size: int) -> str:
    """Which unit explains the time a download of `size` bytes took under LIMIT_VALUE: the two expectations differ
    by 8, so the geometric mean between them splits them."""
    as_kbyte = size / (LIMIT_VALUE * 1000)
    return KBIT if elapsed_s > as_kbyte * math.sqrt(8) else KBYTE


@having(RateLimiting)
async def test_a_timed_download_under_a_bandwidth_limit_tells_the_gateways_unit(harness: Harness) -> None:
    """Nobody documents whether `bandwidth:out` counts kilobits or kilobytes: this download settles it on the
    gateway it runs against. The emulator applies its variant's unit (and the measurement must find it); a live
    gateway's unit is printed, and must match `S3BRIDGE_LIVE_OSTOR_BANDWIDTH_UNIT` when one is declared."""
    assert isinstance(harness.backend, OstorBackend)
    passthrough = OstorBackend(
        harness.backend.server,
        harness.backend.clients,
        replace(harness.backend.settings, bandwidth_unit="gateway"),
    )
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    size = 100_000 if harness.kind.live is None else 2_000_000  # a real gateway may let a first burst through
    await harness.put(name, bucket, "timed.bin", secrets.token_bytes(size))
    await passthrough.set_rate_limits(name, RateLimits(bandwidth_out=LIMIT_VALUE))
    s3 = await harness.as_account(name)

    def download() -> int:
        response = s3.get_object(bucket, "timed.bin")
        try:
            return len(response.read())
        finally:
            response.close()
            response.release_conn()

    started = time.monotonic()
    assert await run(download) == size
    elapsed = time.monotonic() - started
    measured = unit_of(elapsed, size)
    took = f"{size} bytes under limit-value={LIMIT_VALUE} took {elapsed:.2f} s"
    print(f"{harness.kind.id}: {took}: bandwidth:out counts {measured}/s")
    if harness.kind.variant is not None:
        assert measured == harness.kind.variant.bandwidth_unit
    elif harness.kind.live is not None and harness.kind.live.bandwidth_unit:
        assert measured == harness.kind.live.bandwidth_unit, f"declared {harness.kind.live.bandwidth_unit}"
    assert elapsed >= size / (LIMIT_VALUE * 1000) * 0.5, "the limit was not applied at all"
