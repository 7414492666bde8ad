"""Call the real PHP shim through the WHMCS stand-in (tests/whmcs_standin/standin.php)."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from typing import Any

from rig.paths import STANDIN


@dataclass
class ShimResult:
    returned: Any
    module_log: list[dict[str, Any]]
    local_api: list[dict[str, Any]]
    exception: Any
    output: str
    raw: str


def run_shim(
    function: str,
    params: dict[str, Any],
    *,
    url: str,
    secret: str,
    extra_env: dict[str, str] | None = None,
    localapi_responses: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
    timeout: float = 120,
) -> ShimResult:
    """`s3bridge_<function>($params)` in the real shim, as WHMCS would call it; returns what WHMCS would see."""
    request = {
        "function": function,
        "params": params,
        "localapi_responses": localapi_responses or {},
        "session": session or {},
    }
    return _run(request, url=url, secret=secret, extra_env=extra_env, timeout=timeout)


def run_hook(
    hook: str,
    vars_: dict[str, Any] | None = None,
    *,
    url: str,
    secret: str,
    extra_env: dict[str, str] | None = None,
    timeout: float = 120,
) -> ShimResult:
    """Run the callbacks the module's hooks.php registers for `hook`, as WHMCS's cron would."""
    return _run({"hook": hook, "vars": vars_ or {}}, url=url, secret=secret, extra_env=extra_env, timeout=timeout)


def _run(
    request: dict[str, Any], *, url: str, secret: str, extra_env: dict[str, str] | None, timeout: float
) -> ShimResult:
    env = {k: v for k, v in os.environ.items() if not k.startswith("S3BRIDGE_")}
    env.update({"S3BRIDGE_URL": url, "S3BRIDGE_SECRET": secret, **(extra_env or {})})
    proc = subprocess.run(
        ["php", str(STANDIN)],
        input=json.dumps(request).encode(),
        capture_output=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    raw = proc.stdout.decode()
    if proc.returncode != 0 or not raw.strip():
        raise RuntimeError(f"WHMCS stand-in failed (exit {proc.returncode}): {proc.stderr.decode()[-2000:]} {raw}")
    data = json.loads(raw)
    return ShimResult(
        data.get("return"),
        data.get("module_log", []),
        data.get("local_api", []),
        data.get("exception"),
        data.get("output", ""),
        raw,
    )
