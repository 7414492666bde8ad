"""Each emulator variant answers the way its docstring says a real gateway may (rig.ostor_emulator.Variant)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

import aiohttp
import pytest
from minio.error import S3Error

import rig.ostor_emulator as emulator_module
from bridge.backends.ostor.admin_client import OstorAdminClient, for_user
from bridge.backends.ostor.answers import OstorUser, parse_users
from bridge.backends.ostor.errors import OstorNotFound, OstorRefused, parse_error
from bridge.domain.values import KeyPair
from rig.ostor_emulator import GUIDE, STRICT, VARIANTS, OstorEmulator, Variant
from tests.emulator.conftest import admin_of, as_user, put_limit, run


@pytest.fixture
async def strict(session: aiohttp.ClientSession) -> AsyncIterator[tuple[OstorEmulator, OstorAdminClient]]:
    async with OstorEmulator(variant=STRICT) as emu:
        yield emu, admin_of(emu, session)


@dataclass(frozen=True)
class Gateway:
    """An emulator of one variant and its admin client (fixture `gateway`, parametrized with `each_variant`)."""

    variant: Variant
    emu: OstorEmulator
    admin: OstorAdminClient

    async def user(self) -> OstorUser:
        return await self.admin.create_user("user@example.com")


@pytest.fixture
async def gateway(request: pytest.FixtureRequest, session: aiohttp.ClientSession) -> AsyncIterator[Gateway]:
    variant: Variant = request.param
    async with OstorEmulator(variant=variant) as emu:
        yield Gateway(variant, emu, admin_of(emu, session))


def each_variant(variants: Iterable[Variant] = VARIANTS) -> pytest.MarkDecorator:
    """Run the test once per variant, named by the variant, against fixture `gateway`."""
    return pytest.mark.parametrize("gateway", list(variants), indirect=True, ids=lambda v: v.name)


async def raw(admin: OstorAdminClient, method: str, service: str, params: list[tuple[str, str | None]]) -> bytes:
    return await admin.call_raw(method, service, params, action="test")


async def test_the_guide_variant_lists_users_as_a_bare_array_and_the_strict_one_wrapped_in_users(
    admin: OstorAdminClient, strict: tuple[OstorEmulator, OstorAdminClient]
) -> None:
    assert isinstance(json.loads(await raw(admin, "GET", "ostor-users", [])), list)
    wrapped = json.loads(await raw(strict[1], "GET", "ostor-users", []))
    assert list(wrapped) == ["Users"]
    assert [u["Flags"] for u in wrapped["Users"]] == [[]]
    assert len(parse_users(wrapped)) == 1


async def test_gen_key_answers_the_new_pair_only_or_all_pairs_with_the_new_one_first(
    admin: OstorAdminClient, strict: tuple[OstorEmulator, OstorAdminClient]
) -> None:
    for client in (admin, strict[1]):
        user = await client.create_user("user@example.com")
        answered = await client.generate_key(user.email)
        now = (await client.get_user(user.email)).keys  # type: ignore[union-attr]
        new = next(k for k in now if k != user.keys[0])
        assert answered == ((new,) if client is admin else (new, user.keys[0]))


async def test_without_quota_accounting_every_quota_request_is_refused(
    strict: tuple[OstorEmulator, OstorAdminClient],
) -> None:
    _, admin = strict
    user = await admin.create_user("user@example.com")
    for method in ("PUT", "GET", "DELETE"):
        params: list[tuple[str, str | None]] = [for_user(user.email), ("quota-size", "5")]
        with pytest.raises(OstorRefused) as refused:
            await raw(admin, method, "ostor-quotas", params if method == "PUT" else params[:1])
        assert refused.value.gateway_status == 400


async def test_integer_only_limits_refuse_a_decimal_value_and_unset_limits_are_not_found(
    strict: tuple[OstorEmulator, OstorAdminClient],
) -> None:
    _, admin = strict
    user = await admin.create_user("user@example.com")
    with pytest.raises(OstorNotFound):
        await raw(admin, "GET", "ostor-limits", [for_user(user.email)])
    with pytest.raises(OstorRefused, match="whole number"):
        await put_limit(admin, for_user(user.email), "ops", "get", "3600.00")
    await put_limit(admin, for_user(user.email), "ops", "get", "3600")


async def test_hex_statistics_print_the_service_id_bare_so_the_object_is_not_json(
    strict: tuple[OstorEmulator, OstorAdminClient],
) -> None:
    emu, admin = strict
    user = await admin.create_user("user@example.com")
    await run(as_user(emu, user.keys[0]).make_bucket, "client")
    name = emu.state.roll_usage()
    assert name is not None
    assert name.startswith(f"s3-usage-{emu.state.service_id}-")
    assert not emu.state.service_id.isdigit()
    body = await raw(admin, "GET", "ostor-usage", [("obj", name)])
    assert f'"service_id": {emu.state.service_id},'.encode() in body
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


async def test_without_state_a_user_answer_has_no_state_and_a_disabled_users_keys_still_stop(
    strict: tuple[OstorEmulator, OstorAdminClient],
) -> None:
    emu, admin = strict
    user = await admin.create_user("user@example.com")
    await admin.set_user_enabled(user.email, False)
    answer = json.loads(await raw(admin, "GET", "ostor-users", [("emailAddress", user.email)]))
    assert "State" not in answer
    with pytest.raises(Exception, match="AccessDenied"):
        await run(as_user(emu, user.keys[0]).list_buckets)


@each_variant((GUIDE, Variant(name="no-system-object-access", system_deletes_objects=False)))
async def test_a_system_user_deletes_any_bucket_and_reaches_its_objects_only_where_the_variant_allows(
    gateway: Gateway,
) -> None:
    emu, user = gateway.emu, await gateway.user()
    await run(as_user(emu, user.keys[0]).make_bucket, "client")
    system = as_user(emu, KeyPair(emu.access_key, emu.secret_key))
    code = ""
    try:
        await run(lambda: list(system.list_objects("client")))
    except S3Error as e:
        code = e.code or ""
    assert code == ("" if gateway.variant.system_deletes_objects else "AccessDenied")
    await run(system.remove_bucket, "client")
    assert await gateway.admin.list_buckets(user.email) == ()


INVENTED = ("unset_deletes_404", "quota_off_status", "disabled_status", "error_body", "hex_stats", "bandwidth_unit")


@pytest.mark.parametrize("field", INVENTED)
def test_every_invented_answer_runs_both_ways_in_the_contract_suites_variants(field: str) -> None:
    """An answer no source documents is a Variant field the contract suite sees with two values at least (for the
    quota answer: among the variants without quota accounting, where it is sent)."""
    among = [v for v in VARIANTS if not v.quota_accounting] if field == "quota_off_status" else list(VARIANTS)
    assert len({getattr(v, field) for v in among}) >= 2, [(v.name, getattr(v, field)) for v in among]
    assert "invented" in (Variant.__doc__ or "") + (emulator_module.__doc__ or "")
    assert f"Variant.{field}" in (emulator_module.__doc__ or ""), f"the module docstring must source {field}"


@each_variant()
async def test_deleting_limits_or_a_quota_never_set_answers_as_the_variant_says(gateway: Gateway) -> None:
    admin, variant, user = gateway.admin, gateway.variant, await gateway.user()
    services = ["ostor-limits", *(["ostor-quotas"] if variant.quota_accounting else [])]
    for service in services:
        if variant.unset_deletes_404:
            with pytest.raises(OstorNotFound):
                await raw(admin, "DELETE", service, [for_user(user.email)])
        else:
            assert await raw(admin, "DELETE", service, [for_user(user.email)]) == b""


@each_variant(v for v in VARIANTS if not v.quota_accounting)
async def test_without_quota_accounting_quotas_are_refused_with_the_variants_status(gateway: Gateway) -> None:
    user = await gateway.user()
    with pytest.raises(OstorRefused) as refused:
        await raw(gateway.admin, "GET", "ostor-quotas", [for_user(user.email)])
    assert refused.value.gateway_status == gateway.variant.quota_off_status


@each_variant()
async def test_a_disabled_users_s3_request_gets_the_variants_status_in_s3_xml(gateway: Gateway) -> None:
    user = await gateway.user()
    await gateway.admin.set_user_enabled(user.email, False)
    with pytest.raises(S3Error) as refused:
        await run(as_user(gateway.emu, user.keys[0]).list_buckets)
    assert (refused.value.response.status, refused.value.code) == (gateway.variant.disabled_status, "AccessDenied")


@each_variant()
async def test_admin_errors_come_in_the_variants_body_and_the_client_reads_each(
    gateway: Gateway, session: aiohttp.ClientSession
) -> None:
    url = f"{gateway.emu.url}/?ostor-users&emailAddress=nobody%40example.com"
    req = gateway.admin.prepare("GET", "ostor-users", [("emailAddress", "nobody@example.com")])
    async with session.get(url, headers=req.headers) as resp:
        body, headers = await resp.read(), dict(resp.headers)
    assert resp.status == 404
    kind = {b"<": "xml", b"{": "json", b"": "header"}[body[:1]]
    assert kind == gateway.variant.error_body
    error = parse_error(resp.status, headers, body)
    assert "no user with email nobody@example.com" in error.message
    assert error.code == ("" if kind == "header" else "NoSuchUser")
