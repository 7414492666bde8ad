"""The ostor gateway emulator checks signatures, rights and the clock as a gateway does; and runs on its own."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime, timedelta
from email.utils import formatdate

import aiohttp
import pytest
from yarl import URL

from bridge.backends.ostor.admin_client import OstorAdminClient, for_user
from bridge.backends.ostor.errors import parse_error
from bridge.backends.ostor.signing import Keys, sign_v2
from bridge.errors import BackendAuthError, BackendError, BackendForbidden
from rig.ostor_emulator import OstorEmulator
from rig.paths import REPO
from rig.services import free_port
from tests.emulator.conftest import put_limit

# -- signatures and rights -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("signature", ["v2", "v4"])
async def test_every_admin_service_accepts_the_signature_version(
    emulator: OstorEmulator, session: aiohttp.ClientSession, signature: str
) -> None:
    admin = OstorAdminClient(
        session,
        emulator.url,
        Keys(emulator.access_key, emulator.secret_key),
        signature=signature,  # type: ignore[arg-type]
    )
    user = await admin.create_user("user@example.com")
    await admin.generate_key(user.email)
    await admin.create_account(user.email, "acc")
    await put_limit(admin, for_user(user.email), "ops", "put", "10")
    await admin.set_quota(for_user(user.email), 5)
    assert (await admin.get_quota(for_user(user.email))).size_gb == 5  # type: ignore[union-attr]
    assert await admin.list_buckets(user.email) == ()
    assert (await admin.list_usage()).items == ()
    assert await admin.delete_account(user.email, "acc") is True
    assert await admin.delete_user(user.email) is True


async def test_admin_services_refuse_the_keys_of_a_user_that_is_not_a_system_user(
    admin: OstorAdminClient, emulator: OstorEmulator, session: aiohttp.ClientSession
) -> None:
    user = await admin.create_user("plain@example.com")
    plain = OstorAdminClient(session, emulator.url, Keys(user.keys[0].access_key, user.keys[0].secret_key))
    with pytest.raises(BackendForbidden, match="AccessDenied"):
        await plain.list_users()


@pytest.mark.parametrize("signature", ["v2", "v4"])
async def test_a_wrong_secret_is_refused_as_signature_does_not_match(
    emulator: OstorEmulator, session: aiohttp.ClientSession, signature: str
) -> None:
    bad = OstorAdminClient(session, emulator.url, Keys(emulator.access_key, "x" * 40), signature=signature)  # type: ignore[arg-type]
    with pytest.raises(BackendAuthError, match="SignatureDoesNotMatch"):
        await bad.list_users()


async def test_an_unknown_access_key_is_refused(emulator: OstorEmulator, session: aiohttp.ClientSession) -> None:
    bad = OstorAdminClient(session, emulator.url, Keys("0000000000000000ABCD", "x" * 40))
    with pytest.raises(BackendAuthError, match="InvalidAccessKeyId"):
        await bad.list_users()


@pytest.mark.parametrize("signature", ["v2", "v4"])
async def test_a_request_dated_more_than_15_minutes_off_is_refused_as_skewed(
    emulator: OstorEmulator, session: aiohttp.ClientSession, signature: str
) -> None:
    def late() -> datetime:
        return datetime.now(UTC) - timedelta(minutes=16)

    skewed = OstorAdminClient(
        session,
        emulator.url,
        Keys(emulator.access_key, emulator.secret_key),
        signature=signature,  # type: ignore[arg-type]
        clock=late,
    )
    with pytest.raises(BackendError, match="synchronise both with NTP") as caught:
        await skewed.list_users()
    assert caught.value.code == "clock_skew"


async def test_an_unsigned_request_is_refused(emulator: OstorEmulator, session: aiohttp.ClientSession) -> None:
    async with session.get(f"{emulator.url}/?ostor-users") as resp:
        body, headers = await resp.read(), dict(resp.headers)
    assert (resp.status, parse_error(resp.status, headers, body).code) == (403, "AccessDenied")


async def test_sigv2_admin_signature_covers_only_the_service_so_any_query_order_verifies(
    emulator: OstorEmulator, session: aiohttp.ClientSession
) -> None:
    """The guide's s3_curl signs `/?ostor-users` whatever follows; a hand-built URL must verify the same way."""
    url = f"{emulator.url}/?ostor-users&emailAddress=guide%40example.com"
    headers = sign_v2("PUT", url, {}, Keys(emulator.access_key, emulator.secret_key), date=_now_http())
    # like the guide's PHP sample ('Content-Type:'), send no Content-Type: SigV2 would have to sign it
    async with session.put(URL(url, encoded=True), headers=headers, skip_auto_headers=("Content-Type",)) as resp:
        assert resp.status == 200
        assert (await resp.json())["UserEmail"] == "guide@example.com"


def _now_http() -> str:
    return formatdate(usegmt=True)


# -- the runner ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["guide", "strict"])
async def test_the_runner_serves_on_a_port_and_prints_the_url_variant_and_system_keys(
    session: aiohttp.ClientSession, variant: str
) -> None:
    port = free_port()
    argv = ["-m", "rig.ostor_emulator", "--port", str(port), "--variant", variant]
    proc = await asyncio.create_subprocess_exec(sys.executable, *argv, cwd=REPO, stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        info = json.loads(line)
        assert (info["url"], info["variant"]) == (f"http://127.0.0.1:{port}", variant)
        assert "not Virtuozzo software" in info["emulator"]
        admin = OstorAdminClient(session, info["url"], Keys(info["access_key"], info["secret_key"]))
        assert [u.email for u in await admin.list_users()] == ["system@ostor-emulator.invalid"]
        listed = await admin.call("GET", "ostor-users", action="list users")
        assert isinstance(listed, dict if variant == "strict" else list)  # {"Users": [...]} only when strict
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
