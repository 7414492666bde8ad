"""The ostor driver's one error map (`backends/ostor/errors.py`): refusals, transport failures and data-plane errors as
sentences an admin can act on; the client over HTTP against the emulator and dead ends; the account's user naming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from bridge.backends.ostor.admin_client import OstorAdminClient
from bridge.backends.ostor.errors import (
    GatewayError,
    OstorConflict,
    OstorNotFound,
    OstorProtocolError,
    OstorRefused,
    QuotaAccountingOff,
    map_gateway_error,
    parse_error,
    quota_refusal,
)
from bridge.backends.ostor.settings import OstorSettings, user_email
from bridge.backends.ostor.signing import Keys
from bridge.domain.naming import NamingError
from bridge.errors import BackendAuthError, BackendError, BackendForbidden, BackendTLSError, BackendUnreachable
from rig.ostor_emulator import OstorEmulator
from rig.services import free_port
from tests.support.ostor_keys import GUIDE_KEYS

# -- errors --------------------------------------------------------------------------------------------------------


def test_error_is_read_from_s3_xml_json_the_err_message_header_or_plain_text() -> None:
    xml = b"<Error><Code>NoSuchUser</Code><Message>no user</Message></Error>"
    assert parse_error(404, {}, xml) == GatewayError(404, "NoSuchUser", "no user")
    assert parse_error(409, {}, b'{"Code": "X", "Message": "busy"}') == GatewayError(409, "X", "busy")
    assert parse_error(409, {"X-Amz-Err-Message": "user has buckets"}, b"") == GatewayError(409, "", "user has buckets")
    assert parse_error(502, {}, b"Bad gateway\n") == GatewayError(502, "", "Bad gateway")


@pytest.mark.parametrize(
    ("err", "kind", "words"),
    [
        (GatewayError(403, "SignatureDoesNotMatch", "x"), BackendAuthError, "Username (access key) and Password"),
        (GatewayError(403, "InvalidAccessKeyId", "x"), BackendAuthError, "ostor system user"),
        (GatewayError(403, "AccessDenied", "x"), BackendForbidden, "create-user -S"),
        (GatewayError(403, "RequestTimeTooSkewed", "x"), BackendError, "synchronise both with NTP"),
        (GatewayError(404, "NoSuchUser", "no user a@b"), OstorNotFound, "found nothing for query user a@b"),
        (GatewayError(409, "UserHasBuckets", "owns 2 buckets"), OstorConflict, "refused query user a@b"),
        (GatewayError(503, "", "Service Unavailable"), OstorRefused, "check the gateway's health"),
        (GatewayError(400, "InvalidArgument", "bad value"), OstorRefused, "HTTP 400 InvalidArgument bad value"),
    ],
)
def test_gateway_refusals_map_to_backend_errors_an_admin_can_act_on(
    err: GatewayError, kind: type[BackendError], words: str
) -> None:
    mapped = map_gateway_error(err, "s3.example.com:443", action="query user a@b")
    assert type(mapped) is kind
    assert words in mapped.message
    assert "Virtuozzo ostor gateway at s3.example.com:443" in mapped.message


def test_a_refused_data_request_names_the_accounts_own_keys_not_the_server_record() -> None:
    mapped = map_gateway_error(GatewayError(403, "AccessDenied", "disabled"), "gw:80", action="list", system_keys=False)
    assert isinstance(mapped, BackendForbidden)
    assert "account's own key pair" in mapped.message
    assert "create-user -S" not in mapped.message


# -- the client over HTTP (against the emulator and dead ends) -----------------------------------------------------


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(sock_connect=2, sock_read=1)) as s:
        yield s


async def test_wrong_secret_is_reported_without_the_secret_in_the_error(session: aiohttp.ClientSession) -> None:
    async with OstorEmulator() as emu:
        wrong = Keys(emu.access_key, "wrong-secret-0123456789abcdef")
        client = OstorAdminClient(session, emu.url, wrong)
        with pytest.raises(BackendAuthError) as caught:
            await client.list_users()
    text = f"{caught.value.message} {caught.value!r} {caught.value.__cause__!r}"
    assert "SignatureDoesNotMatch" in text
    assert wrong.secret_key not in text
    assert emu.secret_key not in text


async def test_an_email_with_plus_and_ampersand_reaches_the_gateway_intact(session: aiohttp.ClientSession) -> None:
    async with OstorEmulator() as emu:
        for signature in ("v2", "v4"):
            client = OstorAdminClient(session, emu.url, Keys(emu.access_key, emu.secret_key), signature=signature)
            email = f"a+b&c-{signature}@x.com"
            created = await client.create_user(email)
            found = await client.get_user(email)
            assert created.email == email
            assert found is not None
            assert found.user_id == created.user_id


async def test_closed_port_is_reported_as_unreachable(session: aiohttp.ClientSession) -> None:
    client = OstorAdminClient(session, f"http://127.0.0.1:{free_port()}", GUIDE_KEYS)
    with pytest.raises(BackendUnreachable, match="is unreachable: connection refused"):
        await client.list_users()


async def test_tls_to_a_plain_http_port_is_reported_as_a_tls_error(session: aiohttp.ClientSession) -> None:
    async with OstorEmulator() as emu:
        client = OstorAdminClient(session, f"https://{emu.endpoint}", Keys(emu.access_key, emu.secret_key))
        with pytest.raises(BackendTLSError, match="TLS handshake with Virtuozzo ostor gateway"):
            await client.list_users()


async def _never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(65536)
    await asyncio.sleep(5)
    writer.close()


async def _answers_html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n<html>hi</html>")
    await writer.drain()
    writer.close()


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        pytest.param(
            _never_answers, BackendUnreachable, "did not answer list users in time", id="never_answers-not_in_time"
        ),
        pytest.param(_answers_html, OstorProtocolError, "not JSON", id="answers_html-not_the_gateway"),
    ],
)
async def test_a_server_that_is_not_a_working_gateway_is_reported_for_what_it_did(
    session: aiohttp.ClientSession,
    answer: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
    error: type[BackendError],
    words: str,
) -> None:
    """A gateway that never answers is reported as not answering in time; one answering HTML, as not the gateway."""
    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = OstorAdminClient(session, f"http://127.0.0.1:{port}", GUIDE_KEYS)
        with pytest.raises(error, match=words):
            await client.list_users()
    finally:
        server.close()


# -- account naming (ostor.settings) ---------------------------------------------------------------------------------


def test_the_ostor_user_of_a_service_is_keyed_by_its_username_on_the_configured_domain() -> None:
    assert user_email("c12-7", "tenants.example.net") == "c12-7@tenants.example.net"
    assert user_email("c12-7") == "c12-7@s3bridge.invalid"
    assert user_email("c12-7") != user_email("c12-8")


def test_an_invalid_username_never_becomes_an_ostor_email() -> None:
    with pytest.raises(NamingError):
        user_email("Bad+Name", "tenants.example.net")


@pytest.mark.parametrize("domain", ["Tenants.Example", "example", "a@b.example", "-x.example", ""])
def test_the_email_domain_must_be_a_lowercase_dns_name(domain: str) -> None:
    with pytest.raises(ValueError, match="lowercase DNS name"):
        OstorSettings(email_domain=domain)


@pytest.mark.parametrize("status", [400, 405, 409, 501])
def test_a_refused_quota_names_the_command_that_enables_quota_accounting(status: int) -> None:
    """The guide: "Before setting quotas ... run the `ostor-ctl add-acc` command"; it does not say what a gateway
    answers without it, so every refusal that is not about keys, network or a missing target gets the sentence."""
    refusal = map_gateway_error(GatewayError(status, "InvalidRequest", "x"), "gw:443", action="set the quota of a")
    mapped = quota_refusal(refusal, "gw:443")
    assert isinstance(mapped, QuotaAccountingOff)
    assert "ostor-ctl add-acc -V <volume id>" in mapped.message
    assert "ostor-ctl get-config" in mapped.message


@pytest.mark.parametrize(
    "err",
    [GatewayError(403, "AccessDenied", ""), GatewayError(404, "NoSuchUser", ""), GatewayError(503, "", "")],
)
def test_a_quota_refused_for_another_reason_keeps_its_own_sentence(err: GatewayError) -> None:
    refusal = map_gateway_error(err, "gw:443", action="set the quota of a")
    assert quota_refusal(refusal, "gw:443") is refusal
