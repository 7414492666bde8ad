#!/usr/bin/env bash
# Command 2: set up (idempotent) and run every check: ruff, mypy (strict, all Python), php -l on the shim, and the
# whole pytest suite against real MariaDB, real MinIO and the real PHP shim. The shim's scenarios run on PHP 7.4,
# 8.0, 8.1 and 8.3 (npm's @php-wasm under node) besides Debian's 8.2 (tests/integration/shim/test_php_matrix.py).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
echo "[test] ruff"; .venv/bin/ruff check bridge tests rig tools bench; .venv/bin/ruff format --check bridge tests rig tools bench
echo "[test] mypy"; .venv/bin/mypy
echo "[test] php -l"; for f in $(find hooks_php_shim rig/whmcs_standin -name '*.php'); do php -l "$f" >/dev/null; done
echo "[test] shim settings"; .venv/bin/python tools/gen_shim_settings.py --check
echo "[test] pytest"; exec .venv/bin/pytest "$@"
