"""MinIO's DataUsageInfo answer decoded to per-bucket figures (bridge/backends/minio/usage_info.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.backends.minio.usage_info import UnreadableUsageInfo, decode_usage_info
from bridge.domain.values import BucketUsage


def bucket_entry(size: Any, objects: Any) -> dict[str, Any]:
    """One bucket as MinIO's madmin.BucketUsageInfo writes it (field order and names as the real server sends them)."""
    return {
        "size": size,
        "objectsPendingReplicationTotalSize": 0,
        "objectsFailedReplicationTotalSize": 0,
        "objectsReplicatedTotalSize": 0,
        "objectsPendingReplicationCount": 0,
        "objectsFailedReplicationCount": 0,
        "objectsCount": objects,
        "objectsSizesHistogram": {"BETWEEN_1024B_AND_1_MB": objects, "LESS_THAN_1024_B": 0},
        "objectsVersionsHistogram": {"UNVERSIONED": objects, "SINGLE_VERSION": 0},
        "versionsCount": 0,
        "deleteMarkersCount": 0,
        "objectReplicaTotalSize": 0,
        "objectReplicaCount": 0,
        "objectsReplicationInfo": None,
    }


def answer(buckets: dict[str, dict[str, Any]], last_update: str = "2026-12-02T14:08:29.833014346Z") -> str:
    return json.dumps(
        {
            "lastUpdate": last_update,
            "objectsCount": 0,
            "objectsTotalSize": 0,
            "objectsReplicationInfo": None,
            "bucketsCount": len(buckets),
            "bucketsUsageInfo": buckets,
        }
    )


def test_every_bucket_keeps_its_size_and_object_count_as_the_plain_json_parse_reads_them() -> None:
    buckets = {f"svc{i}--data": bucket_entry(i * 1_000_003, i % 7) for i in range(60)}
    buckets["huge--data"] = bucket_entry(2**60 + 1, 3)  # beyond a double's exact range: must stay exact
    usage, scanned = decode_usage_info(answer(buckets))
    plain = json.loads(answer(buckets))["bucketsUsageInfo"]
    assert usage == [BucketUsage(name, b["size"], b["objectsCount"]) for name, b in plain.items()]
    assert scanned == datetime(2026, 12, 2, 14, 8, 29, 833014, tzinfo=UTC)


def test_bytes_decode_like_text() -> None:
    raw = answer({"a--b": bucket_entry(5, 1)})
    assert decode_usage_info(raw.encode()) == decode_usage_info(raw)


@pytest.mark.parametrize("raw", ["", b""])
def test_an_empty_answer_before_the_first_scan_has_no_buckets(raw: str | bytes) -> None:
    assert decode_usage_info(raw) == ([], None)


def test_the_zero_time_before_the_first_scan_and_missing_or_null_figures_read_as_none_and_zero() -> None:
    usage, scanned = decode_usage_info(
        json.dumps({"lastUpdate": "0001-01-01T00:00:00Z", "bucketsUsageInfo": {"a--b": {"size": None}}})
    )
    assert (usage, scanned) == ([BucketUsage("a--b", 0, 0)], None)
    assert decode_usage_info(json.dumps({"bucketsUsageInfo": None})) == ([], None)


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("<html>502 Bad Gateway</html>", "malformed"),
        ("[]", "Expected `object`, got `array`"),
        (answer({"a--b": bucket_entry("12", 1)}), "$.bucketsUsageInfo[...].size"),
        (answer({"a--b": bucket_entry(12, 1.5)}), "$.bucketsUsageInfo[...].objectsCount"),
    ],
)
def test_an_answer_that_is_not_data_usage_info_is_refused_with_what_is_wrong(raw: str, named: str) -> None:
    with pytest.raises(UnreadableUsageInfo) as e:
        decode_usage_info(raw)
    assert "DataUsageInfo answer is not the JSON expected" in str(e.value)
    assert named in str(e.value)
