"""Config validation: every missing or wrong key is one line naming it, and the CLI exits 2."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.config import ConfigError, parse_config

GOOD: dict[str, dict[str, object]] = {
    "daemon": {"listen": "127.0.0.1:8750", "secrets": ["0123456789abcdef0123"]},
    "whmcs_db": {"host": "127.0.0.1", "user": "s3bridge", "password": "pw-canary-xyz", "database": "whmcs"},
}


def with_(section: str, **changes: object) -> dict[str, dict[str, object]]:
    data = {k: dict(v) for k, v in GOOD.items()}
    for key, value in changes.items():
        if value is None:
            data[section].pop(key, None)
        else:
            data[section][key] = value
    return data


def test_a_minimal_valid_config_parses_with_defaults() -> None:
    cfg = parse_config(GOOD)
    assert cfg.daemon.listen.port == 8750
    assert cfg.whmcs_db.port == 3306
    assert cfg.backend.max_crypto_concurrency == 2


def test_unix_socket_listen_address_is_accepted() -> None:
    cfg = parse_config(with_("daemon", listen="unix:/run/s3bridge/s3bridge.sock"))
    assert cfg.daemon.listen.unix_path == "/run/s3bridge/s3bridge.sock"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (with_("daemon", secrets=None), "[daemon] secrets is missing"),
        (with_("daemon", secrets=[]), "[daemon] secrets must list at least one secret"),
        (with_("daemon", secrets=["short"]), "[daemon] secrets[0] is too short"),
        (with_("daemon", listen="8750"), "[daemon] listen must be"),
        (with_("daemon", listen="unix:relative.sock"), "[daemon] listen must be"),
        (with_("daemon", listn="127.0.0.1:1"), "[daemon] listn is not a known key"),
        (with_("whmcs_db", database=None), "[whmcs_db] database is missing"),
        (with_("whmcs_db", port="3306"), "[whmcs_db] port must be int, got str"),
        (with_("whmcs_db", port=70000), "[whmcs_db] port must be 1-65535"),
        ({"daemon": GOOD["daemon"]}, "section [whmcs_db] is missing"),
        ({**GOOD, "minio": {}}, "section [minio] is not a known section"),
        (with_("daemon", email_templates="/nonexistent/templates"), "[daemon] email_templates names /nonexistent"),
    ],
)
def test_each_config_error_names_the_key(data: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(data, source="test.toml")
    assert expected in str(e.value)
    assert "\n" not in str(e.value)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, check=False)


def test_serve_with_a_missing_config_file_exits_2_with_one_line(tmp_path: Path) -> None:
    r = run_cli("serve", "--config", str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "does not exist" in r.stderr


def test_serve_with_a_bad_key_exits_2_naming_it_without_leaking_secrets(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[daemon]\nlisten = "nowhere"\nsecrets = ["canary-secret-abcdef123456"]\n'
        '[whmcs_db]\nuser = "u"\npassword = "canary-pass-987"\ndatabase = "w"\n'
    )
    r = run_cli("serve", "--config", str(path))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "[daemon] listen" in r.stderr
    assert "canary" not in r.stderr + r.stdout


def test_invalid_toml_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[daemon\nlisten=")
    r = run_cli("check", "--config", str(path))
    assert r.returncode == 2
    assert "is not valid TOML" in r.stderr


def test_email_templates_key_is_accepted_when_it_names_a_template_folder() -> None:
    from bridge.config import SOURCE_EMAIL_TEMPLATES

    cfg = parse_config(with_("daemon", email_templates=str(SOURCE_EMAIL_TEMPLATES)))
    assert cfg.daemon.email_templates == str(SOURCE_EMAIL_TEMPLATES)


def test_metering_is_off_without_a_meter_section_and_on_with_its_listen_address() -> None:
    assert parse_config(GOOD).meter.listen is None
    cfg = parse_config({**GOOD, "meter": {"listen": "0.0.0.0:8751", "url": "http://10.0.0.5:8751/"}})
    assert cfg.meter.listen is not None
    assert cfg.meter.listen.port == 8751
    assert cfg.meter.endpoint == "http://10.0.0.5:8751"
    assert cfg.meter.flush_interval == 0.0  # group commit by default


@pytest.mark.parametrize(
    ("meter", "expected"),
    [
        ({"listen": "unix:/run/x.sock"}, "[meter] listen must be host:port"),
        ({"listen": "127.0.0.1:8751", "url": "ftp://x"}, "[meter] url must start with http:// or https://"),
        ({"listen": "127.0.0.1:8751", "queue_dir": "relative/dir"}, "[meter] queue_dir must be an absolute path"),
        ({"listen": "127.0.0.1:8751", "batch_size": 0}, "[meter] batch_size must be greater than 0"),
        ({"listen": "127.0.0.1:8751", "flush_interval": -1}, "[meter] flush_interval must be 0 or more"),
        ({"listen": "127.0.0.1:8751", "queu_dir": "/x"}, "[meter] queu_dir is not a known key"),
    ],
)
def test_each_meter_setting_error_names_the_key(meter: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(expected)):
        parse_config({**GOOD, "meter": meter})
