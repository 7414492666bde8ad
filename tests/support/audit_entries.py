"""MinIO audit log entries (the webhook's JSON lines) as the tests write them: the shape of the real server's
(rig.paths.MINIO_AUDIT_SAMPLE holds captured ones), with the fields a test sets."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


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
    """One entry for API call `name` by access key "alice" (or `accessKey=` in `extra`); `extra` adds or replaces
    top-level fields (requestHeader, accessKey...)."""
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


def streaming_put(username: str, declared: str, *, rid: str, time: str) -> dict[str, Any]:
    """A successful streaming PutObject of 2,000 bytes into `<username>--data` declaring `declared` as its decoded
    length (X-Amz-Decoded-Content-Length, as sent by the client: hostile)."""
    return entry(
        "PutObject",
        bucket=f"{username}--data",
        obj="s",
        rx=2000,
        rid=rid,
        time=time,
        accessKey=username,
        requestHeader={
            "X-Amz-Decoded-Content-Length": declared,
            "X-Amz-Content-Sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        },
    )


def audit_body(entries: Iterable[dict[str, Any]]) -> bytes:
    """A webhook post: one JSON entry a line."""
    return "".join(json.dumps(e) + "\n" for e in entries).encode()
