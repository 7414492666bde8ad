"""The ostor gateway emulator reproduces what the Virtuozzo guide documents (answers compared with the guide's):
the admin services."""

from __future__ import annotations

import io
from datetime import datetime

import aiohttp
import pytest
from minio.error import S3Error
from yarl import URL

from bridge.backends.ostor.admin_client import OstorAdminClient, for_bucket, for_default, for_user
from bridge.backends.ostor.answers import OstorUser
from bridge.backends.ostor.errors import OstorConflict, OstorNotFound
from bridge.errors import BackendError
from rig.ostor_emulator import OstorEmulator
from tests.emulator.conftest import Clock, as_user, put_limit, run
from tests.support.ostor_guide import GUIDE_LIMITS

# -- ostor-users ---------------------------------------------------------------------------------------------------


async def test_create_user_answers_email_id_and_a_first_key_pair_whose_id_starts_with_the_user_id(
    admin: OstorAdminClient,
) -> None:
    raw = await admin.call("PUT", "ostor-users", [("emailAddress", "user@example.com")], action="create")
    assert set(raw) == {"UserEmail", "UserId", "AWSAccessKeys"}
    assert raw["UserEmail"] == "user@example.com"
    assert len(raw["UserId"]) == 16
    int(raw["UserId"], 16)
    (pair,) = raw["AWSAccessKeys"]
    assert pair["AWSAccessKeyId"].startswith(raw["UserId"])
    assert (len(pair["AWSAccessKeyId"]), len(pair["AWSSecretAccessKey"])) == (20, 40)


async def test_user_list_is_an_array_of_email_id_state_and_owner(admin: OstorAdminClient) -> None:
    await admin.create_user("user@example.com")
    raw = await admin.call("GET", "ostor-users", action="list")
    assert isinstance(raw, list)
    assert all(set(u) == {"UserEmail", "UserId", "State", "OwnerId"} for u in raw)
    assert {u["UserEmail"] for u in raw} == {"system@ostor-emulator.invalid", "user@example.com"}


async def test_query_user_shows_state_flags_keys_and_accounts_as_the_guide_does(admin: OstorAdminClient) -> None:
    await admin.create_user("user@example.com")
    raw = await admin.call("GET", "ostor-users", [("emailAddress", "user@example.com")], action="query")
    assert set(raw) == {"UserEmail", "UserId", "State", "OwnerId", "Flags", "AWSAccessKeys", "AccountCount", "Accounts"}
    assert (raw["State"], raw["OwnerId"], raw["Flags"], raw["AccountCount"]) == ("enabled", "0" * 16, [], "0")


async def test_query_of_an_unknown_email_is_not_found(admin: OstorAdminClient) -> None:
    assert await admin.get_user("nobody@example.com") is None
    with pytest.raises(OstorNotFound, match="NoSuchUser"):
        await admin.set_user_enabled("nobody@example.com", False)


async def test_a_second_put_for_the_same_email_creates_a_second_user_as_the_guides_list_shows(
    admin: OstorAdminClient,
) -> None:
    first = await admin.create_user("twice@example.com")
    second = await admin.create_user("twice@example.com")
    assert first.user_id != second.user_id
    assert [u.user_id for u in await admin.list_users() if u.email == "twice@example.com"] == [
        first.user_id,
        second.user_id,
    ]


async def test_a_disabled_users_keys_stop_working_until_it_is_enabled_again(
    admin: OstorAdminClient, emulator: OstorEmulator
) -> None:
    user = await admin.create_user("user@example.com")
    s3 = as_user(emulator, user.keys[0])
    await admin.set_user_enabled(user.email, False)
    assert (await admin.get_user(user.email)).state == "disabled"  # type: ignore[union-attr]
    with pytest.raises(S3Error) as refused:
        await run(s3.list_buckets)
    assert refused.value.code == "AccessDenied"
    await admin.set_user_enabled(user.email, True)
    assert await run(s3.list_buckets) == []


async def test_gen_key_adds_a_second_pair_and_a_third_is_refused_with_a_message(
    admin: OstorAdminClient, emulator: OstorEmulator, session: aiohttp.ClientSession
) -> None:
    user = await admin.create_user("user@example.com")
    raw = await admin.call("POST", "ostor-users", [("emailAddress", user.email), ("genKey", None)], action="genKey")
    assert set(raw) == {"UserEmail", "UserId", "AWSAccessKeys"}
    assert raw["AWSAccessKeys"][0]["AWSAccessKeyId"].startswith(user.user_id)
    with pytest.raises(OstorConflict, match="at most 2 access key pairs"):
        await admin.generate_key(user.email)
    prepared = admin.prepare("POST", "ostor-users", [("emailAddress", user.email), ("genKey", None)])
    url = URL(prepared.url, encoded=True)
    async with session.post(url, headers=prepared.headers, skip_auto_headers=("Content-Type",)) as resp:
        assert resp.status == 409
        assert "at most 2" in resp.headers["X-Amz-Err-Message"]
    assert len((await admin.get_user(user.email)).keys) == 2  # type: ignore[union-attr]


async def test_a_revoked_key_no_longer_signs_requests(admin: OstorAdminClient, emulator: OstorEmulator) -> None:
    user = await admin.create_user("user@example.com")
    old = user.keys[0]
    (new,) = await admin.generate_key(user.email)  # the guide's answer: the new pair only
    assert await admin.revoke_key(user.email, old.access_key) is True
    assert await admin.revoke_key(user.email, old.access_key) is False  # already gone: not found
    with pytest.raises(S3Error) as refused:
        await run(as_user(emulator, old).list_buckets)
    assert refused.value.code == "InvalidAccessKeyId"
    assert await run(as_user(emulator, new).list_buckets) == []


async def test_a_user_owning_a_bucket_cannot_be_deleted_until_the_bucket_is(
    admin: OstorAdminClient, emulator: OstorEmulator
) -> None:
    user = await admin.create_user("user@example.com")
    s3 = as_user(emulator, user.keys[0])
    await run(s3.make_bucket, "owned-bucket")
    with pytest.raises(OstorConflict, match="owns 1 bucket"):
        await admin.delete_user(user.email)
    await run(s3.remove_bucket, "owned-bucket")
    assert await admin.delete_user(user.email) is True
    assert await admin.get_user(user.email) is None
    assert await admin.delete_user(user.email) is False


# -- ostor-buckets -------------------------------------------------------------------------------------------------


GUIDE_BUCKET_FIELDS = {"size", "epoch", "owner_id", "name", "creation_date"}
GUIDE_SIZE_FIELDS = {"current", "h_integral", "hmax", "last_ts"}


async def users_with_buckets(
    admin: OstorAdminClient, emulator: OstorEmulator, buckets: dict[str, dict[str, dict[str, int]]]
) -> dict[str, OstorUser]:
    """Users `<name>@example.com`, each making its buckets as itself, with objects of the given sizes."""
    users = {}
    for name, owned in buckets.items():
        user = users[name] = await admin.create_user(f"{name}@example.com")
        s3 = as_user(emulator, user.keys[0])
        for bucket, objects in owned.items():
            await run(s3.make_bucket, bucket)
            for key, size in objects.items():
                await run(s3.put_object, bucket, key, io.BytesIO(b"x" * size), size)
    return users


async def test_bucket_list_reports_owner_and_current_size_and_filters_by_email(
    admin: OstorAdminClient, emulator: OstorEmulator
) -> None:
    users = await users_with_buckets(
        admin, emulator, {"alice": {"alice-data": {"one": 1000, "two": 24}}, "bob": {"bob-data": {}}}
    )
    alice = users["alice"]
    raw = await admin.call("GET", "ostor-buckets", [("emailAddress", alice.email)], action="list")
    (entry,) = raw["Buckets"]
    assert set(entry) == GUIDE_BUCKET_FIELDS
    assert set(entry["size"]) == GUIDE_SIZE_FIELDS
    assert (entry["name"], entry["owner_id"], entry["size"]["current"]) == ("alice-data", alice.user_id, 1024)
    assert {b.name for b in await admin.list_buckets()} == {"alice-data", "bob-data"}


async def test_the_bucket_list_without_an_email_has_every_users_buckets_with_exactly_the_guides_fields(
    admin: OstorAdminClient, emulator: OstorEmulator
) -> None:
    users = await users_with_buckets(
        admin,
        emulator,
        {"alice": {"alice--one": {"k": 12288}, "alice--two": {}}, "bob": {"bob--one": {"k1": 100, "k2": 50}}},
    )
    alice, bob = users["alice"], users["bob"]
    raw = await admin.call("GET", "ostor-buckets", action="list all")
    assert set(raw) == {"Buckets"}
    for entry in raw["Buckets"]:
        assert set(entry) == GUIDE_BUCKET_FIELDS  # no object count: the guide's answer has none
        assert set(entry["size"]) == GUIDE_SIZE_FIELDS
        assert entry["epoch"] == 0
        datetime.strptime(entry["creation_date"], "%Y-%m-%dT%H:%M:%S.%f%z")  # 2018-05-25T17:12:00.000Z
        assert entry["creation_date"].endswith("Z")
        assert len(entry["creation_date"]) == len("2018-05-25T17:12:00.000Z")
    got = {e["name"]: (e["owner_id"], e["size"]["current"]) for e in raw["Buckets"]}
    assert got == {
        "alice--one": (alice.user_id, 12288),
        "alice--two": (alice.user_id, 0),
        "bob--one": (bob.user_id, 150),
    }


async def test_the_bucket_list_of_a_user_without_buckets_is_empty_and_of_an_unknown_email_not_found(
    admin: OstorAdminClient,
) -> None:
    user = await admin.create_user("empty@example.com")
    assert await admin.call("GET", "ostor-buckets", [("emailAddress", user.email)], action="list") == {"Buckets": []}
    with pytest.raises(OstorNotFound, match="NoSuchUser"):
        await admin.list_buckets("nobody@example.com")


async def test_a_bucket_name_taken_by_another_user_is_refused(admin: OstorAdminClient, emulator: OstorEmulator) -> None:
    alice, bob = await admin.create_user("alice@example.com"), await admin.create_user("bob@example.com")
    await run(as_user(emulator, alice.keys[0]).make_bucket, "shared-name")
    with pytest.raises(S3Error) as refused:
        await run(as_user(emulator, bob.keys[0]).make_bucket, "shared-name")
    assert refused.value.code == "BucketAlreadyExists"
    with pytest.raises(S3Error) as denied:
        await run(as_user(emulator, bob.keys[0]).remove_bucket, "shared-name")
    assert denied.value.code == "AccessDenied"


# -- ostor-accounts ------------------------------------------------------------------------------------------------


async def test_accounts_are_created_with_a_key_pair_shown_on_the_user_and_deleted(admin: OstorAdminClient) -> None:
    user = await admin.create_user("user@email.com")
    created = await admin.call(
        "POST", "ostor-accounts", [("emailAddress", user.email), ("accountName", "account")], action="create"
    )
    assert set(created) == {"Name", "AWSAccessKeys"}
    assert created["AWSAccessKeys"][0]["AWSAccessKeyId"].startswith(user.user_id)
    await admin.create_account(user.email, "second")  # PUT, as the guide's text says
    await admin.generate_key(user.email, account="account")
    with pytest.raises(OstorConflict):
        await admin.generate_key(user.email, account="account")
    raw = await admin.call("GET", "ostor-users", [("emailAddress", user.email)], action="query")
    assert raw["AccountCount"] == "2"
    assert [(a["Name"], len(a["AWSAccessKeys"])) for a in raw["Accounts"]] == [("account", 2), ("second", 1)]
    with pytest.raises(OstorConflict, match="already has an account"):
        await admin.create_account(user.email, "account")
    assert await admin.delete_account(user.email, "account") is True
    assert await admin.delete_account(user.email, "account") is False
    assert [a.name for a in (await admin.get_user(user.email)).accounts] == ["second"]  # type: ignore[union-attr]


# -- ostor-limits --------------------------------------------------------------------------------------------------

NO_LIMITS = {**GUIDE_LIMITS, "ops:get": "0.00", "bandwidth:out": "0"}


@pytest.mark.parametrize("kind", ["user", "bucket"])
async def test_limits_are_set_one_at_a_time_read_back_as_the_guide_shows_and_deleted_to_zero(
    admin: OstorAdminClient, emulator: OstorEmulator, kind: str
) -> None:
    user = await admin.create_user("client@example.com")
    await run(as_user(emulator, user.keys[0]).make_bucket, "client")
    target = for_user(user.email) if kind == "user" else for_bucket("client")
    await put_limit(admin, target, "ops", "get", "3600")
    await put_limit(admin, target, "bandwidth", "out", "100")
    assert await admin.call("GET", "ostor-limits", [target], action="query") == GUIDE_LIMITS
    await admin.delete_limits(target)
    assert await admin.call("GET", "ostor-limits", [target], action="query") == NO_LIMITS


async def test_an_unknown_limit_or_a_negative_value_is_refused(admin: OstorAdminClient) -> None:
    user = await admin.create_user("client@example.com")
    with pytest.raises(BackendError, match="unknown limit ops:post"):
        await put_limit(admin, for_user(user.email), "ops", "post", "1")
    with pytest.raises(BackendError, match="limit-value must be a number >= 0"):
        await put_limit(admin, for_user(user.email), "ops", "get", "-5")


# -- ostor-quotas --------------------------------------------------------------------------------------------------


async def test_quotas_per_user_bucket_and_default_answer_as_the_guide_shows_and_can_be_deleted(
    admin: OstorAdminClient, emulator: OstorEmulator
) -> None:
    user = await admin.create_user("user@example.com")
    await run(as_user(emulator, user.keys[0]).make_bucket, "bucket1")
    cases = [
        (for_user(user.email), 1024, "0"),
        (for_bucket("bucket1"), 256, "1"),
        (for_default("user"), 1024, "0"),
        (for_default("bucket"), 256, "1"),
    ]
    for target, size, kind in cases:
        await admin.set_quota(target, size)
        assert await admin.call("GET", "ostor-quotas", [target], action="q") == {
            "version": "1",
            "type": kind,
            "size": str(size),
        }
        assert await admin.delete_quota(target) is True
        assert await admin.get_quota(target) is None


# -- ostor-usage ---------------------------------------------------------------------------------------------------


async def test_statistics_objects_count_traffic_per_user_and_bucket_until_deleted(
    admin: OstorAdminClient, emulator: OstorEmulator
) -> None:
    user = await admin.create_user("client@example.com")
    s3 = as_user(emulator, user.keys[0])
    await run(s3.make_bucket, "client")
    await run(s3.put_object, "client", "obj", io.BytesIO(b"z" * 300), 300)
    await run(lambda: s3.get_object("client", "obj").read())
    await run(lambda: list(s3.list_objects("client")))
    name = emulator.state.roll_usage()
    assert name is not None
    assert name.startswith(f"s3-usage-{emulator.state.service_id}-")
    assert name.endswith("-1800")
    listing = await admin.call("GET", "ostor-usage", action="list")
    assert listing == {"nr_items": 1, "truncated": False, "items": [name]}
    raw = await admin.call("GET", "ostor-usage", [("obj", name)], action="get")
    assert set(raw) == {"fmt_version", "service_id", "start_ts", "period", "nr_items", "items"}
    (item,) = [i for i in raw["items"] if i["key"]["bucket"] == "client"]
    assert item["key"]["user_id"] == user.user_id
    assert item["counters"]["ops"] == {"put": 1, "get": 1, "list": 1, "other": 1}
    assert item["counters"]["net_io"] == {"uploaded": 300, "downloaded": 300}
    assert await admin.delete_usage(name) is True
    assert (await admin.list_usage()).items == ()
    assert await admin.get_usage(name) is None


async def test_a_period_without_traffic_writes_no_statistics_object(emulator: OstorEmulator) -> None:
    assert emulator.state.roll_usage() is None
    assert emulator.state.stats == {}


async def test_the_statistics_list_is_truncated_at_a_page_and_continues_after_the_last_name(
    admin: OstorAdminClient, emulator: OstorEmulator, clock: Clock
) -> None:
    user = await admin.create_user("client@example.com")
    s3 = as_user(emulator, user.keys[0])
    names = []
    for _ in range(5):
        await run(s3.list_buckets)
        clock.offset += 60
        names.append(emulator.state.roll_usage())
    first = await admin.list_usage()
    assert (list(first.items), first.truncated) == (names[:3], True)
    rest = await admin.list_usage(after=first.items[-1])
    assert (list(rest.items), rest.truncated) == (names[3:], False)
