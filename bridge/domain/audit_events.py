"""MinIO audit log entries, as its `audit_webhook` target sends them (pure: no I/O).

Field names checked on the real server (community build 2026-02-12, madmin-go v3.0.109 `logger/audit.Entry`):
one JSON object per request, `{"version": "1", "deploymentid", "time": RFC 3339 with ns, "trigger": "incoming",
"api": {"name", "bucket", "object", "objects": [{"objectName", "versionId"}], "statusCode", "rx", "tx",
"txHeaders", ...}, "requestID", "requestQuery", "requestHeader", "responseHeader", "accessKey", "parentUser"}`.

- `api.rx` is the request's Content-Length (`-1` when the client sent none) and `api.tx` the response body bytes
  (headers are `txHeaders`, not counted). For aws-chunked uploads (SigV4 streaming) Content-Length includes the chunk
  signatures: the payload is `X-Amz-Decoded-Content-Length` in `requestHeader`, which is what we count as bytes in.
- A POST carries one entry (`batch_size=1`, `Content-Type: application/json`) or several, one JSON object per line
  (`batch_size>1`, no content type); `X-Minio-Webhook-Payload-Count` says how many.
- `requestID` is the hex of the request's start time in nanoseconds on the node that served it: unique enough on one
  node, not across a cluster. The dedupe key is the request id together with the entry's own `time` (ns), which a
  resend repeats byte for byte and two different requests never share.
- Entries with another `trigger` (`ILMExpiry`, decommissioning, ...) are the server's own work, not a client's
  traffic: they are skipped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import msgspec

RequestClass = Literal["read", "write", "list", "delete", "other"]
REQUEST_CLASSES: tuple[RequestClass, ...] = ("read", "write", "list", "delete", "other")

# API names (MinIO's handler names, `api.name`) that add stored bytes when they succeed, with a known size.
_WRITES_DATA = frozenset({"PutObject", "PutObjectPart", "PostPolicyBucket", "PutObjectExtract"})
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

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def day(self) -> str:
        return self.time[:10]

    @property
    def minute(self) -> str:
        return self.time[:16]


class AuditFormatError(ValueError):
    """A body that is not MinIO audit JSON; the message names the line."""


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


_BODY = msgspec.json.Decoder(list[_Entry])
_LINE = msgspec.json.Decoder(_Entry)


_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d")


def _valid_time(text: str) -> bool:
    """MinIO's RFC 3339 time, checked so that one odd entry can never fail (and so block) a whole batch."""
    if not _TIME.match(text):
        return False
    try:
        date.fromisoformat(text[:10])
    except ValueError:
        return False
    return True


def _event(e: _Entry) -> AuditEvent | None:
    api = e.api
    if e.trigger != "incoming" or api is None or not api.name or not e.requestID or not _valid_time(e.time):
        return None
    status = api.statusCode
    ok = 200 <= status < 300
    decoded = e.requestHeader.decoded_length if e.requestHeader is not None else ""
    bytes_in = (int(decoded) if decoded.isdigit() else max(api.rx, 0)) if ok else 0
    version = e.responseHeader.version_id if e.responseHeader is not None else ""
    name = api.name
    rclass = _CLASSES.get(name)
    if rclass is None:
        rclass = _CLASSES[name] = classify(name)
    return AuditEvent(
        dedupe_key(e.requestID, e.time),
        e.time,
        name,
        rclass,
        api.bucket,
        api.object,
        status,
        bytes_in,
        max(api.tx, 0),
        e.parentUser or e.accessKey,
        e.requestQuery.uploadId if e.requestQuery is not None else "",
        tuple(o.objectName for o in api.objects) if api.objects else (),
        bool(version) and version != "null",
        bytes_in if name in _WRITES_DATA else 0,
    )


_CLASSES: dict[str, RequestClass] = {}  # API name -> class, filled as names are seen (a few dozen)


def from_entry(entry: dict[str, Any]) -> AuditEvent | None:
    """One decoded entry -> an event, or None for entries that are not a client's S3 request."""
    try:
        return _event(msgspec.convert(entry, _Entry))
    except msgspec.ValidationError as exc:
        raise AuditFormatError(f"audit entry has an unexpected shape: {exc}") from None


def parse_body(body: bytes) -> Iterator[AuditEvent]:
    """Every client-request event of one POST (one entry, or one entry per line)."""
    lines = [line for line in body.splitlines() if line.strip()]
    try:
        entries = _BODY.decode(b"[" + b",".join(lines) + b"]")
    except msgspec.DecodeError:
        entries = []
        for n, line in enumerate(lines, 1):  # find the line to name
            try:
                entries.append(_LINE.decode(line))
            except msgspec.DecodeError as exc:
                raise AuditFormatError(f"line {n} of the audit body is not an audit entry: {exc}") from None
    for e in entries:
        event = _event(e)
        if event is not None:
            yield event
