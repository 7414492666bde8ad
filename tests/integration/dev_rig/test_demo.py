"""The README's first command stays true: the demo walk-through runs end to end on real services."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rig.paths import REPO

pytestmark = [pytest.mark.minio, pytest.mark.mariadb, pytest.mark.php]


def test_demo_walkthrough_runs_and_reports_a_successful_test_connection() -> None:
    r = subprocess.run(
        [sys.executable, "-m", "rig.demo", "--once"], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'returned to WHMCS: {"success": true, "error": ""}' in r.stdout
    assert "rejected the access key or secret key" in r.stdout
    assert "customer uploads with boto3: s3://7-55--data/hello.txt" in r.stdout
    assert "account '7-55' deleted: 1 bucket(s), 2 object version(s)" in r.stdout  # hello.txt and metered.bin
    traffic = next(line for line in r.stdout.splitlines() if "traffic of service #55 today" in line)
    assert '"bytes_in": 1000000, "bytes_out": 23' in traffic  # metered from MinIO's audit webhook, exactly
    assert "storage quota 5 GB" in r.stdout  # the ostor walk-through, on the gateway emulator
    assert "account '7-56' deleted" in r.stdout
    assert "client area: http://127.0.0.1:" in r.stdout  # a local URL where the customer's tabs open
    for tab in ("overview", "buckets", "files", "keys", "usage"):
        assert f"&s3tab={tab}  -> ok" in r.stdout
    # the operator's view: one drift found and repaired, told as sentences
    mismatch = "- '7-55' (service 55, state mismatch) is enabled on storage, but WHMCS says it should be disabled"
    assert mismatch in r.stdout
    assert "- '7-99' (orphan user) is on storage (enabled) but belongs to no live service" in r.stdout
    assert "exit code: 2 (0 clean" in r.stdout  # before: a suspended service could still write
    assert "repaired: account disabled as WHMCS says." in r.stdout
    assert "user 7-55 on MinIO now: disabled" in r.stdout
    assert "page drift: http://127.0.0.1:" in r.stdout
    assert "=> Array" not in r.stdout  # no PHP print_r dumps
