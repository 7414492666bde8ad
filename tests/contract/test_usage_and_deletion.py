"""Contract: usage figures, deletion (Terminate) and the connection test, on every backend (see conftest.py)."""

from __future__ import annotations

import asyncio
import secrets
import time

from bridge.backends.capabilities import BucketOwnership, LiveBucketNames, RateLimiting
from bridge.backends.ostor.driver import OstorBackend
from bridge.domain.naming import owns_bucket
from bridge.domain.values import BucketUsage, RateLimits
from bridge.errors import BackendError
from tests.conftest import unique
from tests.contract.conftest import CLOSE_PERIOD, GATEWAY_HOOKS, Harness, having, run


async def test_usage_counts_the_bytes_and_objects_of_the_accounts_buckets_exactly(harness: Harness) -> None:
    """Bytes exactly; objects where the backend counts them by listing (MinIO). ostor's figures are the gateway's
    own `?ostor-buckets` sizes, without object counts (0, never a wrong number): a listing with the customer's keys
    would be billed to the customer in the gateway's statistics."""
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.put(name, bucket, "a.bin", b"a" * 1000)
    await harness.put(name, bucket, "dir/b c+d.bin", b"b" * 24)
    usage = await harness.backend.usage(name, budget_s=30)
    assert usage.exact is True
    objects = 0 if isinstance(harness.backend, BucketOwnership) else 2
    assert [(b.name, b.size, b.objects) for b in usage.buckets] == [(bucket, 1024, objects)]
    assert usage.bytes == 1024


async def test_usage_of_an_account_that_does_not_exist_is_empty_and_exact(harness: Harness) -> None:
    usage = await harness.backend.usage(unique("nobody"), budget_s=5)
    assert (usage.buckets, usage.exact) == ((), True)


async def test_server_usage_reports_every_bucket_of_every_account_with_what_was_written(harness: Harness) -> None:
    """Sizes always; object counts where the server's cheap answer has them (ostor's `?ostor-buckets` has none, so
    its counts are 0 for every bucket, never a wrong number)."""
    first, second = unique("c"), unique("c")
    await harness.backend.provision(harness.spec(first, buckets=(f"{first}--a", f"{first}--b")))
    await harness.backend.provision(harness.spec(second, buckets=(f"{second}--a", f"{second}--empty")))
    await harness.put(first, f"{first}--a", "one", b"1" * 1000)
    await harness.put(first, f"{first}--a", "dir/two", b"2" * 24)
    await harness.put(first, f"{first}--b", "three", b"3" * 7)
    for i in range(3):
        await harness.put(second, f"{second}--a", f"obj-{i}", b"x" * 100)
    written = {  # bucket: (bytes, objects)
        f"{first}--a": (1024, 2),
        f"{first}--b": (7, 1),
        f"{second}--a": (300, 3),
        f"{second}--empty": (0, 0),
    }

    def ours(buckets: list[BucketUsage]) -> dict[str, tuple[int, int]]:
        return {
            b.name: (b.size, b.objects) for b in buckets if owns_bucket(first, b.name) or owns_bucket(second, b.name)
        }

    def as_wanted(got: dict[str, tuple[int, int]]) -> bool:
        counts = any(objects for _, objects in got.values())
        return got == {n: (size, objects if counts else 0) for n, (size, objects) in written.items()}

    deadline = time.monotonic() + 60  # MinIO's scanner (MINIO_SCANNER_SPEED=fastest in the rig) may lag
    while True:
        buckets = await harness.backend.server_usage()
        if as_wanted(ours(buckets)) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)  # poll, never sleep blindly long
    assert as_wanted(ours(buckets)), ours(buckets)
    names = [b.name for b in buckets]
    assert len(names) == len(set(names))  # one entry per bucket


async def test_delete_account_removes_its_buckets_and_user_and_leaves_another_account_intact(harness: Harness) -> None:
    doomed, kept = unique("c"), unique("c")
    await harness.backend.provision(harness.spec(doomed, buckets=(f"{doomed}--a", f"{doomed}--b")))
    await harness.backend.provision(harness.spec(kept, buckets=(f"{kept}--a",)))
    for i in range(3):
        await harness.put(doomed, f"{doomed}--a", f"obj-{i}", b"x" * 10)
    await harness.put(kept, f"{kept}--a", "stays", b"keep me")

    report = await harness.backend.delete_account(doomed)

    assert (report.buckets, report.objects, report.user_removed) == (2, 3, True)
    assert await harness.backend.account_exists(doomed) is False
    remaining = await harness.all_buckets()
    assert not {b for b in remaining if b.startswith(f"{doomed}--")}
    assert f"{kept}--a" in remaining
    assert await harness.backend.account_exists(kept) is True
    assert await harness.keys_in(kept, f"{kept}--a") == ["stays"]


async def test_delete_account_again_finds_nothing_left_to_delete(harness: Harness) -> None:
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--a",)))
    await harness.backend.delete_account(name)
    again = await harness.backend.delete_account(name)
    assert (again.buckets, again.objects, again.user_removed) == (0, 0, False)


async def test_delete_account_of_a_suspended_account_never_lets_its_keys_work_again(harness: Harness) -> None:
    """The account is removed with its data where the server lets the admin delete it; where only the owner may
    delete objects, the deletion stops with a sentence and the account stays suspended: its keys are never
    re-enabled (the customer could reach the data during the termination)."""
    name = unique("c")
    bucket = f"{name}--a"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.put(name, bucket, "obj", b"data")
    s3 = await harness.as_account(name)
    await harness.backend.set_enabled(name, False)
    mark = harness.admin_mark()
    report, refused = None, None
    try:
        report = await harness.backend.delete_account(name)
    except BackendError as e:
        refused = e
    if refused is not None:
        assert refused.code == "delete_refused"
        assert "unsuspend the service and terminate it again" in refused.message
        assert await harness.backend.account_exists(name) is True
        assert await harness.can_read(s3, bucket) is False
    else:
        assert report is not None
        assert (report.buckets, report.objects, report.user_removed) == (1, 1, True)
        assert bucket not in await harness.all_buckets()
    enabled = [q for method, _, q in harness.admin_calls_since(mark) if method == "POST" and "enable" in q]
    assert enabled == []


async def test_test_connection_names_the_backend_and_endpoint(harness: Harness) -> None:
    report = await harness.backend.test_connection()
    assert report.backend == harness.backend.name
    assert report.endpoint == harness.endpoint


@having(LiveBucketNames)
async def test_bucket_names_lists_a_bucket_made_a_moment_ago_and_not_one_deleted_a_moment_ago(harness: Harness) -> None:
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--a", f"{name}--b")))
    assert isinstance(harness.backend, LiveBucketNames)
    assert {f"{name}--a", f"{name}--b"} <= await harness.backend.bucket_names()
    await harness.backend.delete_account(name)
    assert not {f"{name}--a", f"{name}--b"} & await harness.backend.bucket_names()


@having(BucketOwnership)
async def test_delete_account_also_deletes_buckets_the_account_named_freely(harness: Harness) -> None:
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    free_name = f"photos-{secrets.token_hex(4)}"  # the server lets an account name buckets freely: ownership counts
    await run((await harness.as_account(name)).make_bucket, free_name)
    await harness.put(name, free_name, "p.jpg", b"jpeg")
    report = await harness.backend.delete_account(name)
    assert (report.buckets, report.objects, report.user_removed) == (1, 1, True)
    assert free_name not in await harness.all_buckets()


@having(BucketOwnership)
async def test_server_usage_names_each_buckets_owner_as_owner_id_does(harness: Harness) -> None:
    assert isinstance(harness.backend, BucketOwnership)
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--a",)))
    owner = await harness.backend.owner_id(name)
    assert owner
    assert {b.owner for b in await harness.backend.server_usage() if b.name == f"{name}--a"} == {owner}


@having(BucketOwnership, needs=CLOSE_PERIOD)
async def test_usage_makes_no_request_the_gateway_bills_to_the_customer(harness: Harness) -> None:
    """Recalculate, ChangePackage and the meter's checks read usage: none of it may show in the customer's
    statistics (guide l.704-709: `ostor-buckets` gives each bucket's `size.current`)."""
    assert harness.emulator is not None
    assert isinstance(harness.backend, BucketOwnership)
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.put(name, bucket, "a.bin", b"a" * 1000)
    harness.emulator.state.roll_usage()  # the customer's own requests so far
    owner = await harness.backend.owner_id(name)
    usage = await harness.backend.usage(name, budget_s=30)
    assert usage.bytes == 1000
    assert [k for k in harness.emulator.state.traffic if k[0] == owner] == []  # nothing new counted for it


@having(BucketOwnership, needs=GATEWAY_HOOKS)
async def test_delete_account_deletes_only_buckets_the_user_owns_and_names_the_others(harness: Harness) -> None:
    """The gateway's email filter is not trusted: a bucket it lists whose `owner_id` (guide l.711) is another user's
    stays, with its data, and is named in the report."""
    assert harness.emulator is not None
    assert isinstance(harness.backend, OstorBackend)
    doomed, bystander = unique("c"), unique("c")
    await harness.backend.provision(harness.spec(doomed, buckets=(f"{doomed}--a",)))
    await harness.backend.provision(harness.spec(bystander, buckets=(f"{bystander}--a",)))
    await harness.put(bystander, f"{bystander}--a", "keep", b"keep me")
    harness.emulator.state.filter_leaks[harness.backend.email(doomed)] = {f"{bystander}--a"}
    report = await harness.backend.delete_account(doomed)
    assert (report.buckets, report.user_removed, report.foreign_buckets) == (1, True, (f"{bystander}--a",))
    assert await harness.keys_in(bystander, f"{bystander}--a") == ["keep"]
    assert f"{doomed}--a" not in await harness.all_buckets()


@having(BucketOwnership, needs=GATEWAY_HOOKS)
async def test_delete_account_reads_limits_and_quotas_first_and_never_touches_per_bucket_ones(harness: Harness) -> None:
    """Nothing set: no DELETE is sent (deleting what was never set answers an error on some gateways). Limits the
    user has are read and deleted; per-bucket limits and quotas are never the account deletion's business."""
    assert harness.emulator is not None
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--a",)))
    mark = harness.admin_mark()
    await harness.backend.delete_account(name)
    calls = harness.admin_calls_since(mark)
    assert [(m, s) for m, s, _ in calls if m == "DELETE" and s in ("ostor-limits", "ostor-quotas")] == []
    assert [q for _, s, q in calls if s in ("ostor-limits", "ostor-quotas") and "bucket" in q] == []
    other = unique("c")
    await harness.backend.provision(harness.spec(other))
    assert isinstance(harness.backend, RateLimiting)
    await harness.backend.set_rate_limits(other, RateLimits(ops_get=5.0))
    mark = harness.admin_mark()
    await harness.backend.delete_account(other)
    deleted = [q for m, s, q in harness.admin_calls_since(mark) if (m, s) == ("DELETE", "ostor-limits")]
    assert len(deleted) == 1
