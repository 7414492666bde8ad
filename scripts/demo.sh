#!/usr/bin/env bash
# Command 1: set up (idempotent) and run the product locally: MariaDB with a sample WHMCS database, MinIO built
# from source, the s3bridge daemon, and the real PHP shim calling it. Ctrl-C stops everything (--once: exit after).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
exec .venv/bin/python -m rig.demo "$@"
