"""TestConnection latency: the signed round trip through the daemon versus calling MinIO's admin info directly.

    .venv/bin/python -m bench.test_connection [--runs 50]

Three cases in one run, against one real MinIO: (1) minio-py `MinioAdmin.info()` in-process (the naive floor),
(2) a signed HTTP call to the daemon's /v1/module/TestConnection (what the shim's curl does), (3) the whole WHMCS
path: the real PHP shim in the WHMCS stand-in (a PHP process start per call, as the stand-in is a CLI).
"""

from __future__ import annotations

import argparse
import json
import secrets
import subprocess
import sys
import time
import urllib.request

from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from bench.common import report, summary, timed
from bridge.signing import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign
from rig.paths import REPO
from rig.services import MariaDB, MinIO, free_port, scratch_dir, stop_process, wait_until
from rig.shim import run_shim


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    root = scratch_dir("bench-tc")
    db = MariaDB(root=root / "db", port=free_port(), socket=str(root / "db.sock"))
    (root / "db").mkdir()
    minio = MinIO(root=root / "minio", port=free_port(), console_port=free_port())
    daemon = None
    try:
        db.start()
        db.create_whmcs_database("whmcs")
        minio.start()
        secret = secrets.token_hex(24)
        listen = f"127.0.0.1:{free_port()}"
        cfg = root / "s3bridge.toml"
        cfg.write_text(
            f'[daemon]\nlisten = "{listen}"\nsecrets = ["{secret}"]\nlog_level = "warning"\n'
            f'[whmcs_db]\nhost = "127.0.0.1"\nport = {db.port}\nuser = "root"\npassword = "{db.root_password}"\n'
            f'database = "whmcs"\n'
        )
        daemon = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--config", str(cfg)],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://{listen}"
        wait_until(lambda: urllib.request.urlopen(f"{url}/healthz", timeout=1).status == 200, 30, "daemon", daemon)

        admin = MinioAdmin(
            endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
        )
        params = {
            "serverhostname": "127.0.0.1",
            "serverport": minio.port,
            "serverusername": minio.access_key,
            "serverpassword": minio.secret_key,
        }
        body = json.dumps({"params": params}).encode()
        path = "/v1/module/TestConnection"

        def signed_call() -> None:
            ts, nonce = str(int(time.time())), secrets.token_hex(16)
            req = urllib.request.Request(
                url + path,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    HEADER_TIMESTAMP: ts,
                    HEADER_NONCE: nonce,
                    HEADER_SIGNATURE: sign(secret, "POST", path, ts, nonce, body),
                },
            )
            with urllib.request.urlopen(req, timeout=10) as r:
                assert json.loads(r.read())["result"]["success"] is True

        def shim_call() -> None:
            r = run_shim("TestConnection", params, url=url, secret=secret)
            assert r.returned == {"success": True, "error": ""}, r.returned

        rows = {
            "direct MinioAdmin.info()": summary(timed(admin.info, args.runs)),
            "signed HTTP -> daemon -> MinIO": summary(timed(signed_call, args.runs)),
            "PHP shim (stand-in CLI) -> daemon -> MinIO": summary(timed(shim_call, args.runs)),
        }
        direct = rows["direct MinioAdmin.info()"]["median_ms"]
        extra = {
            "ratio_signed_vs_direct": round(rows["signed HTTP -> daemon -> MinIO"]["median_ms"] / direct, 2),
            "ratio_shim_vs_direct": round(rows["PHP shim (stand-in CLI) -> daemon -> MinIO"]["median_ms"] / direct, 2),
            "overhead_signed_ms": round(rows["signed HTTP -> daemon -> MinIO"]["median_ms"] - direct, 3),
        }
        report("test_connection", rows, extra)
        return 0
    finally:
        if daemon is not None:
            stop_process(daemon)
        minio.stop()
        db.stop()


if __name__ == "__main__":
    raise SystemExit(main())
