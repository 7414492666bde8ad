"""The ostor admin client's answer side (pure): the guide's JSON answers, and the ways a real gateway's differ."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.backends.ostor.admin_client import for_user, limit_params
from bridge.backends.ostor.answers import (
    Quota,
    loads_lenient,
    parse_buckets,
    parse_limits,
    parse_quota,
    parse_usage_listing,
    parse_usage_object,
    parse_user,
    parse_users,
)
from bridge.backends.ostor.errors import OstorProtocolError
from bridge.backends.ostor.units import bandwidth_unit, from_gateway_bandwidth, ops_unit, to_gateway_bandwidth
from bridge.domain.values import KeyPair, RateLimits
from bridge.errors import BackendError
from tests.support.ostor_guide import GUIDE_LIMITS
from tests.support.ostor_keys import GUIDE_KEYS

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


def test_limits_from_the_guide_pass_through_unchanged_and_go_back_as_whole_numbers() -> None:
    """Nobody confirmed the gateway's units: by default the numbers are the gateway's own, both ways."""
    limits = parse_limits(GUIDE_LIMITS)
    assert limits == RateLimits(ops_get=3600.0, bandwidth_out=100)
    sent = {(p[2][1], p[3][1]) for p in limit_params(for_user("client@example.com"), limits)}
    assert sent == {("default", "0"), ("get", "3600"), ("put", "0"), ("list", "0"), ("delete", "0"), ("out", "100")}


def test_declared_units_convert_the_products_kilobytes_and_operations_per_second_both_ways() -> None:
    limits = parse_limits(GUIDE_LIMITS, "kbit", "per_minute")
    assert limits == RateLimits(ops_get=60.0, bandwidth_out=12)  # 3600 per minute, 100 kbit/s = 12.5 KB/s rounded
    sent = {(p[2][1], p[3][1]) for p in limit_params(for_user("a@b"), RateLimits(ops_get=0.5, bandwidth_out=100),
                                                    "kbit", "per_minute")}  # fmt: skip
    assert ("get", "30") in sent  # 0.5 ops/s is a whole 30 per minute
    assert ("out", "800") in sent


@pytest.mark.parametrize(
    ("value", "unit", "sent"),
    [(100, "gateway", 100), (100, "kbit", 800), (1, "kbit", 8), (0, "kbit", 0), (100, "kbyte", 100)],
)
def test_the_products_bandwidth_becomes_the_gateways_number(value: int, unit: str, sent: int) -> None:
    assert to_gateway_bandwidth(value, unit) == sent  # type: ignore[arg-type]
    assert from_gateway_bandwidth(sent, unit) == value  # type: ignore[arg-type]


@pytest.mark.parametrize("line", ["kbits", "KB/s", "bytes"])
def test_an_access_hash_unit_other_than_the_documented_words_is_refused_naming_it(line: str) -> None:
    with pytest.raises(ValueError, match=f"bandwidth_unit must be kbit or kbyte .*got '{re.escape(line)}'"):
        bandwidth_unit(line)
    with pytest.raises(ValueError, match="ops_unit must be per_second or per_minute"):
        ops_unit(line)
    assert (bandwidth_unit(""), ops_unit("")) == ("gateway", "gateway")


def test_a_fractional_bandwidth_the_api_reference_shows_is_read_to_whole_numbers() -> None:
    """The Object Storage Orchestration API reference's sample answer has `"bandwidth:out": "3.33"`."""
    assert parse_limits({"bandwidth:out": "3.33"}).bandwidth_out == 3
    assert parse_limits({"bandwidth:out": "804"}, "kbit").bandwidth_out == 100


def test_a_fractional_operations_rate_is_refused_rather_than_sent_as_a_decimal() -> None:
    with pytest.raises(BackendError, match="whole number") as refused:
        limit_params(for_user("a@b"), RateLimits(ops_put=0.5))
    assert refused.value.code == "invalid_limit"


@pytest.mark.parametrize("answer", [{"ops:get": "-1"}, {"ops:get": "nan"}, {"bandwidth:out": "x"}, []])
def test_limits_that_are_not_numbers_from_zero_raise_a_protocol_error(answer: object) -> None:
    with pytest.raises(OstorProtocolError, match="not as documented"):
        parse_limits(answer)


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


def test_a_statistics_object_with_a_bare_hexadecimal_service_id_is_read_without_guessing_values() -> None:
    """The guide names objects by hex service ids but prints `service_id` bare: `800000000000006a` is invalid JSON."""
    body = (
        b'{"fmt_version": 1, "service_id": 800000000000006a, "start_ts": 1485966714, "period": 1390, "nr_items": 1,'
        b' "items": [{"key": {"bucket": "client", "epoch": 98309, "user_id": "b81d6c5f895a8c86", "tag": ""},'
        b' "counters": {"ops": {"put": 1, "get": 3, "list": 0, "other": 0},'
        b' "net_io": {"uploaded": 41258, "downloaded": 45511311}}}]}'
    )
    data = loads_lenient(body)
    assert data["service_id"] == "800000000000006a"
    (record,) = parse_usage_object("s3-usage-800000000000006a-2017-02-01T16:27:24.000Z-1800", data)
    assert (record.bucket, record.ops_get, record.bytes_out) == ("client", 3, 45511311)


def test_a_statistics_object_cut_short_is_not_read_at_all() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_lenient(b'{"fmt_version": 1, "service_id": 800000000000006a, "items": [')
