"""Fixtures of the emulator's own tests: an emulator with a clock the test moves, and an admin client for it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence

import aiohttp
import pytest
from minio import Minio

from bridge.backends.ostor.admin_client import OstorAdminClient, Target
from bridge.backends.ostor.signing import Keys
from bridge.domain.values import KeyPair
from rig.ostor_emulator import OstorEmulator


class Clock:
    """Real time plus an offset the test advances (the emulator refuses requests more than 15 minutes off)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def emulator(clock: Clock) -> AsyncIterator[OstorEmulator]:
    async with OstorEmulator(clock=clock, page_size=3) as emu:
        yield emu


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def admin_of(emulator: OstorEmulator, session: aiohttp.ClientSession) -> OstorAdminClient:
    """An admin client signing with the emulator's system user's keys."""
    return OstorAdminClient(session, emulator.url, Keys(emulator.access_key, emulator.secret_key))


@pytest.fixture
def admin(emulator: OstorEmulator, session: aiohttp.ClientSession) -> OstorAdminClient:
    return admin_of(emulator, session)


run = asyncio.to_thread  # minio-py blocks: run it off the loop the emulator serves on


def as_user(emulator: OstorEmulator, pair: KeyPair) -> Minio:
    return Minio(
        emulator.endpoint, access_key=pair.access_key, secret_key=pair.secret_key, secure=False, region="us-east-1"
    )


async def put_limit(admin: OstorAdminClient, target: Target, kind: str, resource: str, value: str) -> None:
    """One raw `ostor-limits` PUT, the value sent exactly as given (the client itself only sends whole numbers)."""
    params: Sequence[tuple[str, str | None]] = [
        target,
        ("limit-type", kind),
        ("limit-resource", resource),
        ("limit-value", value),
    ]
    await admin.call("PUT", "ostor-limits", params, action=f"set limit {kind}:{resource}")
