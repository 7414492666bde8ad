"""One contract every storage backend must pass, run against each: real MinIO, the ostor gateway emulator in each of
its variants (the ways real gateways differ, `rig.ostor_emulator.VARIANTS`), and a live ostor gateway when one is
configured (see `tests/contract/live.py`).

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
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from minio import Minio
from minio.error import MinioAdminException, S3Error

from bridge.backends.base import AccountSpec, StorageBackend
from bridge.backends.capabilities import AccessKeys
from bridge.backends.minio.clients import MinioClients
from bridge.backends.minio.driver import MinioBackend
from bridge.backends.ostor.clients import OstorClients
from bridge.backends.ostor.driver import OstorBackend
from bridge.backends.ostor.settings import OstorSettings
from bridge.config import BackendSettings
from bridge.domain.params import ServerParams
from bridge.domain.policies import DEFAULT_LIMITED, DEFAULT_STANDARD, PolicyKind, render
from rig.ostor_emulator import VARIANTS, OstorEmulator, Variant
from rig.services import MinIO
from tests.contract.live import LIVE_OSTOR, LiveOstor

run = asyncio.to_thread  # minio-py blocks; the ostor emulator serves on this test's event loop


@dataclass(frozen=True)
class Kind:
    """One backend the contract runs on: its driver class, how the harness is built, and what the harness can do
    beyond the backend interface (e.g. close a statistics period, which only an emulator can)."""

    id: str
    driver: type
    marks: tuple[pytest.MarkDecorator, ...] = ()
    variant: Variant | None = None  # the emulator's variant
    live: LiveOstor | None = None
    abilities: frozenset[str] = frozenset()


CLOSE_PERIOD = "close_statistics_period"  # end a statistics period now (the gateway does it every 30 minutes)
GATEWAY_HOOKS = "gateway_hooks"  # see what the gateway was asked, and make it misbehave as a real one might
KINDS: tuple[Kind, ...] = (
    Kind("minio", MinioBackend, (pytest.mark.minio,)),
    *(
        Kind(f"ostor-{v.name}", OstorBackend, variant=v, abilities=frozenset({CLOSE_PERIOD, GATEWAY_HOOKS}))
        for v in VARIANTS
    ),
    *((Kind("ostor-live", OstorBackend, live=LIVE_OSTOR),) if LIVE_OSTOR else ()),
)


def on_backends(where: Callable[[Kind], bool], what: str) -> pytest.MarkDecorator:
    """Parametrize `harness` over the backends for which `where` holds (and only those)."""
    chosen = [pytest.param(k, id=k.id, marks=k.marks) for k in KINDS if where(k)]
    if not chosen:
        raise RuntimeError(f"no backend {what}: drop or rewrite the test rather than let it collect as skipped")
    return pytest.mark.parametrize("harness", chosen, indirect=True)


def having(capability: type, *, needs: str = "") -> pytest.MarkDecorator:
    """Backends whose driver has `capability` (and whose harness has the ability `needs`, if given)."""
    return on_backends(
        lambda k: issubclass(k.driver, capability) and (not needs or needs in k.abilities),
        f"has {capability.__name__}" + (f" and can {needs}" if needs else ""),
    )


def lacking(capability: type) -> pytest.MarkDecorator:
    return on_backends(lambda k: not issubclass(k.driver, capability), f"lacks {capability.__name__}")


def policies_for(username: str) -> dict[PolicyKind, dict[str, Any]]:
    return {"standard": render(DEFAULT_STANDARD, username), "limited": render(DEFAULT_LIMITED, username)}


@dataclass
class Harness:
    """A backend under test plus the few things a test needs that the backend interface does not offer."""

    backend: StorageBackend
    endpoint: str
    kind: Kind
    secure: bool = False
    region: str | None = None
    secrets: dict[str, str] = field(default_factory=dict)  # MinIO: the secret each test account was given
    emulator: OstorEmulator | None = None  # ostor: to close a statistics period as the gateway does
    quota_accounting: bool = True  # does the server take storage quotas (ostor: `ostor-ctl add-acc` was run)
    made: list[str] = field(default_factory=list)  # accounts provisioned through `spec`, removed at teardown (live)

    def spec(self, username: str, *, buckets: tuple[str, ...] = (), enabled: bool = True) -> AccountSpec:
        if username not in self.made:
            self.made.append(username)
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
        return Minio(
            self.endpoint, access_key=access_key, secret_key=secret_key, secure=self.secure, region=self.region
        )

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
        import json

        users: dict[str, Any] = json.loads(await run(self.backend.admin.user_list))
        return int(username in users)

    async def all_buckets(self) -> set[str]:
        if isinstance(self.backend, OstorBackend):
            return {b.name for b in await self.backend.admin.list_buckets()}
        assert isinstance(self.backend, MinioBackend)
        return {b.name for b in await run(self.backend.s3.list_buckets)}

    def admin_calls_since(self, mark: int) -> list[tuple[str, str, dict[str, str]]]:
        """What the emulated gateway was asked after `mark` (= len(...) taken before); [] without an emulator."""
        return self.emulator.state.admin_calls[mark:] if self.emulator else []

    def admin_mark(self) -> int:
        return len(self.emulator.state.admin_calls) if self.emulator else 0


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


async def _minio_harness(request: pytest.FixtureRequest, kind: Kind) -> AsyncIterator[Harness]:
    minio: MinIO = request.getfixturevalue("minio")
    server = ServerParams(
        host="127.0.0.1", port=minio.port, secure=False, access_key=minio.access_key, secret_key=minio.secret_key
    )
    clients = MinioClients(BackendSettings())
    try:
        backend = MinioBackend(server, clients)
        await wait_for_minio_iam(backend)
        yield Harness(backend, minio.endpoint, kind)
    finally:
        clients.close()


async def _emulated_harness(kind: Kind) -> AsyncIterator[Harness]:
    assert kind.variant is not None
    async with OstorEmulator(variant=kind.variant) as emu:
        server = ServerParams(
            host="127.0.0.1", port=emu.port, secure=False, access_key=emu.access_key, secret_key=emu.secret_key
        )
        clients = OstorClients(BackendSettings())
        backend = OstorBackend(server, clients, OstorSettings(email_domain="tenants.example.net"))
        try:
            yield Harness(
                backend,
                emu.endpoint,
                kind,
                region="us-east-1",
                emulator=emu,
                quota_accounting=kind.variant.quota_accounting,
            )
        finally:
            await clients.close()


async def _live_harness(kind: Kind) -> AsyncIterator[Harness]:
    live = kind.live
    assert live is not None
    clients = OstorClients(BackendSettings())
    backend = OstorBackend(live.server(), clients, live.settings())
    harness = Harness(
        backend,
        live.endpoint,
        kind,
        secure=live.secure,
        region=live.region,
        quota_accounting=live.quota_accounting,
    )
    try:
        yield harness
    finally:
        try:
            for username in harness.made:  # leave the provider's cluster as it was
                await backend.delete_account(username)
        finally:
            await clients.close()


@pytest.fixture
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    kind: Kind = request.param
    if kind.driver is MinioBackend:
        make = _minio_harness(request, kind)
    elif kind.live is not None:
        make = _live_harness(kind)
    else:
        make = _emulated_harness(kind)
    async for h in make:
        yield h


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A contract test with no `having`/`lacking` mark runs on every backend."""
    if "harness" in metafunc.fixturenames and not any(
        m.name == "parametrize" and "harness" in str(m.args[0]) for m in metafunc.definition.iter_markers()
    ):
        metafunc.parametrize("harness", [pytest.param(k, id=k.id, marks=k.marks) for k in KINDS], indirect=True)
