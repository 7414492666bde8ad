"""The live-gateway run is chosen by the environment when the tests are collected, and absent otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from rig.paths import REPO
from tests.contract.live import PREFIX, live_ostor

LIVE_ENV = {
    PREFIX + "URL": "https://s3.example.net:8443",
    PREFIX + "ACCESS_KEY": "a14040e0b2ef8b28FZZ8",
    PREFIX + "SECRET_KEY": "dbwTnQTW602aAAdq8DQVFzB6yrTCFTNiGB8C8RFA",
}


def test_without_the_three_variables_there_is_no_live_gateway() -> None:
    assert live_ostor({}) is None
    assert live_ostor({k: v for k, v in LIVE_ENV.items() if not k.endswith("SECRET_KEY")}) is None


def test_the_variables_name_the_gateway_its_keys_and_options() -> None:
    live = live_ostor({**LIVE_ENV, PREFIX + "SIGNATURE": "v4", PREFIX + "QUOTA_ACCOUNTING": "no"})
    assert live is not None
    assert (live.endpoint, live.secure, live.quota_accounting) == ("s3.example.net:8443", True, False)
    assert live.settings().signature == "v4"
    assert live.secret_key not in repr(live)


def _collected(env: dict[str, str]) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(PREFIX)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/contract/test_access_keys.py",
        ],
        cwd=REPO,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return [line for line in out.stdout.splitlines() if "::" in line]


def test_live_tests_are_collected_only_when_the_environment_names_a_gateway() -> None:
    without, with_live = _collected({}), _collected(LIVE_ENV)
    assert without
    assert not [t for t in without if "ostor-live" in t]
    live = [t for t in with_live if "ostor-live" in t]
    assert len(live) == 6  # every AccessKeys test, once more
    assert set(with_live) - set(live) == set(without)
