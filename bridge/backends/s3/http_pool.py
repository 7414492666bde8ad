"""The urllib3 pool every driver's S3 and admin clients share (minio-py speaks urllib3)."""

from __future__ import annotations

import certifi
import urllib3

from bridge.config import BackendSettings


def pool_manager(settings: BackendSettings) -> urllib3.PoolManager:
    return urllib3.PoolManager(
        num_pools=64,
        maxsize=settings.max_concurrency,
        timeout=urllib3.Timeout(connect=settings.connect_timeout, read=settings.read_timeout),
        # One retry on a dropped idle connection; the use cases own real retries (they are idempotent).
        retries=urllib3.Retry(total=1, connect=0, read=0, status=0, backoff_factor=0.1),
        cert_reqs="CERT_REQUIRED",
        ca_certs=settings.ca_file or certifi.where(),
    )
