#!/usr/bin/env bash
# Command 2: set up (idempotent) and run every check: ruff, mypy (strict, all Python), php -l on the shim, and the
# whole pytest suite against real MariaDB, real MinIO and the real PHP shim. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "[test] ruff"; .venv/bin/ruff check bridge tests rig tools bench; .venv/bin/ruff format --check bridge tests rig tools bench
echo "[test] mypy"; .venv/bin/mypy
echo "[test] php -l"; for f in $(find hooks_php_shim tests/whmcs_standin rig/whmcs_standin -name '*.php'); do php -l "$f" >/dev/null; done
echo "[test] pytest"; exec .venv/bin/pytest "$@"
