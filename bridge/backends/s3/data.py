"""Plain S3 data-plane work both drivers do the same way with minio-py (blocking: run in a worker thread)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.deleteobjects import DeleteError, DeleteObject
from minio.error import S3Error

from bridge.domain.object_lock import RetainedVersion
from bridge.errors import BackendError

BATCH = 1000  # the S3 multi-delete limit
_BAD_KEY_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "XMinioInvalidAccessKey"}


def ensure_bucket(s3: Minio, bucket: str) -> None:
    """Create the bucket unless this client already owns it (a retried create). A bucket someone else owns fails."""
    try:
        s3.make_bucket(bucket)
    except S3Error as e:
        if e.code != "BucketAlreadyOwnedByYou":
            raise


def measure(s3: Minio, bucket: str, deadline: float) -> tuple[int, int, bool]:
    """Bytes of every stored version and the count of current objects; False when the deadline cut it short."""
    size = count = 0
    for obj in s3.list_objects(bucket, recursive=True, include_version=True):
        if time.monotonic() > deadline:
            return size, count, False
        if not obj.is_delete_marker:
            size += obj.size or 0
            count += 1 if obj.is_latest or obj.version_id in (None, "null") else 0
    return size, count, True


class ObjectsRetained(BackendError):
    """Versions under COMPLIANCE retention stayed; everything else deletable was deleted."""

    status = 409
    code = "objects_retained"

    def __init__(self, message: str, versions: tuple[RetainedVersion, ...]) -> None:
        super().__init__(message)
        self.versions = versions


def _retained(s3: Minio, bucket: str, error: DeleteError) -> RetainedVersion | None:
    """Lift a legal hold on a version the storage refused to delete; the version itself when COMPLIANCE retention
    keeps it (None: it may be deleted now). The caller deletes with governance bypass, as an administrator may."""
    name, version = error.name or "", error.version_id
    try:
        if s3.is_object_legal_hold_enabled(bucket, name, version):
            s3.disable_object_legal_hold(bucket, name, version)
        retention = s3.get_object_retention(bucket, name, version)
    except S3Error:
        return None  # no Object Lock here: refused for another reason (said when deleting again fails)
    until = retention.retain_until_date if retention is not None else None
    if retention is not None and retention.mode == COMPLIANCE and until is not None and until > datetime.now(UTC):
        return RetainedVersion(bucket, name, version or "null", until)
    return None


def empty_bucket(s3: Minio, bucket: str, where: str) -> int:
    """Delete every object version and delete marker; returns how many went. Streams the listing in batches and
    lists again until nothing is left, so a bucket of any size is emptied in bounded memory. Object Lock: legal
    holds are lifted and GOVERNANCE retention bypassed (the caller is the server's administrator); versions under
    COMPLIANCE retention stay, and ObjectsRetained names them once everything else is gone."""
    retained: dict[tuple[str, str], RetainedVersion] = {}

    def delete(chunk: list[DeleteObject]) -> int:
        """Delete a batch; returns how many versions went."""
        kept_here = 0
        for error in list(s3.remove_objects(bucket, chunk, bypass_governance_mode=True)):
            kept = _retained(s3, bucket, error)
            if kept is not None:
                retained[(kept.key, kept.version_id)] = kept
                kept_here += 1
                continue
            one = [DeleteObject(error.name or "", error.version_id)]
            again = list(s3.remove_objects(bucket, one, bypass_governance_mode=True))
            if again:
                raise BackendError(
                    f"{where} refused to delete '{error.name}' in bucket '{bucket}':"
                    f" {again[0].code} {again[0].message}",
                    code="delete_refused",
                )
        return len(chunk) - kept_here

    deleted = 0
    while True:
        found = 0
        chunk: list[DeleteObject] = []
        for o in s3.list_objects(bucket, recursive=True, include_version=True):
            if o.object_name is None or (o.object_name, o.version_id or "null") in retained:
                continue
            chunk.append(DeleteObject(o.object_name, o.version_id))
            if len(chunk) == BATCH:
                deleted += delete(chunk)
                found, chunk = found + len(chunk), []
        if chunk:
            deleted += delete(chunk)
            found += len(chunk)
        if not found:
            break
    if retained:
        kept = tuple(retained.values())
        raise ObjectsRetained(f"bucket '{bucket}' keeps {len(kept)} version(s) under COMPLIANCE retention", kept)
    return deleted


def empty_and_remove(s3: Minio, bucket: str, where: str) -> int:
    """Empty the bucket (see `empty_bucket`), then delete it; returns how many versions went. A bucket already gone
    is success (a retried terminate)."""
    try:
        deleted = empty_bucket(s3, bucket, where)
        s3.remove_bucket(bucket)
    except S3Error as e:
        if e.code != "NoSuchBucket":
            raise
        return 0
    return deleted


def credentials_work(s3: Minio) -> bool:
    """Do the client's keys authenticate? AccessDenied comes after authentication (a user who may see no bucket
    yet, or a disabled one on some servers): the pair itself is valid."""
    try:
        s3.list_buckets()
    except S3Error as e:
        if e.code in _BAD_KEY_CODES:
            return False
        if e.code == "AccessDenied":
            return True
        raise
    return True
