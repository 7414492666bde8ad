"""The ostor admin client: query encoding, signing (known vectors, the guide's recipe, real MinIO), answers, errors."""

from __future__ import annotations

import asyncio
import base64
import subprocess
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from minio import Minio
from yarl import URL

from bridge.backends.ostor_backend import OstorSettings, user_email
from bridge.backends.ostor_client import (
    GatewayError,
    Keys,
    OstorAdminClient,
    OstorConflict,
    OstorNotFound,
    OstorProtocolError,
    Quota,
    admin_url,
    encode_query,
    for_user,
    http_date,
    limit_params,
    map_gateway_error,
    parse_buckets,
    parse_error,
    parse_limits,
    parse_quota,
    parse_usage_listing,
    parse_usage_object,
    parse_user,
    parse_users,
    sign_v2,
    sign_v4,
    string_to_sign_v2,
)
from bridge.domain.naming import NamingError
from bridge.domain.values import KeyPair, RateLimits
from bridge.errors import BackendAuthError, BackendError, BackendForbidden, BackendTLSError, BackendUnreachable
from rig.ostor_emulator import OstorEmulator
from rig.services import MinIO, free_port

AWS_KEYS = Keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")  # AWS documentation's example
GUIDE_KEYS = Keys("a14040e0b2ef8b28FZZ8", "dbwTnQTW602aAAdq8DQVFzB6yrTCFTNiGB8C8RFA")  # the guide's system user

# -- query encoding ------------------------------------------------------------------------------------------------


def test_query_percent_encodes_plus_ampersand_and_at_so_the_email_survives_decoding() -> None:
    query = encode_query("ostor-users", [("emailAddress", "a+b&c@x.com")])
    assert query == "ostor-users&emailAddress=a%2Bb%26c%40x.com"
    assert dict(parse_qsl(query, keep_blank_values=True))["emailAddress"] == "a+b&c@x.com"


def test_query_writes_flags_bare_after_the_service_as_the_guide_does() -> None:
    url = admin_url("http://s3.example.com/", "ostor-users", [("emailAddress", "user@example.com"), ("genKey", None)])
    assert url == "http://s3.example.com/?ostor-users&emailAddress=user%40example.com&genKey"


def test_query_refuses_a_service_the_gateway_does_not_have() -> None:
    with pytest.raises(ValueError, match="unknown ostor admin service"):
        encode_query("ostor-nothing")


# -- SigV2 ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        ("http://s3.amazonaws.com/johnsmith/photos/puppy.jpg", "bWq2s1WEIj+Ydj0vQ697zp+IXMU="),
        ("http://s3.amazonaws.com/awsexamplebucket1/photos/puppy.jpg", "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="),
    ],
)
def test_sigv2_matches_the_aws_documented_get_object_vectors(url: str, signature: str) -> None:
    headers = sign_v2("GET", url, {}, AWS_KEYS, date="Tue, 27 Mar 2007 19:36:42 +0000")
    assert headers["Authorization"] == f"AWS AKIAIOSFODNN7EXAMPLE:{signature}"
    assert headers["Date"] == "Tue, 27 Mar 2007 19:36:42 +0000"


def test_sigv2_signs_the_admin_service_as_resource_and_ignores_the_other_query_values() -> None:
    date = "Tue, 01 Mar 2022 10:00:00 GMT"
    for params in ([("emailAddress", "user@example.com")], [("emailAddress", "a+b&c@x.com"), ("genKey", None)]):
        url = admin_url("http://s3.example.com", "ostor-users", params)
        assert string_to_sign_v2("PUT", url, {}, date) == f"PUT\n\n\n{date}\n/?ostor-users"


def test_sigv2_signature_equals_the_guides_openssl_recipe() -> None:
    """The guide signs with `openssl sha1 -hmac <secret> -binary | base64`; the same string must give the same value."""
    date = "Tue, 01 Mar 2022 10:00:00 GMT"
    url = admin_url("http://s3.example.com", "ostor-usage", [("obj", "s3-usage-8000000000000065-x-1800")])
    to_sign = string_to_sign_v2("DELETE", url, {}, date)
    digest = subprocess.run(
        ["openssl", "sha1", "-hmac", GUIDE_KEYS.secret_key, "-binary"], input=to_sign.encode(), capture_output=True
    ).stdout
    expected = base64.b64encode(digest).decode()
    assert len(digest) == 20
    assert (
        sign_v2("DELETE", url, {}, GUIDE_KEYS, date=date)["Authorization"] == f"AWS {GUIDE_KEYS.access_key}:{expected}"
    )


def test_http_date_is_the_rfc_7231_form_sigv2_signs() -> None:
    assert http_date(datetime(2022, 3, 1, 10, 0, 0, tzinfo=UTC)) == "Tue, 01 Mar 2022 10:00:00 GMT"


# -- SigV4 ---------------------------------------------------------------------------------------------------------

AWS_V4_DAY = datetime(2013, 5, 24, tzinfo=UTC)


@pytest.mark.parametrize(
    ("method", "url", "headers", "body", "signature"),
    [
        (
            "GET",
            "https://examplebucket.s3.amazonaws.com/test.txt",
            {"Range": "bytes=0-9"},
            b"",
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
        ),
        (
            "PUT",
            "https://examplebucket.s3.amazonaws.com/test%24file.text",
            {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"},
            b"Welcome to Amazon S3.",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        ),
        (
            "GET",
            "https://examplebucket.s3.amazonaws.com/?lifecycle",
            {},
            b"",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
        ),
        (
            "GET",
            "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J",
            {},
            b"",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ],
    ids=["get-object", "put-object", "get-lifecycle", "list-objects"],
)
def test_sigv4_matches_the_aws_documented_s3_vectors(
    method: str, url: str, headers: dict[str, str], body: bytes, signature: str
) -> None:
    signed = sign_v4(method, url, headers, AWS_KEYS, now=AWS_V4_DAY, region="us-east-1", body=body)
    assert signed["Authorization"].endswith(f"Signature={signature}")
    assert signed["Authorization"].startswith(
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders="
    )
    assert signed["X-Amz-Date"] == "20130524T000000Z"


# -- answers -------------------------------------------------------------------------------------------------------

GUIDE_USER = {
    "UserEmail": "user@email.com",
    "UserId": "b09693b73b3c7686",
    "State": "enabled",
    "OwnerId": "0000000000000000",
    "Flags": [],
    "AWSAccessKeys": [
        {"AWSAccessKeyId": "b09693b73b3c7686FIGH", "AWSSecretAccessKey": "j02p4JBN1tWc4FEGxwZ8qW2jPCJBYP8RJ4KgBcZP"}
    ],
    "AccountCount": "2",
    "Accounts": [
        {
            "Name": "account2",
            "AWSAccessKeys": [
                {"AWSAccessKeyId": "b09693b73b3c7686LCZ5", "AWSSecretAccessKey": "x" * 40},
                {"AWSAccessKeyId": "b09693b73b3c76866NI2", "AWSSecretAccessKey": "y" * 40},
            ],
        },
        {"Name": "account3", "AWSAccessKeys": []},
    ],
}


def test_user_answer_from_the_guide_parses_into_keys_and_accounts() -> None:
    user = parse_user(GUIDE_USER)
    assert (user.email, user.user_id, user.enabled) == ("user@email.com", "b09693b73b3c7686", True)
    assert user.keys == (KeyPair("b09693b73b3c7686FIGH", "j02p4JBN1tWc4FEGxwZ8qW2jPCJBYP8RJ4KgBcZP"),)
    assert [(a.name, len(a.keys)) for a in user.accounts] == [("account2", 2), ("account3", 0)]


def test_user_list_is_read_as_the_guides_array_and_as_a_users_object() -> None:
    entry = {"UserEmail": "a@x", "UserId": "a14040e0b2ef8b28", "State": "disabled", "OwnerId": "0000000000000000"}
    assert parse_users([entry])[0].enabled is False
    assert parse_users({"Users": [entry]})[0].user_id == "a14040e0b2ef8b28"


def test_key_pair_and_keys_never_show_the_secret_in_their_repr() -> None:
    assert "j02p4JBN" not in repr(parse_user(GUIDE_USER))
    assert GUIDE_KEYS.secret_key not in repr(GUIDE_KEYS)


def test_bucket_list_from_the_guide_gives_current_size_owner_and_date() -> None:
    answer = {
        "Buckets": [
            {
                "size": {"current": 12288, "h_integral": 7360512, "hmax": 12288, "last_ts": 424241},
                "epoch": 0,
                "owner_id": "ba7eba06129464c5",
                "name": "bucketname",
                "creation_date": "2018-05-25T17:12:00.000Z",
            }
        ]
    }
    (bucket,) = parse_buckets(answer)
    assert (bucket.name, bucket.size, bucket.owner_id) == ("bucketname", 12288, "ba7eba06129464c5")
    assert (bucket.h_integral, bucket.last_ts, bucket.created) == (7360512, 424241, "2018-05-25T17:12:00.000Z")


def _guide_bucket(name: str, owner: str, current: int, h_integral: int, last_ts: int, created: str) -> dict[str, Any]:
    size = {"current": current, "h_integral": h_integral, "hmax": current, "last_ts": last_ts}
    return {"size": size, "epoch": 0, "owner_id": owner, "name": name, "creation_date": created}


def test_the_guides_list_of_all_buckets_gives_each_buckets_size_owner_and_date() -> None:
    answer = {  # `GET ?ostor-buckets` without an email, as "Listing user buckets via REST API" shows it
        "Buckets": [
            _guide_bucket("bucket1", "ba7eba06129464c5", 12288, 7360512, 424241, "2018-05-25T17:12:00.000Z"),
            _guide_bucket("bucket2", "ccbec013d9fd3918", 46700160, 28160196480, 424237, "2018-05-25T13:51:55.000Z"),
            _guide_bucket("bucket3", "9d80d59edbe2862a", 12288, 8036352, 424186, "2018-05-23T10:30:49.000Z"),
        ]
    }
    assert [(b.name, b.owner_id, b.size, b.created) for b in parse_buckets(answer)] == [
        ("bucket1", "ba7eba06129464c5", 12288, "2018-05-25T17:12:00.000Z"),
        ("bucket2", "ccbec013d9fd3918", 46700160, "2018-05-25T13:51:55.000Z"),
        ("bucket3", "9d80d59edbe2862a", 12288, "2018-05-23T10:30:49.000Z"),
    ]
    assert datetime.fromisoformat(parse_buckets(answer)[0].created) == datetime(2018, 5, 25, 17, 12, tzinfo=UTC)


@pytest.mark.parametrize("answer", [{"Buckets": []}, {}, {"Buckets": None}])
def test_an_empty_bucket_list_parses_to_no_buckets(answer: dict[str, Any]) -> None:
    assert parse_buckets(answer) == ()


@pytest.mark.parametrize(
    "answer", [[], {"Buckets": {}}, {"Buckets": [{"size": {}}]}, {"Buckets": [{"name": "b", "size": 3}]}]
)
def test_a_bucket_list_missing_documented_fields_raises_a_protocol_error(answer: object) -> None:
    with pytest.raises(OstorProtocolError, match="not as documented"):
        parse_buckets(answer)


def test_limits_from_the_guide_parse_and_format_back_the_same_way() -> None:
    answer = {
        "ops:default": "0.00",
        "ops:get": "3600.00",
        "ops:put": "0.00",
        "ops:list": "0.00",
        "ops:delete": "0.00",
        "bandwidth:out": "100",
    }
    limits = parse_limits(answer)
    assert limits == RateLimits(ops_get=3600.0, bandwidth_out=100)
    sent = {(p[2][1], p[3][1]) for p in limit_params(for_user("client@example.com"), limits)}
    assert ("get", "3600.00") in sent
    assert ("out", "100") in sent


def test_quota_answer_gives_gigabytes_and_size_zero_means_no_quota() -> None:
    assert parse_quota({"version": "1", "type": "0", "size": "1024"}) == Quota(1024, "0", "1")
    assert parse_quota({"version": "1", "type": "1", "size": "0"}) is None


def test_statistics_list_and_object_from_the_guide_become_traffic_records() -> None:
    listing = parse_usage_listing(
        {"nr_items": 1, "truncated": False, "items": ["s3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800"]}
    )
    assert listing.items == ("s3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800",)
    assert listing.truncated is False
    obj = {
        "fmt_version": 1,
        "service_id": 8000000000000065,
        "start_ts": 1485966714,
        "period": 1390,
        "nr_items": 1,
        "items": [
            {
                "key": {"bucket": "client", "epoch": 98309, "user_id": "b81d6c5f895a8c86", "tag": ""},
                "counters": {
                    "ops": {"put": 1, "get": 3, "list": 0, "other": 0},
                    "net_io": {"uploaded": 41258, "downloaded": 45511311},
                },
            }
        ],
    }
    (record,) = parse_usage_object(listing.items[0], obj)
    assert (record.owner_id, record.bucket, record.ops_get, record.ops_put) == ("b81d6c5f895a8c86", "client", 3, 1)
    assert (record.bytes_in, record.bytes_out, record.period_start, record.period_s) == (
        41258,
        45511311,
        1485966714,
        1390,
    )


@pytest.mark.parametrize("answer", [[], {"UserEmail": "x@y"}, {"UserId": "1", "UserEmail": "x", "Accounts": 3}])
def test_answers_missing_documented_fields_raise_a_protocol_error(answer: object) -> None:
    with pytest.raises(OstorProtocolError, match="not as documented"):
        parse_user(answer)


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
        (GatewayError(503, "", "Service Unavailable"), BackendError, "check the gateway's health"),
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


async def test_a_gateway_that_never_answers_is_reported_as_not_answering_in_time(
    session: aiohttp.ClientSession,
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = OstorAdminClient(session, f"http://127.0.0.1:{port}", GUIDE_KEYS)
        with pytest.raises(BackendUnreachable, match="did not answer list users in time"):
            await client.list_users()
    finally:
        server.close()


async def test_an_answer_that_is_not_json_is_reported_as_not_the_gateway(session: aiohttp.ClientSession) -> None:
    async def html(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n<html>hi</html>")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(html, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        client = OstorAdminClient(session, f"http://127.0.0.1:{port}", GUIDE_KEYS)
        with pytest.raises(OstorProtocolError, match="not JSON"):
            await client.list_users()
    finally:
        server.close()


# -- SigV2 against the real MinIO ----------------------------------------------------------------------------------


def _minio_keys(minio: MinIO) -> Keys:
    return Keys(minio.access_key, minio.secret_key)


async def _send_v2(
    session: aiohttp.ClientSession, method: str, url: str, keys: Keys, *, body: bytes = b"", ctype: str = ""
) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Content-Type": ctype} if ctype else {}
    signed = sign_v2(method, url, headers, keys, date=http_date(datetime.now(UTC)))
    async with session.request(
        method, URL(url, encoded=True), headers=signed, data=body or None, skip_auto_headers=("Content-Type",)
    ) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


@pytest.mark.minio
async def test_real_minio_accepts_our_sigv2_list_buckets(session: aiohttp.ClientSession, minio: MinIO) -> None:
    bucket = f"sigv2-{uuid.uuid4().hex[:10]}"
    Minio(minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False).make_bucket(bucket)
    status, body, _ = await _send_v2(session, "GET", f"http://{minio.endpoint}/", _minio_keys(minio))
    assert status == 200, body[:300]
    assert f"<Name>{bucket}</Name>".encode() in body


@pytest.mark.minio
async def test_real_minio_stores_an_object_put_with_our_sigv2(session: aiohttp.ClientSession, minio: MinIO) -> None:
    s3 = Minio(minio.endpoint, access_key=minio.access_key, secret_key=minio.secret_key, secure=False)
    bucket = f"sigv2-{uuid.uuid4().hex[:10]}"
    s3.make_bucket(bucket)
    url = f"http://{minio.endpoint}/{bucket}/dir/hello%20world.txt"
    status, body, _ = await _send_v2(
        session, "PUT", url, _minio_keys(minio), body=b"signed with v2", ctype="text/plain"
    )
    assert status == 200, body[:300]
    got = s3.get_object(bucket, "dir/hello world.txt")
    try:
        assert got.read() == b"signed with v2"
        assert got.headers["Content-Type"] == "text/plain"
    finally:
        got.close()


@pytest.mark.minio
async def test_real_minio_refuses_a_sigv2_request_with_a_wrong_secret_and_we_map_it_to_auth_error(
    session: aiohttp.ClientSession, minio: MinIO
) -> None:
    wrong = Keys(minio.access_key, "not-the-secret-key-123")
    status, body, headers = await _send_v2(session, "GET", f"http://{minio.endpoint}/", wrong)
    err = parse_error(status, headers, body)
    assert (status, err.code) == (403, "SignatureDoesNotMatch")
    assert isinstance(map_gateway_error(err, minio.endpoint, action="list buckets"), BackendAuthError)


# -- account naming (ostor_backend) ---------------------------------------------------------------------------------


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
