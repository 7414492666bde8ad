"""Product settings: the shim's ConfigOptions and the daemon's SETTINGS are one list; validation names the setting."""

from __future__ import annotations

import html
import subprocess
import sys

import pytest

from bridge.domain.product_settings import SETTINGS, UNITS, InvalidSetting, parse_product
from rig.paths import REPO
from rig.shim import run_shim

pytestmark = pytest.mark.php


def test_shim_config_options_match_the_daemons_settings_in_order_type_and_default() -> None:
    r = run_shim("ConfigOptions", {}, url="http://127.0.0.1:1", secret="unused-here-000000")
    options = r.returned
    assert list(options) == [s.label for s in SETTINGS]
    assert len(options) <= 24
    for s in SETTINGS:
        php = options[s.label]
        assert php["Type"] == s.type, s.label
        assert php.get("Default", "") == s.default, s.label
        assert html.unescape(php.get("Description", "")) == s.description, s.label
        if s.type == "dropdown":
            assert list(php["Options"]) == list(s.options), s.label


def test_the_shims_settings_file_is_generated_from_the_daemons_list() -> None:
    """lib/settings.php is written by tools/gen_shim_settings.py: one source, no second list kept by hand."""
    check = subprocess.run([sys.executable, "tools/gen_shim_settings.py", "--check"], cwd=REPO, capture_output=True)
    assert check.returncode == 0, check.stderr.decode()


def test_defaults_parse_to_a_safe_unlimited_product() -> None:
    p = parse_product({})
    assert p.disk_limit_bytes == 0
    assert p.username_rule == "{client_id}-{service_id}"
    assert p.warning_percent == 90
    assert p.password_rule.length == 24


@pytest.mark.parametrize(
    ("size", "unit", "expected"), [("1", "GB", 1024**3), ("0.5", "TB", 1024**4 // 2), ("250", "MB", 250 * 1024**2)]
)
def test_disk_limit_is_in_binary_units(size: str, unit: str, expected: int) -> None:
    assert parse_product({"configoption2": size, "configoption3": unit}).disk_limit_bytes == expected
    assert UNITS["GB"] == 1024**3


@pytest.mark.parametrize(
    ("number", "value", "message"),
    [
        (2, "-1", "'Disk space size' (configoption2) must be a number"),
        (10, "0", "'Usage history retention (days)' (configoption10) must be 1-3650"),
        (11, "javascript:alert(1)", "'Link to instructions' (configoption11) must be an http:// or https:// URL"),
        (13, "Bad_Suffix", "'Default bucket suffix' (configoption13)"),
        (14, "sometimes", "'Client area password' (configoption14) must be one of button, plain, hidden"),
        (7, "group with spaces", "'MinIO group' (configoption7)"),
        (
            9,
            '{"Statement":[{"Effect":"Allow","Action":"admin:*","Resource":"arn:aws:s3:::<USER_ID>--*"}]}',
            "admin actions",
        ),
        (15, "{random_digit_99}", "write {random_digit_N} with N from 1 to 20"),
    ],
)
def test_invalid_settings_name_the_setting(number: int, value: str, message: str) -> None:
    params = {f"configoption{number}": value}
    if number == 13:
        params["configoption12"] = "on"
    with pytest.raises(InvalidSetting) as e:
        parse_product(params)
    assert message in e.value.message
