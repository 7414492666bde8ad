"""The rig's web stand-ins leave no process behind: PHP's built-in server forks workers (PHP_CLI_SERVER_WORKERS), and
stopping only the parent orphaned them (24 stray `php -S` workers were found after one test run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rig.panel_sites import _serve


def _pids_serving(port: int) -> list[str]:
    out = subprocess.run(["pgrep", "-f", f"php -S 127.0.0.1:{port}"], capture_output=True, text=True, check=False)
    return out.stdout.split()


@pytest.mark.php
def test_stopping_a_php_site_stops_its_forked_workers_too(tmp_path: Path) -> None:
    (tmp_path / "index.php").write_text("<?php echo 'up';\n")
    env = {"PATH": "/usr/bin:/bin", "PHP_CLI_SERVER_WORKERS": "4"}
    with _serve(["-t", str(tmp_path)], env, "/", "php -S with workers") as site:
        port = int(site.url.rsplit(":", 1)[1])
        assert len(_pids_serving(port)) > 1, "the server should have forked its workers"
    assert _pids_serving(port) == []
