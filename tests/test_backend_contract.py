"""One contract every storage backend must pass, run against each: real MinIO, and the ostor gateway emulator.

Tests call the `StorageBackend` methods directly. A `Harness` per backend does what the contract cannot express
itself: reach the data as the account, with the account's own credentials (MinIO: username + secret; ostor: the key
pair the gateway generated).

Nothing here is ever skipped (a skip reads like a pass in CI): every test is collected only for the backends it
applies to. Plain tests run on every backend; a capability test (`bridge.backends.capabilities`) is parametrized
with `having(<capability>)` over exactly the backends whose class has it, so a backend that gains a capability is
tested for it at once. A selection that matches no backend is a collection error, not an empty (skipped) test.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from minio import Minio
from minio.error import MinioAdminException, S3Error

from bridge.backends.base import AccountInfo, AccountSpec, StorageBackend
from bridge.backends.capabilities import AccessKeys, RateLimiting, StorageQuotas, TrafficStatistics
from bridge.backends.minio_backend import MinioBackend, MinioClients, policy_name
from bridge.backends.ostor_backend import OstorBackend, OstorClients, OstorSettings
from bridge.config import BackendSettings
from bridge.domain.naming import owns_bucket
from bridge.domain.params import ServerParams
from bridge.domain.policies import DEFAULT_LIMITED, DEFAULT_STANDARD, PolicyKind, render
from bridge.domain.values import BucketUsage, KeyPair, RateLimits, TrafficRecord
from bridge.errors import BackendError
from rig.ostor_emulator import OstorEmulator
from rig.services import MinIO
from tests.conftest import unique
from tests.key_rotation import rotate_key_pair

run = asyncio.to_thread  # minio-py blocks; the ostor emulator serves on this test's event loop

# -- which backends a test runs on ---------------------------------------------------------------------------------

BACKENDS: dict[str, type] = {"minio": MinioBackend, "ostor": OstorBackend}  # the harness kinds
MARKS: dict[str, tuple[pytest.MarkDecorator, ...]] = {"minio": (pytest.mark.minio,)}


def on_backends(where: Callable[[type], bool], what: str) -> pytest.MarkDecorator:
    """Parametrize `harness` over the backends whose class satisfies `where` (and only those)."""
    chosen = [pytest.param(kind, marks=MARKS.get(kind, ())) for kind, cls in BACKENDS.items() if where(cls)]
    if not chosen:
        raise RuntimeError(f"no backend {what}: drop or rewrite the test rather than let it collect as skipped")
    return pytest.mark.parametrize("harness", chosen, indirect=True)


def having(capability: type) -> pytest.MarkDecorator:
    return on_backends(lambda cls: issubclass(cls, capability), f"has {capability.__name__}")


def lacking(capability: type) -> pytest.MarkDecorator:
    return on_backends(lambda cls: not issubclass(cls, capability), f"lacks {capability.__name__}")


def only(kind: str) -> pytest.MarkDecorator:
    return on_backends(lambda cls: cls is BACKENDS[kind], f"is {kind}")


# What each server reports through the base interface, where backends differ (no capability protocol covers it).
POLICIES = {"minio": True, "ostor": False}  # per-user policies; ostor has none (ownership isolates)
SCANNER_COUNTS_OBJECTS = {"minio": True, "ostor": False}  # ostor's ?ostor-buckets answer has sizes, no counts


def policies_for(username: str) -> dict[PolicyKind, dict[str, Any]]:
    return {"standard": render(DEFAULT_STANDARD, username), "limited": render(DEFAULT_LIMITED, username)}


@dataclass
class Harness:
    """A backend under test plus the few things a test needs that the backend interface does not offer."""

    backend: StorageBackend
    endpoint: str
    region: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)  # MinIO: the secret each test account was given
    emulator: OstorEmulator | None = None  # ostor: to close a statistics period as the gateway does

    def spec(self, username: str, *, buckets: tuple[str, ...] = (), enabled: bool = True) -> AccountSpec:
        secret = self.secrets.setdefault(username, "sec-" + secrets.token_hex(12))
        return AccountSpec(
            username=username,
            secret=secret,
            policies=policies_for(username),
            active_policy="standard",
            buckets=buckets,
            enabled=enabled,
        )

    async def credentials(self, username: str) -> tuple[str, str]:
        if isinstance(self.backend, AccessKeys):
            pairs = await self.backend.key_pairs(username)
            return pairs[0].access_key, pairs[0].secret_key
        return username, self.secrets[username]

    def s3(self, access_key: str, secret_key: str) -> Minio:
        return Minio(self.endpoint, access_key=access_key, secret_key=secret_key, secure=False, region=self.region)

    async def as_account(self, username: str) -> Minio:
        return self.s3(*await self.credentials(username))

    async def put(self, username: str, bucket: str, key: str, data: bytes) -> None:
        s3 = await self.as_account(username)
        await run(s3.put_object, bucket, key, io.BytesIO(data), len(data))

    async def keys_in(self, username: str, bucket: str) -> list[str]:
        s3 = await self.as_account(username)
        return await run(lambda: sorted(o.object_name or "" for o in s3.list_objects(bucket, recursive=True)))

    async def can_read(self, s3: Minio, bucket: str) -> bool:
        try:
            await run(lambda: list(s3.list_objects(bucket)))
        except S3Error:
            return False
        return True

    async def users_named(self, username: str) -> int:
        """How many server users this account maps to (ostor would accept a second user with the same email)."""
        if isinstance(self.backend, OstorBackend):
            email = self.backend.email(username)
            return sum(u.email == email for u in await self.backend.admin.list_users())
        assert isinstance(self.backend, MinioBackend)
        users: dict[str, Any] = json.loads(await run(self.backend.admin.user_list))
        return int(username in users)

    async def all_buckets(self) -> set[str]:
        if isinstance(self.backend, OstorBackend):
            return {b.name for b in await self.backend.admin.list_buckets()}
        assert isinstance(self.backend, MinioBackend)
        return {b.name for b in await run(self.backend.s3.list_buckets)}


_IAM_READY: set[str] = set()


async def wait_for_minio_iam(backend: MinioBackend, timeout_s: float = 30) -> None:
    """The rig's readiness probe (/minio/health/ready) can pass before MinIO's IAM is up, and admin calls then answer
    503 XMinioServerNotInitialized for a moment: wait for one admin call to work, once per server (bounded)."""
    if backend.server.endpoint in _IAM_READY:
        return
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await run(backend.admin.user_list)
            break
        except MinioAdminException as e:
            if "XMinioServerNotInitialized" not in str(e) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(0.2)
    _IAM_READY.add(backend.server.endpoint)


@pytest.fixture(params=[pytest.param(kind, marks=MARKS.get(kind, ())) for kind in BACKENDS])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "minio":
        minio: MinIO = request.getfixturevalue("minio")
        server = ServerParams(
            host="127.0.0.1", port=minio.port, secure=False, access_key=minio.access_key, secret_key=minio.secret_key
        )
        minio_clients = MinioClients(BackendSettings())
        try:
            backend = MinioBackend(server, minio_clients)
            await wait_for_minio_iam(backend)
            yield Harness(backend, minio.endpoint)
        finally:
            minio_clients.close()
        return
    async with OstorEmulator() as emu:
        server = ServerParams(
            host="127.0.0.1", port=emu.port, secure=False, access_key=emu.access_key, secret_key=emu.secret_key
        )
        ostor_clients = OstorClients(BackendSettings())
        backend = OstorBackend(server, ostor_clients, OstorSettings(email_domain="tenants.example.net"))
        try:
            yield Harness(backend, emu.endpoint, region="us-east-1", emulator=emu)
        finally:
            await ostor_clients.close()


# -- accounts ------------------------------------------------------------------------------------------------------


async def test_account_exists_only_after_provision(harness: Harness) -> None:
    name = unique("c")
    assert await harness.backend.account_exists(name) is False
    await harness.backend.provision(harness.spec(name))
    assert await harness.backend.account_exists(name) is True


async def test_account_info_shows_the_enabled_state_groups_and_attached_policy(harness: Harness) -> None:
    name = unique("c")
    assert await harness.backend.account_info(name) is None
    await harness.backend.provision(harness.spec(name))
    expected_policy = policy_name(name, "standard") if POLICIES[harness.backend.name] else ""
    info = await harness.backend.account_info(name)
    assert info is not None
    assert (info.enabled, info.groups, info.policy) == (True, (), expected_policy)
    await harness.backend.set_enabled(name, False)
    assert await harness.backend.account_info(name) == AccountInfo(False, (), expected_policy)
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


# -- policies ------------------------------------------------------------------------------------------------------


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
    if POLICIES[harness.backend.name]:
        await harness.backend.apply_policy(name, "limited", policies_for(name))
        assert isinstance(harness.backend, MinioBackend)
        info = await harness.backend.user_info(name)
        assert info is not None
        assert info.get("policyName") == policy_name(name, "limited")
    else:
        with pytest.raises(BackendError, match="storage quota") as refused:
            await harness.backend.apply_policy(name, "limited", policies_for(name))
        assert refused.value.code == "unsupported"


# -- usage ---------------------------------------------------------------------------------------------------------


async def test_usage_counts_the_bytes_and_objects_of_the_accounts_buckets_exactly(harness: Harness) -> None:
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.put(name, bucket, "a.bin", b"a" * 1000)
    await harness.put(name, bucket, "dir/b c+d.bin", b"b" * 24)
    usage = await harness.backend.usage(name, budget_s=30)
    assert usage.exact is True
    assert [(b.name, b.size, b.objects) for b in usage.buckets] == [(bucket, 1024, 2)]
    assert usage.bytes == 1024


async def test_usage_of_an_account_that_does_not_exist_is_empty_and_exact(harness: Harness) -> None:
    usage = await harness.backend.usage(unique("nobody"), budget_s=5)
    assert (usage.buckets, usage.exact) == ((), True)


# How long server_usage may lag behind writes: MinIO's scanner (MINIO_SCANNER_SPEED=fastest in the rig) usually
# catches up within seconds; the ostor emulator's ?ostor-buckets sizes are current at once.
SCANNER_WAIT_S = {"minio": 60.0, "ostor": 0.0}


async def test_server_usage_reports_every_bucket_of_every_account_with_what_was_written(harness: Harness) -> None:
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
    counts = SCANNER_COUNTS_OBJECTS[harness.backend.name]
    wanted = {name: (size, objects if counts else 0) for name, (size, objects) in written.items()}

    def ours(buckets: list[BucketUsage]) -> dict[str, tuple[int, int]]:
        return {
            b.name: (b.size, b.objects) for b in buckets if owns_bucket(first, b.name) or owns_bucket(second, b.name)
        }

    deadline = time.monotonic() + SCANNER_WAIT_S[harness.backend.name]
    while True:
        buckets = await harness.backend.server_usage()
        if ours(buckets) == wanted or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)  # the server's figures may lag (MinIO's scanner); poll, never sleep blindly long
    assert ours(buckets) == wanted
    names = [b.name for b in buckets]
    assert len(names) == len(set(names))  # one entry per bucket


# -- deletion ------------------------------------------------------------------------------------------------------


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


async def test_delete_account_of_a_disabled_account_removes_it_with_its_data(harness: Harness) -> None:
    name = unique("c")
    bucket = f"{name}--a"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.put(name, bucket, "obj", b"data")
    await harness.backend.set_enabled(name, False)
    report = await harness.backend.delete_account(name)
    assert (report.buckets, report.objects, report.user_removed) == (1, 1, True)
    assert bucket not in await harness.all_buckets()


async def test_test_connection_names_the_backend_and_endpoint(harness: Harness) -> None:
    report = await harness.backend.test_connection()
    assert report.backend == harness.backend.name
    assert report.endpoint == harness.endpoint


# -- capabilities: access keys -------------------------------------------------------------------------------------


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
    assert seen_while_storing == [True, True]
    assert await keys.key_pairs(name) == (new,)
    assert await harness.backend.credentials_valid(name, old.secret_key) is False
    assert await harness.backend.credentials_valid(name, new.secret_key) is True


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

    await rotate_key_pair(keys, name, old.access_key, store)
    assert offered[0] == offered[1]
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


# -- capabilities: quotas, limits, traffic -------------------------------------------------------------------------


@having(StorageQuotas)
async def test_storage_quota_is_set_changed_and_removed(harness: Harness) -> None:
    assert isinstance(harness.backend, StorageQuotas)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    assert await harness.backend.quota_gb(name) is None
    await harness.backend.set_quota_gb(name, 10)
    await harness.backend.set_quota_gb(name, 10)
    assert await harness.backend.quota_gb(name) == 10
    await harness.backend.set_quota_gb(name, 25)
    assert await harness.backend.quota_gb(name) == 25
    await harness.backend.set_quota_gb(name, None)
    await harness.backend.set_quota_gb(name, None)
    assert await harness.backend.quota_gb(name) is None


@having(RateLimiting)
async def test_rate_limits_are_set_exactly_and_all_zero_removes_them(harness: Harness) -> None:
    assert isinstance(harness.backend, RateLimiting)
    name = unique("c")
    await harness.backend.provision(harness.spec(name))
    wanted = RateLimits(ops_get=3600.0, ops_put=50.5, bandwidth_out=100)
    await harness.backend.set_rate_limits(name, wanted)
    assert await harness.backend.rate_limits(name) == wanted
    await harness.backend.set_rate_limits(name, RateLimits(ops_get=10.0))
    assert await harness.backend.rate_limits(name) == RateLimits(ops_get=10.0)
    await harness.backend.set_rate_limits(name, RateLimits())
    assert (await harness.backend.rate_limits(name)).unlimited


def traffic_of(h: Harness) -> TrafficStatistics:
    assert isinstance(h.backend, TrafficStatistics)
    return h.backend


def close_statistics_period(h: Harness) -> None:
    assert h.emulator is not None, "a backend with TrafficStatistics needs a way to close a period in its harness"
    h.emulator.state.roll_usage()


@having(TrafficStatistics)
async def test_traffic_is_collected_per_account_and_each_object_deleted_after_it_was_stored(harness: Harness) -> None:
    traffic = traffic_of(harness)
    name = unique("c")
    bucket = f"{name}--data"
    await harness.backend.provision(harness.spec(name, buckets=(bucket,)))
    await harness.put(name, bucket, "up", b"u" * 500)
    close_statistics_period(harness)
    stored: dict[str, tuple[TrafficRecord, ...]] = {}

    async def store(obj: str, records: tuple[TrafficRecord, ...]) -> None:
        stored[obj] = records

    assert await traffic.collect_traffic(store) == 1
    owner = await traffic.owner_id(name)
    mine = [r for records in stored.values() for r in records if r.owner_id == owner and r.bucket == bucket]
    assert (sum(r.bytes_in for r in mine), sum(r.ops_put for r in mine)) == (500, 1)
    assert await traffic.collect_traffic(store) == 0  # collected objects are gone


@having(TrafficStatistics)
async def test_a_statistics_object_whose_store_failed_is_kept_for_the_next_collection(harness: Harness) -> None:
    traffic = traffic_of(harness)
    name = unique("c")
    await harness.backend.provision(harness.spec(name, buckets=(f"{name}--data",)))
    close_statistics_period(harness)

    async def failing(obj: str, records: tuple[TrafficRecord, ...]) -> None:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await traffic.collect_traffic(failing)
    seen: list[str] = []

    async def store(obj: str, records: tuple[TrafficRecord, ...]) -> None:
        seen.append(obj)

    assert await traffic.collect_traffic(store) == 1
    assert len(seen) == 1


# -- ostor only: what follows from its user model ------------------------------------------------------------------


def ostor_of(h: Harness) -> OstorBackend:
    assert isinstance(h.backend, OstorBackend)
    return h.backend


@only("ostor")
async def test_ostor_two_services_of_one_client_get_two_distinct_users(harness: Harness) -> None:
    ostor = ostor_of(harness)
    first, second = unique("c"), unique("c")
    await ostor.provision(harness.spec(first))
    await ostor.provision(harness.spec(second))
    users = {u.email: u for u in await ostor.admin.list_users()}
    assert ostor.email(first) != ostor.email(second)
    assert users[ostor.email(first)].user_id != users[ostor.email(second)].user_id
    assert await ostor.key_pairs(first) != await ostor.key_pairs(second)


@only("ostor")
async def test_ostor_delete_account_also_deletes_buckets_the_customer_named_freely(harness: Harness) -> None:
    ostor = ostor_of(harness)
    name = unique("c")
    await ostor.provision(harness.spec(name))
    free_name = f"photos-{secrets.token_hex(4)}"  # ostor lets a user name buckets freely; ownership is what counts
    await run((await harness.as_account(name)).make_bucket, free_name)
    await harness.put(name, free_name, "p.jpg", b"jpeg")
    report = await ostor.delete_account(name)
    assert (report.buckets, report.objects, report.user_removed) == (1, 1, True)
    assert free_name not in await harness.all_buckets()


@only("ostor")
async def test_ostor_refuses_a_group_before_creating_anything(harness: Harness) -> None:
    ostor = ostor_of(harness)
    name = unique("c")
    spec = harness.spec(name)
    with pytest.raises(BackendError, match="no user groups") as refused:
        await ostor.provision(AccountSpec(**{**spec.__dict__, "group": "gold"}))
    assert refused.value.code == "unsupported"
    assert await ostor.account_exists(name) is False
