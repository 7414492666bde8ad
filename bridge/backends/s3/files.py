"""The panel's file browser on any S3 endpoint, through botocore (blocking: run in a worker thread).

One page is one ListObjectsV2 call (delimiter '/', so folders come back as common prefixes), a prefix search is the
same call with the search appended to the folder (S3 does the work), and a substring search walks the folder in
pages of 1,000 until it has a page of matches or its time budget is spent, and says which. Uploads go from the
browser straight to the endpoint with a presigned POST whose policy pins the bucket, the folder and a size range.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import boto3
from botocore.client import BaseClient
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from bridge.domain.panel.storage import ObjectEntry, ObjectPage

DELIMITER = "/"
SCAN_PAGE = 1000


@dataclass(frozen=True)
class DataCredentials:
    """Who the file browser acts as on the endpoint (MinIO: the server's admin; ostor: the account's own pair)."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    signature: str = "s3v4"


def make_client(creds: DataCredentials, *, connect_timeout: float, read_timeout: float, ca_file: str | None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=creds.endpoint_url,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        region_name=creds.region,
        verify=ca_file if ca_file else True,
        config=BotoConfig(
            signature_version=creds.signature,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 2, "mode": "standard"},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_pool_connections=16,
        ),
    )


def _entry(obj: dict[str, Any]) -> ObjectEntry:
    modified = obj.get("LastModified")
    return ObjectEntry(
        key=str(obj["Key"]),
        size=int(obj.get("Size") or 0),
        modified=modified.isoformat() if modified is not None else "",
        etag=str(obj.get("ETag") or "").strip('"'),
    )


class S3Files:
    def __init__(self, client: BaseClient) -> None:
        self.c: Any = client

    def page(self, bucket: str, prefix: str, position: str, max_keys: int) -> ObjectPage:
        """Folders first, then objects, of one ListObjectsV2 page; `position` is S3's continuation token."""
        args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "Delimiter": DELIMITER, "MaxKeys": max_keys}
        if position:
            args["ContinuationToken"] = position
        r = self.c.list_objects_v2(**args)
        folders = [ObjectEntry(key=str(p["Prefix"]), folder=True) for p in r.get("CommonPrefixes") or ()]
        objects = [_entry(o) for o in r.get("Contents") or () if o["Key"] != prefix]
        nxt = str(r.get("NextContinuationToken") or "") if r.get("IsTruncated") else ""
        return ObjectPage(tuple(folders + objects), nxt)

    def search_contains(
        self, bucket: str, prefix: str, term: str, position: str, max_keys: int, budget_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> ObjectPage:  # fmt: skip
        """Objects under `prefix` (all depths) whose name after the prefix contains `term`, case-insensitively.

        Stops at `max_keys` matches (position = the last key looked at) or when the budget is spent (complete =
        False, position = where to go on)."""
        needle = term.casefold()
        deadline = clock() + budget_s
        found: list[ObjectEntry] = []
        scanned = 0
        after = position
        while True:
            args: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix, "MaxKeys": SCAN_PAGE}
            if after:
                args["StartAfter"] = after
            r = self.c.list_objects_v2(**args)
            contents = r.get("Contents") or ()
            for o in contents:
                scanned += 1
                after = str(o["Key"])
                if needle in after[len(prefix) :].casefold():
                    found.append(_entry(o))
                    if len(found) == max_keys:
                        return ObjectPage(tuple(found), after, True, scanned)
            if not r.get("IsTruncated") or not contents:
                return ObjectPage(tuple(found), "", True, scanned)
            if clock() > deadline:
                return ObjectPage(tuple(found), after, False, scanned)

    def delete(self, bucket: str, keys: tuple[str, ...]) -> tuple[list[str], list[dict[str, str]]]:
        """Delete up to 1,000 objects in one request; (deleted, [{key, error}])."""
        r = self.c.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": False})
        deleted = [str(d["Key"]) for d in r.get("Deleted") or ()]
        errors = [
            {"key": str(e.get("Key")), "error": str(e.get("Message") or e.get("Code"))} for e in r.get("Errors") or ()
        ]
        return deleted, errors

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.c.head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def presign_get(self, bucket: str, key: str, expires_s: int) -> str:
        filename = key.rsplit("/", 1)[-1].replace('"', "")
        disposition = "attachment; filename*=UTF-8''" + _rfc5987(filename)
        url: str = self.c.generate_presigned_url(
            "get_object",
            Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": disposition},
            ExpiresIn=expires_s,
        )
        return url

    def presign_post(
        self, bucket: str, prefix: str, expires_s: int, max_bytes: int, redirect: str = ""
    ) -> dict[str, Any]:
        """Forms for `<prefix>${filename}` in `bucket`, each policy pinning the bucket, the folder, the size range and
        what the endpoint does afterwards, exactly: `fields` sends the browser to `redirect` (when given; else answers
        201), `script_fields` answers 201 (a page's script shows progress, then reloads). Neither lets a client
        choose where the endpoint redirects."""

        def form(after: dict[str, str]) -> dict[str, Any]:
            signed: dict[str, Any] = self.c.generate_presigned_post(
                Bucket=bucket,
                Key=prefix + "${filename}",
                Fields=dict(after),
                Conditions=[["starts-with", "$key", prefix], ["content-length-range", 0, max_bytes], after],
                ExpiresIn=expires_s,
            )
            return signed

        scripted = form({"success_action_status": "201"})
        plain = form({"success_action_redirect": redirect}) if redirect else scripted
        return {"url": plain["url"], "fields": plain["fields"], "script_fields": scripted["fields"]}

    def create_bucket(self, bucket: str) -> None:
        self.c.create_bucket(Bucket=bucket)

    def delete_bucket(self, bucket: str) -> None:
        self.c.delete_bucket(Bucket=bucket)


def _rfc5987(text: str) -> str:
    return quote(text, safe="")
