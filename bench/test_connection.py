"""TestConnection latency: the signed round trip through the daemon versus calling MinIO's admin info directly.

    .venv/bin/python -m bench.test_connection [--runs 50]

Three cases in one run, against one real MinIO: (1) minio-py `MinioAdmin.info()` in-process (the naive floor),
(2) a signed HTTP call to the daemon's /v1/module/TestConnection (what the shim's curl does), (3) the whole WHMCS
path: the real PHP shim in the WHMCS stand-in (a PHP process start per call, as the stand-in is a CLI).
"""

from __future__ import annotations

import argparse

from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from bench.common import report, summary, timed
from rig.shim import run_shim
from rig.stack import running_stack


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    with running_stack("bench-tc") as stack:
        minio, url, secret = stack.minio, stack.url, stack.secret
        admin = MinioAdmin(
            endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
        )
        params = stack.server_params()

        def signed_call() -> None:
            assert stack.signed_post("TestConnection", params)["result"]["success"] is True

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


if __name__ == "__main__":
    raise SystemExit(main())
