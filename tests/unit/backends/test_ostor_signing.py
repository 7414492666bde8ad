"""The ostor admin client's request side (pure): query encoding, SigV2 as the guide and public clients sign the
admin services, SigV4; and our SigV2 accepted by a real S3 server (MinIO)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import aiohttp
import pytest
from minio import Minio
from yarl import URL

from bridge.backends.ostor.errors import map_gateway_error, parse_error
from bridge.backends.ostor.signing import Keys, admin_url, encode_query, http_date, sign_v2, sign_v4
from bridge.errors import BackendAuthError
from rig.services import MinIO
from tests.support.ostor_keys import AWS_KEYS, GUIDE_KEYS

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


# Independent vectors, not computed from our client's string-to-sign: each signature below was computed once,
# outside this code base, exactly as the guide's `s3_curl` does it,
#   echo -en "${method}\n\n\n${s3_date}\n/${s3_query%%&*}" | openssl sha1 -hmac ${s3_secret} -binary | base64
# with the guide's system user (`s3_secret` = GUIDE_KEYS.secret_key) and the date below. That string is also what the
# public Go client of the ostor admin API signs (Luzilla/acronis-s3-usage, pkg/ostor/utils.go createSignature:
# "%s\n\n\n%s\n/%s" of method, date and "?"+service), so only the service, never the other query values, is signed.
# (The guide's PDF text shows two "\n" before the date in `s3_curl`, its PHP sample three: the PHP sample, the Go
# client and AWS SigV2 agree on three, empty Content-MD5 and Content-Type.)
VECTOR_DATE = "Tue, 01 Mar 2022 10:00:00 GMT"
GUIDE_VECTORS = [
    ("GET", "ostor-users", [("emailAddress", "user@example.com")], "Cq/sezjHuJQWgrXKLlGO/WbNW8k="),
    ("PUT", "ostor-users", [("emailAddress", "user@example.com")], "epRBZbXn/9Gp8AVdQ/dc+TklzKc="),
    ("DELETE", "ostor-users", [("emailAddress", "user@example.com")], "nMp9D7uMGvosRfilzSuVnfAlsA0="),
    ("POST", "ostor-users", [("emailAddress", "a+b&c@x.com"), ("genKey", None)], "buhuC/X/05I3sxRzKZtYhAspuEo="),
    (
        "DELETE",
        "ostor-usage",
        [("obj", "s3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800")],
        "lHRboa9hQVtwadDHfz1RVrjCCrk=",
    ),
]


@pytest.mark.parametrize(("method", "service", "params", "signature"), GUIDE_VECTORS)
def test_sigv2_of_an_admin_request_equals_the_guides_s3_curl_signature(
    method: str, service: str, params: list[tuple[str, str | None]], signature: str
) -> None:
    url = admin_url("http://s3.example.com", service, params)
    headers = sign_v2(method, url, {}, GUIDE_KEYS, date=VECTOR_DATE)
    assert headers["Authorization"] == f"AWS {GUIDE_KEYS.access_key}:{signature}"
    assert headers["Date"] == VECTOR_DATE


def test_sigv2_signs_the_date_as_sent_in_the_numeric_zone_form_public_clients_use() -> None:
    """Luzilla/acronis-s3-usage sends `Date` as RFC 1123 with a numeric zone (Go's time.RFC1123Z)."""
    url = admin_url("http://s3.example.com", "ostor-usage")
    headers = sign_v2("GET", url, {}, GUIDE_KEYS, date="Wed, 01 Feb 2017 16:31:54 +0000")
    assert headers["Authorization"] == f"AWS {GUIDE_KEYS.access_key}:k/olqCMm2V4Em6/WjrR63P7x2RE="


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


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


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
