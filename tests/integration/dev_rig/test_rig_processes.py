"""The rig's web stand-ins leave no process behind: PHP's built-in server forks workers (PHP_CLI_SERVER_WORKERS), and
stopping only the parent orphaned them (24 stray `php -S` workers were found after one test run)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from rig.panel_sites import _serve, php_form


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


FORMS = [
    "action=AddOrder&clientid=7&pid%5B0%5D=12&paymentmethod=banktransfer",  # the daemon's AddOrder (api_client)
    "a%5B%5D=p&a%5B%5D=q&a%5B5%5D=r&a%5B%5D=s&x=1&x=2&empty=&b%5Bk%5D%5Bj%5D=v&t=%3Cb%3E%26amp%3B",
]


@pytest.mark.parametrize("form", FORMS)
def test_the_cli_front_parses_a_form_as_php_does(form: str, tmp_path: Path) -> None:
    """api.php on php-wasm gets its $_POST from rig/panel_sites.py's parser: it must be PHP's (parse_str)."""
    script = tmp_path / "parse.php"
    script.write_text("<?php parse_str($argv[1], $out); echo json_encode($out);")
    out = subprocess.run(["php", str(script), form], capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(out.stdout) == _as_php_json(php_form(form))


def _as_php_json(value: object) -> object:
    """What PHP's json_encode makes of the parsed form: arrays with keys 0..n-1 are JSON lists."""
    if isinstance(value, dict):
        items = {k: _as_php_json(v) for k, v in value.items()}
        return list(items.values()) if list(items) == [str(i) for i in range(len(items))] else items
    return value
