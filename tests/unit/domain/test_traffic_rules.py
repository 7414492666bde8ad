"""MinIO audit entries -> events -> traffic and disk deltas (pure rules, on entries captured from the real server)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bridge.domain.audit_events import AuditEvent, AuditFormatError, classify, decode_post, dedupe_key, from_entry
from bridge.domain.traffic import Attribution, Billing, KnownObjects, Rollup, estimate, rollup
from rig.paths import MINIO_AUDIT_SAMPLE
from tests.support.audit_entries import entry

SAMPLE = MINIO_AUDIT_SAMPLE


def sample_entries() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAMPLE.read_text().splitlines()]


def billed(events: list[tuple[int, AuditEvent]], known: KnownObjects) -> Rollup:
    """The rollup of events that are all the customer's own doing."""
    triples: list[tuple[int, AuditEvent, Billing]] = [(sid, e, "billed") for sid, e in events]
    return rollup(triples, known)


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


STREAMING = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"


def test_streaming_uploads_count_the_decoded_payload() -> None:
    """aws-chunked: Content-Length includes chunk signatures; the payload is X-Amz-Decoded-Content-Length."""
    h = {"X-Amz-Decoded-Content-Length": "1000", "X-Amz-Content-Sha256": STREAMING}
    e = ev("PutObject", rx=1180, requestHeader=h)
    assert (e.bytes_in, e.written) == (1000, 1000)


@pytest.mark.parametrize("declared", ["0", "10737418240", "99999999999999999999999", "1\u00b2", "-5", ""])
def test_the_declared_length_of_an_ordinary_upload_is_ignored_both_ways(declared: str) -> None:
    """MinIO checks X-Amz-Decoded-Content-Length only for streaming-signed uploads; on an ordinary PUT the client
    can write anything there: the stored bytes are the Content-Length, whatever it says."""
    e = ev("PutObject", rx=9_000_000, requestHeader={"X-Amz-Decoded-Content-Length": declared})
    assert (e.bytes_in, e.written) == (9_000_000, 9_000_000)


@pytest.mark.parametrize(
    ("declared", "reason"),
    [("99999999999999999999999", "X-Amz-Decoded-Content-Length"), ("1\u00b2", "X-Amz-Decoded-Content-Length"),
     ("5000", "larger than the request"), ("", "X-Amz-Decoded-Content-Length")],
)  # fmt: skip
def test_an_impossible_streaming_length_drops_that_entry_and_only_that_one(declared: str, reason: str) -> None:
    """A streaming upload MinIO accepted has a decoded length of ASCII digits below its Content-Length; anything
    else is dropped with the reason (the value itself is never echoed), and the other entries of the POST stand."""
    bad = entry("PutObject", rx=1180, requestHeader={"X-Amz-Decoded-Content-Length": declared,
                                                     "X-Amz-Content-Sha256": STREAMING})  # fmt: skip
    body = json.dumps(entry("GetObject", tx=7)) + "\n" + json.dumps(bad) + "\n"
    post = decode_post(body.encode())
    assert [e.api for e in post.events] == ["GetObject"]
    assert len(post.dropped) == 1
    assert post.dropped[0].line == 2
    assert reason in post.dropped[0].reason
    assert declared not in post.dropped[0].reason or not declared


def test_sizes_beyond_s3s_maxima_are_dropped() -> None:
    """No part is over 5 GiB and no object over 5 TiB: such an entry cannot be a real request."""
    assert from_entry(entry("PutObjectPart", rx=5 * 1024**3 + 1, requestQuery={"uploadId": "U"})) is None
    assert from_entry(entry("PutObject", rx=5 * 1024**4 + 1)) is None
    assert from_entry(entry("GetObject", tx=6 * 1024**4)) is None
    assert from_entry(entry("GetObject", rx=-2)) is None
    assert ev("PutObject", rx=5 * 1024**3).bytes_in == 5 * 1024**3


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


def test_batched_bodies_are_one_entry_per_line_and_bad_ones_are_dropped_by_line() -> None:
    body = b"\n".join(json.dumps(e).encode() for e in sample_entries()) + b"\n"
    assert len(decode_post(body).events) == len(sample_entries())
    good = json.dumps(entry("GetObject")).encode()
    post = decode_post(good + b"\n{not json\n" + b'{"api": {"name": "GetObject", "rx": "x"}}\n')
    assert len(post.events) == 1
    assert [(d.line, d.reason) for d in post.dropped] == [(2, "not JSON"), (3, "shape: $.api.rx")]
    with pytest.raises(AuditFormatError, match="none of the 2 line"):
        decode_post(b"{not json\n<html>\n")


def test_events_go_to_the_bucket_owner_and_bucketless_ones_to_the_user() -> None:
    who = Attribution({"alice": 1, "al": 2})
    assert who.service_of(ev("GetObject", bucket="alice--b1")) == 1
    assert who.service_of(ev("GetObject", bucket="al--x")) == 2
    assert who.service_of(ev("GetObject", bucket="alicex")) is None
    assert who.service_of(ev("ListBuckets", bucket="")) == 1


def test_rollup_sums_per_service_and_day_with_classes() -> None:
    events = [(1, from_entry(e)) for e in sample_entries()]
    r = billed([(sid, e) for sid, e in events if e], KnownObjects())
    [(key, t)] = r.traffic.items()
    assert key == (1, "2026-11-25")
    assert t.bytes_in == 1000 + 3000 + 7000 + 5 * 1024 * 1024 + 125  # the multi-delete's XML body is bytes in
    assert t.bytes_out == sum(e["api"]["tx"] for e in sample_entries())
    assert (t.read, t.list, t.delete) == (4, 1, 3)  # 3 GetObject + GetBucketLocation; ListObjectsV2
    assert t.requests == len(sample_entries())


def test_known_deletes_overwrites_and_aborted_parts_reduce_the_estimate() -> None:
    """The sample writes 11000 B and a 5 MiB part, deletes all three objects and aborts the upload: net zero."""
    events = [(1, from_entry(e)) for e in sample_entries()]
    r = billed([(sid, e) for sid, e in events if e], KnownObjects())
    written = sum(d.written for d in r.disk.values())
    deleted = sum(d.deleted for d in r.disk.values())
    assert written == 11000 + 5 * 1024 * 1024
    assert deleted == written
    known = KnownObjects()
    r2 = billed([(1, ev("PutObject", rx=10, obj="a")), (1, ev("PutObject", rx=4, obj="a"))], known)
    assert sum(d.written for d in r2.disk.values()) - sum(d.deleted for d in r2.disk.values()) == 4


def test_unfinished_uploads_count_until_aborted_and_completed_ones_become_the_object() -> None:
    known = KnownObjects()
    up = {"requestQuery": {"uploadId": "U1", "partNumber": "1"}}
    r = billed([(1, ev("PutObjectPart", rx=100, obj="big", **up))], known)
    assert sum(d.written for d in r.disk.values()) == 100  # counted while unfinished
    done = billed([(1, ev("CompleteMultipartUpload", obj="big", requestQuery={"uploadId": "U1"}))], known)
    assert not done.disk  # no second count
    gone = billed([(1, ev("DeleteObject", obj="big", status=204))], known)
    assert sum(d.deleted for d in gone.disk.values()) == 100


def test_versioned_deletes_free_nothing() -> None:
    known = KnownObjects()
    v = {"responseHeader": {"X-Amz-Version-Id": "abc"}}
    billed([(1, ev("PutObject", rx=50, **v))], known)
    r = billed([(1, ev("DeleteObject", status=204, **v))], known)
    assert not r.disk  # a delete marker


def test_known_objects_are_bounded() -> None:
    known = KnownObjects(max_entries=3)
    billed([(1, ev("PutObject", rx=1, obj=f"o{i}")) for i in range(10)], known)
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


def test_refused_requests_are_billed_to_nobody_and_counted_as_refused() -> None:
    """401/403 from anyone, and any 4xx of a request that is not the owner's (anonymous or another account's: a
    bucket that does not exist, say) are 'refused': no bytes, no request class, one refused count."""
    who = Attribution({"alice": 1, "bob": 2}, admin_keys=("rootkey",))
    anon = ev("GetObject", status=403, tx=300, accessKey="")
    other = ev("PutObject", status=403, rx=5000, tx=300, accessKey="bob")
    nobucket = ev("GetObject", bucket="alice--nosuch", status=404, tx=300, accessKey="")
    other_404 = ev("GetObject", status=404, tx=300, accessKey="bob")
    own_404 = ev("GetObject", status=404, tx=300, accessKey="alice")
    mine = ev("GetObject", tx=300, accessKey="alice")
    assert [who.billing(1, e) for e in (anon, other, nobucket, other_404)] == ["refused"] * 4
    assert who.billing(1, own_404) == who.billing(1, mine) == "billed"
    r = rollup([(1, e, who.billing(1, e)) for e in (anon, other, nobucket, other_404, mine)], KnownObjects())
    [t] = r.traffic.values()
    assert (t.refused, t.requests, t.bytes_out, t.bytes_in) == (4, 1, 300, 0)


def test_the_daemons_own_requests_are_not_billed_but_their_disk_effect_counts() -> None:
    """Requests signed with the server's admin key (listings, usage checks, panel files) bill nothing; what they
    store still moves the estimate (the bytes are the customer's)."""
    who = Attribution({"alice": 1}, admin_keys=("rootkey",))
    listing = ev("ListObjectsV2", tx=77_000, accessKey="rootkey")
    put = ev("PutObject", rx=4000, obj="p", accessKey="rootkey")
    assert who.billing(1, listing) == who.billing(1, put) == "own"
    r = rollup([(1, e, who.billing(1, e)) for e in (listing, put)], KnownObjects())
    [t] = r.traffic.values()
    assert (t.requests, t.bytes_out, t.bytes_in, t.refused) == (0, 0, 0, 0)
    assert sum(d.written for d in r.disk.values()) == 4000
    assert r.own == 2


def test_copies_count_the_sources_size_toward_the_estimate_not_traffic_in() -> None:
    """CopyObject stores the source's bytes (known when this meter saw it written); UploadPartCopy the range it
    names. No byte crossed the network: Traffic In stays 0. An unknown source asks for a measurement."""
    known = KnownObjects()
    billed([(1, ev("PutObject", rx=900_000, obj="src"))], known)
    # MinIO names the source in api.bucket/api.object (its last authorization check); the destination is the path
    copy = {"requestHeader": {"X-Amz-Copy-Source": "/alice--b1/src"}, "obj": "src"}
    r = billed([(1, ev("CopyObject", tx=234, requestPath=f"/alice--b1/c{i}", **copy)) for i in range(20)], known)
    assert {e.object for e in [ev("CopyObject", requestPath="/alice--b1/c%201", **copy)]} == {"c 1"}
    assert sum(d.written for d in r.disk.values()) == 20 * 900_000
    [t] = r.traffic.values()
    assert t.bytes_in == 0
    part = {"requestHeader": {"X-Amz-Copy-Source": "alice--b1/src", "X-Amz-Copy-Source-Range": "bytes=0-99999"},
            "requestQuery": {"uploadId": "U9"}, "requestPath": "/alice--b1/big"}  # fmt: skip
    r = billed([(1, ev("CopyObjectPart", obj="big", **part))], known)
    assert sum(d.written for d in r.disk.values()) == 100_000
    unknown = {"requestHeader": {"X-Amz-Copy-Source": "/alice--b1/never-seen%20before"}}
    r = billed([(1, ev("CopyObject", requestPath="/alice--b1/x", **unknown))], known)
    assert r.unsized == {1}
    assert not r.disk


def test_a_copy_without_a_readable_source_or_destination_is_dropped() -> None:
    to = "/alice--b1/dest"
    assert from_entry(entry("CopyObject", requestPath=to)) is None
    assert from_entry(entry("CopyObject", requestHeader={"X-Amz-Copy-Source": "nobucket"}, requestPath=to)) is None
    assert from_entry(entry("CopyObject", requestHeader={"X-Amz-Copy-Source": "alice--b1/s"})) is None
    assert from_entry(entry("CopyObject", status=403, requestPath=to)) is not None  # refused: nothing was copied
    vhost = ev("CopyObject", requestHeader={"X-Amz-Copy-Source": "b--x/s"}, requestPath="/k/2",
               requestHost="alice--b1.s3.example.com")  # fmt: skip
    assert (vhost.bucket, vhost.object) == ("alice--b1", "k/2")


# -- property tests over the decoder (Hypothesis): whatever a client puts in the fields it controls, and whatever
# the body holds, decoding never raises past AuditFormatError, never yields a value the database would refuse, and
# never lets one entry take its neighbours down.
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bridge.domain.audit_events import MAX_OBJECT_BYTES, MAX_PART_BYTES  # noqa: E402

BIGINT_UNSIGNED_MAX = 2**64 - 1
client_text = (
    st.text(max_size=40)
    | st.from_regex(r"[0-9]{0,30}", fullmatch=True)
    | st.sampled_from(["0", "99999999999999999999999", "1\u00b2", "\u0663", "-1", "1e3", " 12", "0x10", STREAMING])
)
json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)


@st.composite
def hostile_entries(draw: st.DrawFn) -> dict[str, Any]:
    name = draw(st.sampled_from(["PutObject", "PutObjectPart", "GetObject", "CopyObject", "CopyObjectPart",
                                 "DeleteMultipleObjects", "ListObjectsV2"]) | st.text(max_size=70))  # fmt: skip
    headers = draw(st.dictionaries(st.sampled_from(["X-Amz-Decoded-Content-Length", "X-Amz-Content-Sha256",
        "X-Amz-Copy-Source", "X-Amz-Copy-Source-Range", "Content-Length"]), client_text))  # fmt: skip
    e = entry(
        name,
        bucket=draw(st.sampled_from(["alice--b1", "", "Alice--B", "a" * 70]) | st.text(max_size=70)),
        obj=draw(st.text(max_size=30) | st.just("k" * 2000)),
        status=draw(st.sampled_from([200, 206, 403, 404, 500, 0, -1, 99, 600, 2**40])),
        rx=draw(st.integers(min_value=-(2**70), max_value=2**70)),
        tx=draw(st.integers(min_value=-(2**70), max_value=2**70)),
        rid=draw(st.from_regex(r"[0-9A-F]{16}", fullmatch=True) | st.text(max_size=80)),
        requestHeader=headers,
        requestQuery={"uploadId": draw(st.text(max_size=20))},
    )
    if draw(st.booleans()):
        e["api"]["objects"] = [{"objectName": draw(st.text(max_size=10))} for _ in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()):  # the wrong JSON type somewhere
        where = draw(st.sampled_from(["time", "requestID", "accessKey"]))
        e[where] = draw(json_scalar)
    return e


def _within_bounds(e: AuditEvent) -> None:
    assert 0 <= e.bytes_in <= MAX_OBJECT_BYTES
    assert 0 <= e.written <= e.bytes_in
    if e.api == "PutObjectPart":
        assert e.bytes_in <= MAX_PART_BYTES
    assert 0 <= e.bytes_out <= BIGINT_UNSIGNED_MAX
    assert e.status == 0 or 100 <= e.status <= 599
    assert len(e.bucket) <= 63
    assert e.day[:4].isdigit()
    if not e.ok:
        assert e.bytes_in == 0


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(hostile_entries(), min_size=1, max_size=6), st.integers(min_value=0, max_value=5))
def test_property_hostile_entries_are_dropped_alone_and_kept_ones_are_bounded(
    hostile: list[dict[str, Any]], at: int
) -> None:
    good = entry("GetObject", tx=1234, rid="18EB0000CAFE0001")
    lines = [json.dumps(e) for e in hostile]
    lines.insert(min(at, len(lines)), json.dumps(good))
    post = decode_post("\n".join(lines).encode())
    assert len(post.events) + len(post.dropped) + post.skipped == len(lines)
    assert any(e.key == dedupe_key("18EB0000CAFE0001", good["time"]) for e in post.events)  # the good one stands
    for e in post.events:
        _within_bounds(e)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=200).map(str.encode))
def test_property_any_body_decodes_or_is_refused_whole_never_anything_else(body: bytes) -> None:
    try:
        post = decode_post(body)
    except AuditFormatError:
        return
    for e in post.events:
        _within_bounds(e)


@settings(max_examples=300, deadline=None)
@given(declared=client_text, rx=st.integers(min_value=-1, max_value=2**40), streaming=st.booleans())
def test_property_bytes_in_never_exceed_what_the_request_carried(declared: str, rx: int, streaming: bool) -> None:
    """Whatever the declared length says, a successful upload counts at most its Content-Length (known) and, for a
    non-streaming upload, exactly it."""
    h = {"X-Amz-Decoded-Content-Length": declared}
    if streaming:
        h["X-Amz-Content-Sha256"] = STREAMING
    e = from_entry(entry("PutObject", rx=rx, requestHeader=h))
    if e is None:
        assert streaming or rx > MAX_OBJECT_BYTES
        return
    if rx >= 0:
        assert e.bytes_in <= rx
    if not streaming:
        assert e.bytes_in == max(rx, 0)
