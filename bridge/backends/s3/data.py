"""Plain S3 data-plane work both drivers do the same way with minio-py (blocking: run in a worker thread)."""

from __future__ import annotations

import time

from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

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


def empty_bucket(s3: Minio, bucket: str, where: str) -> int:
    """Delete every object version and delete marker; returns how many went. Streams the listing in batches and
    lists again until nothing is left, so a bucket of any size is emptied in bounded memory."""

    def delete(chunk: list[DeleteObject]) -> None:
        errors = list(s3.remove_objects(bucket, chunk))
        if errors:
            first = errors[0]
            raise BackendError(
                f"{where} refused to delete '{first.name}' in bucket '{bucket}': {first.code} {first.message}",
                code="delete_refused",
            )

    deleted = 0
    while True:
        found = 0
        chunk: list[DeleteObject] = []
        for o in s3.list_objects(bucket, recursive=True, include_version=True):
            if o.object_name is None:
                continue
            chunk.append(DeleteObject(o.object_name, o.version_id))
            if len(chunk) == BATCH:
                delete(chunk)
                found, chunk = found + len(chunk), []
        if chunk:
            delete(chunk)
            found += len(chunk)
        deleted += found
        if not found:
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
