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
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

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


def _int(v: Any) -> int:
    return v if isinstance(v, int) and v > 0 else 0


def from_entry(e: dict[str, Any]) -> AuditEvent | None:
    """One decoded entry -> an event, or None for entries that are not a client's S3 request."""
    if e.get("trigger", "incoming") != "incoming":
        return None
    api = e.get("api")
    if not isinstance(api, dict):
        return None
    name = api.get("name") or ""
    request_id = e.get("requestID") or ""
    time = e.get("time") or ""
    if not name or not request_id or not isinstance(time, str):
        return None
    status = api.get("statusCode") or 0
    ok = 200 <= status < 300
    req_headers = e.get("requestHeader") or {}
    decoded = req_headers.get("X-Amz-Decoded-Content-Length")
    rx = int(decoded) if decoded and str(decoded).isdigit() else _int(api.get("rx"))
    bytes_in = rx if ok else 0
    query = e.get("requestQuery") or {}
    resp_headers = e.get("responseHeader") or {}
    version = resp_headers.get("X-Amz-Version-Id", "")
    objects = api.get("objects") or ()
    return AuditEvent(
        key=dedupe_key(request_id, time),
        time=time,
        api=name,
        rclass=classify(name),
        bucket=api.get("bucket") or "",
        object=api.get("object") or "",
        status=status,
        bytes_in=bytes_in,
        bytes_out=_int(api.get("tx")),
        user=e.get("parentUser") or e.get("accessKey") or "",
        upload_id=query.get("uploadId", "") if isinstance(query, dict) else "",
        objects=tuple(o.get("objectName", "") for o in objects if isinstance(o, dict)),
        versioned=bool(version) and version != "null",
        written=bytes_in if ok and name in _WRITES_DATA else 0,
    )


def parse_body(body: bytes) -> Iterator[AuditEvent]:
    """Every client-request event of one POST (one entry, or one entry per line)."""
    for n, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise AuditFormatError(f"line {n} of the audit body is not JSON: {exc}") from None
        if not isinstance(entry, dict):
            raise AuditFormatError(f"line {n} of the audit body is not a JSON object")
        event = from_entry(entry)
        if event is not None:
            yield event
