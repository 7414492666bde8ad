"""MinIO audit entries -> events -> traffic and disk deltas (pure rules, on entries captured from the real server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.domain.audit_events import AuditEvent, AuditFormatError, classify, dedupe_key, from_entry, parse_body
from bridge.domain.traffic import Attribution, KnownObjects, estimate, rollup
from rig.paths import MINIO_AUDIT_SAMPLE

SAMPLE = MINIO_AUDIT_SAMPLE


def sample_entries() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def entry(
    name: str,
    *,
    bucket: str = "alice--b1",
    obj: str = "k",
    status: int = 200,
    rx: int = 0,
    tx: int = 0,
    rid: str = "18EB0000000000",
    time: str = "2026-11-25T16:23:36.100000000Z",
    **extra: Any,
) -> dict[str, Any]:
    e: dict[str, Any] = {
        "version": "1",
        "time": time,
        "trigger": "incoming",
        "api": {"name": name, "bucket": bucket, "object": obj, "statusCode": status, "rx": rx, "tx": tx},
        "requestID": rid,
        "accessKey": "alice",
    }
    e.update(extra)
    return e


def ev(name: str, **kw: Any) -> AuditEvent:
    e = from_entry(entry(name, **kw))
    assert e is not None
    return e


def test_the_real_servers_entries_give_the_bytes_the_client_moved() -> None:
    """The sample is what MinIO sent for: put 1000 B, get it, list, put 3000 B and 7000 B, ranged get of 100 B,
    delete, a 5 MiB part then abort, a multi-delete, and a 404."""
    events = [from_entry(e) for e in sample_entries()]
    by_api = [(e.api, e.bytes_in, e.bytes_out, e.status) for e in events if e]
    assert ("PutObject", 1000, 0, 200) in by_api
    assert ("GetObject", 0, 1000, 200) in by_api
    assert ("GetObject", 0, 100, 206) in by_api
    assert ("PutObjectPart", 5 * 1024 * 1024, 0, 200) in by_api
    assert ("GetObject", 0, 333, 404) in by_api  # the error document is sent bytes too
    multi = next(e for e in events if e and e.api == "DeleteMultipleObjects")
    assert multi.objects == ("k2", "k3")
    part = next(e for e in events if e and e.api == "PutObjectPart")
    assert part.upload_id
    assert part.written == 5 * 1024 * 1024


def test_request_classes_cover_minios_api_names() -> None:
    """Every S3 API name lands in read, write, list, delete or other by its verb."""
    assert classify("GetObject") == classify("HeadObject") == classify("SelectObject") == "read"
    assert classify("PutObject") == classify("PutObjectPart") == classify("CopyObject") == "write"
    assert classify("NewMultipartUpload") == classify("CompleteMultipartUpload") == "write"
    assert classify("ListObjectsV2") == classify("ListBuckets") == classify("ListObjectParts") == "list"
    assert classify("DeleteObject") == classify("DeleteMultipleObjects") == classify("AbortMultipartUpload") == "delete"
    assert classify("ListenNotification") == "other"


def test_a_refused_upload_moves_no_bytes_in() -> None:
    """rx is the declared Content-Length: a 403 PutObject stored nothing and is not counted as bytes in."""
    e = ev("PutObject", status=403, rx=5000, tx=300)
    assert (e.bytes_in, e.written, e.bytes_out) == (0, 0, 300)


def test_streaming_uploads_count_the_decoded_payload() -> None:
    """aws-chunked: Content-Length includes chunk signatures; the payload is X-Amz-Decoded-Content-Length."""
    e = ev("PutObject", rx=1180, requestHeader={"X-Amz-Decoded-Content-Length": "1000"})
    assert (e.bytes_in, e.written) == (1000, 1000)


def test_unknown_length_counts_nothing_rather_than_minus_one() -> None:
    assert ev("PutObject", rx=-1).bytes_in == 0


def test_server_internal_entries_are_not_client_traffic() -> None:
    """Lifecycle expiry and other internal work arrive with another trigger and are skipped."""
    assert from_entry(entry("DeleteObject", trigger="ILMExpiry")) is None


def test_a_resent_entry_has_the_same_key_and_a_different_request_does_not() -> None:
    a = ev("GetObject", rid="18EB1", time="2026-11-25T16:23:36.1Z")
    again = ev("GetObject", rid="18EB1", time="2026-11-25T16:23:36.1Z")
    other_node = ev("GetObject", rid="18EB1", time="2026-11-25T16:23:36.2Z")
    assert a.key == again.key == dedupe_key("18EB1", "2026-11-25T16:23:36.1Z")
    assert other_node.key != a.key


def test_batched_bodies_are_one_entry_per_line_and_bad_ones_are_named() -> None:
    body = b"\n".join(json.dumps(e).encode() for e in sample_entries()) + b"\n"
    assert len(list(parse_body(body))) == len(sample_entries())
    with pytest.raises(AuditFormatError, match="line 2"):
        list(parse_body(b'{"api": {}}\n{not json\n'))


def test_events_go_to_the_bucket_owner_and_bucketless_ones_to_the_user() -> None:
    who = Attribution({"alice": 1, "al": 2})
    assert who.service_of(ev("GetObject", bucket="alice--b1")) == 1
    assert who.service_of(ev("GetObject", bucket="al--x")) == 2
    assert who.service_of(ev("GetObject", bucket="alicex")) is None
    assert who.service_of(ev("ListBuckets", bucket="")) == 1


def test_rollup_sums_per_service_and_day_with_classes() -> None:
    events = [(1, from_entry(e)) for e in sample_entries()]
    r = rollup([(sid, e) for sid, e in events if e], KnownObjects())
    [(key, t)] = r.traffic.items()
    assert key == (1, "2026-11-25")
    assert t.bytes_in == 1000 + 3000 + 7000 + 5 * 1024 * 1024 + 125  # the multi-delete's XML body is bytes in
    assert t.bytes_out == sum(e["api"]["tx"] for e in sample_entries())
    assert (t.read, t.list, t.delete) == (4, 1, 3)  # 3 GetObject + GetBucketLocation; ListObjectsV2
    assert t.requests == len(sample_entries())


def test_known_deletes_overwrites_and_aborted_parts_reduce_the_estimate() -> None:
    """The sample writes 11000 B and a 5 MiB part, deletes all three objects and aborts the upload: net zero."""
    events = [(1, from_entry(e)) for e in sample_entries()]
    r = rollup([(sid, e) for sid, e in events if e], KnownObjects())
    written = sum(d.written for d in r.disk.values())
    deleted = sum(d.deleted for d in r.disk.values())
    assert written == 11000 + 5 * 1024 * 1024
    assert deleted == written
    known = KnownObjects()
    r2 = rollup([(1, ev("PutObject", rx=10, obj="a")), (1, ev("PutObject", rx=4, obj="a"))], known)
    assert sum(d.written for d in r2.disk.values()) - sum(d.deleted for d in r2.disk.values()) == 4


def test_unfinished_uploads_count_until_aborted_and_completed_ones_become_the_object() -> None:
    known = KnownObjects()
    up = {"requestQuery": {"uploadId": "U1", "partNumber": "1"}}
    r = rollup([(1, ev("PutObjectPart", rx=100, obj="big", **up))], known)
    assert sum(d.written for d in r.disk.values()) == 100  # counted while unfinished
    done = rollup([(1, ev("CompleteMultipartUpload", obj="big", requestQuery={"uploadId": "U1"}))], known)
    assert not done.disk  # no second count
    gone = rollup([(1, ev("DeleteObject", obj="big", status=204))], known)
    assert sum(d.deleted for d in gone.disk.values()) == 100


def test_versioned_deletes_free_nothing() -> None:
    known = KnownObjects()
    v = {"responseHeader": {"X-Amz-Version-Id": "abc"}}
    rollup([(1, ev("PutObject", rx=50, **v))], known)
    r = rollup([(1, ev("DeleteObject", status=204, **v))], known)
    assert not r.disk  # a delete marker


def test_known_objects_are_bounded() -> None:
    known = KnownObjects(max_entries=3)
    rollup([(1, ev("PutObject", rx=1, obj=f"o{i}")) for i in range(10)], known)
    assert len(known) == 3


def test_the_estimate_names_its_source() -> None:
    assert estimate(500, "scan", 0, 0).source == "scan"
    assert estimate(500, "listing", 0, 0).source == "listing"
    f = estimate(500, "scan", 300, 100)
    assert (f.bytes, f.source, f.baseline) == (700, "estimate", 500)
    assert estimate(100, "scan", 0, 400).bytes == 0


def test_an_entry_with_an_impossible_time_is_skipped_not_a_poison_for_its_batch() -> None:
    """One odd entry must not fail the batch (MinIO would resend it forever and queue everything behind it)."""
    assert from_entry(entry("GetObject", time="2026-13-45T10:00:00Z")) is None
    assert from_entry(entry("GetObject", time="yesterday")) is None
    assert from_entry(entry("GetObject", time="2026-02-28T23:59:59.1Z")) is not None
