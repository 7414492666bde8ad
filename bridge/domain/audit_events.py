"""MinIO audit log entries, as its `audit_webhook` target sends them (pure: no I/O).

Field names checked on the real server (community build 2026-02-12, madmin-go v3.0.109 `logger/audit.Entry`):
one JSON object per request, `{"version": "1", "deploymentid", "time": RFC 3339 with ns, "trigger": "incoming",
"api": {"name", "bucket", "object", "objects": [{"objectName", "versionId"}], "statusCode", "rx", "tx",
"txHeaders", ...}, "requestID", "requestQuery", "requestHeader", "responseHeader", "accessKey", "parentUser"}`.

- `api.rx` is the request's Content-Length (`-1` when the client sent none) and `api.tx` the response body bytes
  (headers are `txHeaders`, not counted).
- Everything in `requestHeader` is the client's to choose. `X-Amz-Decoded-Content-Length` is the payload of a
  streaming-signed (aws-chunked) upload, whose Content-Length also holds the chunk signatures; MinIO checks the
  payload against it only when `X-Amz-Content-Sha256` names a `STREAMING-` scheme. Anywhere else it is ignored by
  MinIO, and so here: the decoded length counts only for streaming uploads, and only as ASCII digits no larger than
  the request's own Content-Length.
- A POST carries one entry (`batch_size=1`, `Content-Type: application/json`) or several, one JSON object per line
  (`batch_size>1`, no content type); `X-Minio-Webhook-Payload-Count` says how many.
- `requestID` is the hex of the request's start time in nanoseconds on the node that served it: unique enough on one
  node, not across a cluster. The dedupe key is the request id together with the entry's own `time` (ns), which a
  resend repeats byte for byte and two different requests never share.
- Entries with another `trigger` (`ILMExpiry`, decommissioning, ...) are the server's own work, not a client's
  traffic: they are skipped.

Hostile input: every field is bounded and checked (`decode_post`). An entry that fails a check is dropped with its
reason and never fails the other entries of its POST; only a body with no audit entry at all is refused whole.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import msgspec

RequestClass = Literal["read", "write", "list", "delete", "other"]
REQUEST_CLASSES: tuple[RequestClass, ...] = ("read", "write", "list", "delete", "other")

# S3's maxima (MinIO enforces the same): no request stores or sends more than these.
MAX_OBJECT_BYTES = 5 * 1024**4  # 5 TiB: the largest object, so the most one upload stores or one GET sends
MAX_PART_BYTES = 5 * 1024**3  # 5 GiB: the largest part of a multipart upload
MAX_KEY_BYTES = 1024  # an object key, UTF-8
MAX_DELETE_KEYS = 1000  # DeleteObjects names at most this many keys
MAX_INT64 = 2**63 - 1  # rx / tx are Go int64s

# API names (MinIO's handler names, `api.name`) that add stored bytes when they succeed, with a known size.
_WRITES_DATA = frozenset({"PutObject", "PutObjectPart", "PostPolicyBucket", "PutObjectExtract"})
# Server-side copies: they store the source's bytes (or the copied range) without any crossing the network.
COPIES = frozenset({"CopyObject", "CopyObjectPart"})
_OTHER = frozenset({"ListenNotification", "PostRestoreObject"})


def classify(api_name: str) -> RequestClass:
    """Request class of an S3 API name: list* -> list; Delete*/Abort* -> delete; Get*/Head*/Select* -> read;
    Put*/Post*/Copy*/NewMultipart*/Complete* -> write; anything else -> other."""
    if api_name in _OTHER:
        return "other"
    if api_name.startswith("List"):
        return "list"
    if api_name.startswith(("Delete", "Abort")):
        return "delete"
    if api_name.startswith(("Get", "Head", "Select")):
        return "read"
    if api_name.startswith(("Put", "Post", "Copy", "NewMultipart", "Complete")):
        return "write"
    return "other"


@dataclass(frozen=True, slots=True)
class AuditEvent:
    key: bytes  # 16-byte dedupe key
    time: str  # RFC 3339 UTC, as MinIO wrote it
    api: str
    rclass: RequestClass
    bucket: str
    object: str
    status: int
    bytes_in: int  # request payload bytes actually stored or sent (0 for refused requests)
    bytes_out: int  # response body bytes
    user: str  # the parent user of a service account, else the access key
    upload_id: str = ""
    objects: tuple[str, ...] = ()  # DeleteMultipleObjects: every key named
    versioned: bool = False  # the response carried a version id other than "null"
    written: int = 0  # bytes added to storage by this request, when known (successful uploads)
    access_key: str = ""  # the key that signed the request ("" when anonymous)
    copy_source: tuple[str, str] | None = None  # (bucket, key) of a server-side copy
    copy_range: int | None = None  # bytes of the source's range an UploadPartCopy names (None: the whole source)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def day(self) -> str:
        return self.time[:10]

    @property
    def minute(self) -> str:
        return self.time[:16]

    @property
    def second(self) -> str:
        """MinIO stamps an entry when the request ends: `YYYY-MM-DDTHH:MM:SS`."""
        return self.time[:19]


class AuditFormatError(ValueError):
    """A body that is not MinIO audit JSON at all; the message names the problem."""


@dataclass(frozen=True, slots=True)
class Dropped:
    line: int  # 1-based line of the POST
    reason: str  # names the field, never echoes its (client-chosen) value


@dataclass
class AuditPost:
    """One POST, decoded: the client-request events, and the entries dropped as impossible or malformed."""

    events: list[AuditEvent] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    skipped: int = 0  # entries that are not a client's request (server-internal triggers)


def dedupe_key(request_id: str, time: str) -> bytes:
    return hashlib.blake2b(f"{request_id}|{time}".encode(), digest_size=16).digest()


# The fields we read, decoded by msgspec straight from the JSON; every other field is skipped unparsed. Entries are
# ~1.5 KB, mostly request and response headers: a typed decoder is several times faster than json.loads here.
class _Object(msgspec.Struct):
    objectName: str = ""  # MinIO's field names, as it sends them


class _Api(msgspec.Struct):
    name: str = ""
    bucket: str = ""
    object: str = ""
    objects: list[_Object] = []
    statusCode: int = 0
    rx: int = 0
    tx: int = 0


# Only the header and query fields we read (Go canonicalizes header names): decoding whole maps cost more than
# everything else in an entry.
class _Query(msgspec.Struct):
    uploadId: str = ""


class _RequestHeader(msgspec.Struct):
    decoded_length: str = msgspec.field(default="", name="X-Amz-Decoded-Content-Length")
    content_sha256: str = msgspec.field(default="", name="X-Amz-Content-Sha256")
    copy_source: str = msgspec.field(default="", name="X-Amz-Copy-Source")
    copy_range: str = msgspec.field(default="", name="X-Amz-Copy-Source-Range")


class _ResponseHeader(msgspec.Struct):
    version_id: str = msgspec.field(default="", name="X-Amz-Version-Id")


class _Entry(msgspec.Struct):
    time: str = ""
    trigger: str = "incoming"
    api: _Api | None = None
    requestID: str = ""
    requestQuery: _Query | None = None
    requestHeader: _RequestHeader | None = None
    responseHeader: _ResponseHeader | None = None
    accessKey: str = ""
    parentUser: str = ""
    requestPath: str = ""
    requestHost: str = ""


_BODY = msgspec.json.Decoder(list[_Entry])
_LINE = msgspec.json.Decoder(_Entry)

_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\d", re.ASCII)
_DIGITS = re.compile(r"[0-9]{1,13}", re.ASCII)  # 13 digits hold 5 TiB; more is never a real length
_API_NAME = re.compile(r"[A-Za-z0-9]{1,64}", re.ASCII)
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,62}", re.ASCII)
_REQUEST_ID = re.compile(r"[0-9A-Za-z-]{1,64}", re.ASCII)
_USER = re.compile(r"[^\x00-\x1f\x7f]{0,256}")
_RANGE = re.compile(r"bytes=([0-9]{1,13})-([0-9]{1,13})", re.ASCII)
_UPLOAD_ID = re.compile(r"[^\x00-\x1f\x7f]{0,1024}")


def _valid_time(text: str) -> bool:
    """MinIO's RFC 3339 time, checked so that one odd entry can never fail (and so block) a whole batch."""
    if len(text) > 40 or not _TIME.match(text):
        return False
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _key_ok(text: str) -> bool:
    return len(text) <= MAX_KEY_BYTES and len(text.encode("utf-8", "surrogatepass")) <= MAX_KEY_BYTES


class _Bad(Exception):
    """An entry that fails a check; the message names the field."""


_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


def _unquote(text: str) -> str:
    """Percent-decoding (as URLs carry it), UTF-8; an invalid sequence decodes to U+FFFD."""
    raw = _PERCENT.sub(lambda m: bytes.fromhex(m[1].decode()), text.encode("utf-8", "surrogatepass"))
    return raw.decode("utf-8", "replace")


def _copy_source(text: str) -> tuple[str, str]:
    """`X-Amz-Copy-Source`: `[/]bucket/key[?versionId=...]`, URL-encoded."""
    path = _unquote(text.partition("?")[0]).lstrip("/")
    bucket, sep, key = path.partition("/")
    if not sep or not key or not _BUCKET.fullmatch(bucket) or not _key_ok(key):
        raise _Bad("X-Amz-Copy-Source")
    return bucket, key


def _copy_destination(e: _Entry) -> tuple[str, str] | None:
    """Where a copy wrote. MinIO's `api.bucket`/`api.object` of a copy name the source (its last authorization check
    was the source's read), so the destination comes from the request's path (path-style `/bucket/key`) or, with
    virtual-host addressing, its host (`bucket.domain`, path `/key`); account buckets always hold `--`."""
    path = _unquote(e.requestPath).lstrip("/")
    bucket, sep, key = path.partition("/")
    if sep and key and _BUCKET.fullmatch(bucket) and "--" in bucket:
        return bucket, key
    host_bucket = e.requestHost.partition(".")[0]
    if "." in e.requestHost and _BUCKET.fullmatch(host_bucket) and "--" in host_bucket and path:
        return host_bucket, path
    if sep and key and _BUCKET.fullmatch(bucket):
        return bucket, key
    return None


def _bytes_in(api: _Api, h: _RequestHeader | None) -> int:
    """What a successful request's payload brought in: Content-Length, or for a streaming-signed upload the decoded
    payload (never more than the Content-Length it came in)."""
    rx = api.rx
    if h is not None and h.content_sha256.startswith("STREAMING-"):
        if not _DIGITS.fullmatch(h.decoded_length):
            raise _Bad("X-Amz-Decoded-Content-Length")
        decoded = int(h.decoded_length)
        if rx >= 0 and decoded > rx:
            raise _Bad("X-Amz-Decoded-Content-Length larger than the request")
        return decoded
    return max(rx, 0)


def _event(e: _Entry) -> AuditEvent | None:
    """One entry -> an event; None for the server's own work; _Bad for an entry that cannot be a real request."""
    api = e.api
    if e.trigger != "incoming":
        return None
    if api is None or not _API_NAME.fullmatch(api.name):
        raise _Bad("api.name")
    if not _REQUEST_ID.fullmatch(e.requestID):
        raise _Bad("requestID")
    if not _valid_time(e.time):
        raise _Bad("time")
    status = api.statusCode
    if not (status == 0 or 100 <= status <= 599):
        raise _Bad("api.statusCode")
    if not (-1 <= api.rx <= MAX_INT64):
        raise _Bad("api.rx")
    if not (-1 <= api.tx <= MAX_OBJECT_BYTES + 1024 * 1024):
        raise _Bad("api.tx")
    if api.bucket and not _BUCKET.fullmatch(api.bucket):
        raise _Bad("api.bucket")
    if not _key_ok(api.object):
        raise _Bad("api.object")
    if len(api.objects) > MAX_DELETE_KEYS or not all(_key_ok(o.objectName) for o in api.objects):
        raise _Bad("api.objects")
    if not _USER.fullmatch(e.accessKey) or not _USER.fullmatch(e.parentUser):
        raise _Bad("accessKey")
    upload_id = e.requestQuery.uploadId if e.requestQuery is not None else ""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise _Bad("uploadId")
    ok = 200 <= status < 300
    name = api.name
    h = e.requestHeader
    bytes_in = _bytes_in(api, h) if ok else 0
    if bytes_in > (MAX_PART_BYTES if name == "PutObjectPart" else MAX_OBJECT_BYTES):
        raise _Bad("request size beyond S3's maximum")
    copy_source: tuple[str, str] | None = None
    copy_range: int | None = None
    bucket, obj = api.bucket, api.object
    if name in COPIES:
        dest = _copy_destination(e)
        if dest is None:
            raise _Bad("requestPath of a copy")
        bucket, obj = dest
        if not _key_ok(obj):
            raise _Bad("requestPath of a copy")
    if name in COPIES and ok:
        copy_source = _copy_source(h.copy_source if h is not None else "")
        if h is not None and h.copy_range:
            m = _RANGE.fullmatch(h.copy_range)
            if m is None or int(m[2]) < int(m[1]) or int(m[2]) - int(m[1]) >= MAX_PART_BYTES:
                raise _Bad("X-Amz-Copy-Source-Range")
            copy_range = int(m[2]) - int(m[1]) + 1
    version = e.responseHeader.version_id if e.responseHeader is not None else ""
    rclass = _CLASSES.get(name)
    if rclass is None:
        rclass = classify(name)
        if len(_CLASSES) < 1024:  # MinIO has a few dozen names; a flood of odd ones must not grow this
            _CLASSES[name] = rclass
    return AuditEvent(
        dedupe_key(e.requestID, e.time),
        e.time,
        name,
        rclass,
        bucket,
        obj,
        status,
        bytes_in,
        max(api.tx, 0),
        e.parentUser or e.accessKey,
        upload_id,
        tuple(o.objectName for o in api.objects) if api.objects else (),
        bool(version) and version != "null",
        bytes_in if name in _WRITES_DATA else 0,
        e.accessKey,
        copy_source,
        copy_range,
    )


_CLASSES: dict[str, RequestClass] = {}  # API name -> class, filled as names are seen (a few dozen)


def from_entry(entry: dict[str, Any]) -> AuditEvent | None:
    """One decoded entry -> an event, or None for entries that are not a client's S3 request or fail a check."""
    try:
        return _event(msgspec.convert(entry, _Entry))
    except (msgspec.ValidationError, _Bad):
        return None


def decode_post(body: bytes) -> AuditPost:
    """Every client-request event of one POST (one entry, or one entry per line). An entry that is not valid JSON,
    has the wrong shape or fails a check is dropped with its reason; the others stand. AuditFormatError only when
    no line of the body is an audit entry."""
    lines = [line for line in body.splitlines() if line.strip()]
    out = AuditPost()
    entries: list[tuple[int, _Entry]]
    try:
        entries = list(enumerate(_BODY.decode(b"[" + b",".join(lines) + b"]"), 1))
    except (msgspec.DecodeError, msgspec.ValidationError):
        entries = []
        for n, line in enumerate(lines, 1):  # find the lines to drop
            try:
                entries.append((n, _LINE.decode(line)))
            except msgspec.ValidationError as exc:
                out.dropped.append(Dropped(n, f"shape: {_field_of(exc)}"))
            except msgspec.DecodeError:
                out.dropped.append(Dropped(n, "not JSON"))
        if not entries:
            raise AuditFormatError(
                f"none of the {len(lines)} line(s) of the audit body is an audit entry"
                f" (line 1: {out.dropped[0].reason if out.dropped else 'empty'})"
            ) from None
    for n, e in entries:
        try:
            event = _event(e)
        except _Bad as bad:
            out.dropped.append(Dropped(n, str(bad)))
            continue
        if event is None:
            out.skipped += 1
        else:
            out.events.append(event)
    return out


def _field_of(exc: msgspec.ValidationError) -> str:
    """msgspec names the path (`at `$.api.rx``); the message's value part is dropped (client-chosen text)."""
    text = str(exc)
    at = text.rfind("`$")
    return text[at:].strip("`") if at >= 0 else "unexpected type"
