"""Call the real PHP shim through the WHMCS stand-in (rig/whmcs_standin/standin.php), on any PHP WHMCS supports.

The module is installed the way an admin installs it: copied into a folder of its own with a `config.php` beside it
(the one documented way to configure it). PHP 8.2 is Debian's `php`; 7.4, 8.0, 8.1 and 8.3 run under node with npm's
`@php-wasm/cli` (installed by scripts/setup.sh into the cache). `S3BRIDGE_PHP=7.4` runs every shim call of the
suite on that version; `S3BRIDGE_SHIM_SRC=<dir>` tests another copy of the module (e.g. an older commit's).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rig.paths import CACHE, SHIM_DIR, STANDIN

NATIVE_PHP = "8.2"  # Debian 12's php-cli
WASM_PHP = ("7.4", "8.0", "8.1", "8.3")
PHP_VERSIONS = ("7.4", "8.0", "8.1", NATIVE_PHP, "8.3")
WASM_CLI = CACHE / "php-wasm" / "node_modules" / ".bin" / "php-wasm-cli"

_installed: dict[tuple[str, str, str], Path] = {}


@dataclass
class ShimResult:
    returned: Any
    module_log: list[dict[str, Any]]
    local_api: list[dict[str, Any]]
    exception: Any
    output: str
    raw: str
    page: str | None = None
    php_errors: list[dict[str, Any]] = field(default_factory=list)
    session: Any = None  # WHMCS's PHP session after the call ([] or {} when WHMCS ended it)
    client_area_after: Any = None  # what ClientArea answered when WHMCS called it after a custom function


def php_command(version: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line that runs a PHP file on `version` (default env S3BRIDGE_PHP, else Debian's)."""
    version = version or os.environ.get("S3BRIDGE_PHP") or NATIVE_PHP
    if version == NATIVE_PHP:
        return ["php"], {}
    if version not in WASM_PHP:
        raise ValueError(f"PHP {version} is not one the rig runs ({', '.join(PHP_VERSIONS)})")
    if not WASM_CLI.exists():
        raise RuntimeError(f"PHP {version} needs @php-wasm/cli in {WASM_CLI.parent}: run ./scripts/setup.sh")
    return ["node", str(WASM_CLI)], {"PHP": version}


def run_php(
    command: list[str], script: Path, *, stdin: bytes, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[bytes]:
    """Run `script` with input on stdin; its stdout and stderr come back whole. They go to files, not pipes:
    php-wasm under node drops what does not fit a pipe that is not drained in time (64 KiB: a page rendered on a
    loaded machine arrived cut off, tests/integration/dev_rig/test_php_output.py)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.run(
            [*command, str(script)], input=stdin, stdout=out, stderr=err, env=env, timeout=timeout, check=False
        )
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out.read(), err.read())


def install_module(url: str, secret: str, *, config: dict[str, Any] | None = None) -> Path:
    """A copy of the module with its config.php (none when url and secret are both empty), reused per process."""
    src = Path(os.environ.get("S3BRIDGE_SHIM_SRC") or SHIM_DIR)
    key = (str(src), url, secret) if config is None else (str(src), url, json.dumps(config))
    if key in _installed and _installed[key].exists():
        return _installed[key]
    # WHMCS's layout: modules/servers/s3bridge beside modules/addons/s3bridge_fleet (which shares its config.php)
    root = Path(tempfile.mkdtemp(prefix="s3bridge-module-")) / "modules"
    dest = root / "servers" / "s3bridge"
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns("config.php"))
    addon = src.parent.parent / "addons" / "s3bridge_fleet"
    if addon.is_dir():
        shutil.copytree(addon, root / "addons" / "s3bridge_fleet")
    values = config if config is not None else ({"url": url, "secret": secret} if url or secret else None)
    if values is not None:
        body = "".join(f"    {json.dumps(k)} => {json.dumps(v)},\n" for k, v in values.items())
        (dest / "config.php").write_text(f"<?php\nreturn [\n{body}];\n")
    _installed[key] = dest
    return dest


def run_shim(
    function: str,
    params: dict[str, Any],
    *,
    url: str,
    secret: str,
    extra_env: dict[str, str] | None = None,
    localapi_responses: dict[str, Any] | None = None,
    session: dict[str, Any] | None = None,
    context: str = "web",
    request: dict[str, Any] | None = None,
    render: bool = False,
    service: dict[str, Any] | None = None,
    module_debug: bool = True,
    php: str | None = None,
    db_env: dict[str, str] | None = None,
    timeout: float = 120,
    tenant: str | None = None,
    timezone: str | None = None,
    localapi_db: list[str] | None = None,
) -> ShimResult:
    """`s3bridge_<function>($params)` in the real shim, as WHMCS would call it; returns what WHMCS would see.
    Module Debug Mode is on by default here (the tests read the module log); WHMCS's default is off."""
    req = {
        "function": function,
        "params": params,
        "localapi_responses": localapi_responses or {},
        "session": session or {},
        "context": context,
        "request": request or {},
        "render": render,
        "service": service or {},
        "module_debug": module_debug,
    }
    if tenant is not None:  # MetricProvider: the tenant the admin refreshes
        req["tenant"] = tenant
    if timezone is not None:  # WHMCS's timezone (PHP's default timezone in WHMCS)
        req["timezone"] = timezone
    if localapi_db:  # these localAPI commands act on the stand-in database (db_env), as in WHMCS
        req["localapi_db"] = localapi_db
    env = {**(db_env or {}), **(extra_env or {})}
    return _run(req, url=url, secret=secret, extra_env=env, php=php, timeout=timeout)


def run_api(
    action: str,
    values: dict[str, Any],
    *,
    url: str,
    secret: str,
    db_env: dict[str, str],
    localapi_db: list[str] | None = None,
    php: str | None = None,
    timeout: float = 120,
) -> ShimResult:
    """An admin's button for a WHMCS API action (e.g. AcceptOrder) on the stand-in database, on any PHP: the module
    functions it runs (CreateAccount) are the installed module's, and `localapi_db` their localAPI commands that act
    on the database. php-wasm runs no web server, so this is how PHP 7.4 runs what api.php runs on 8.2."""
    req = {"api": action, "values": values, "context": "admin", "session": {"adminid": 1}, "module_debug": True,
           "localapi_db": localapi_db or []}  # fmt: skip
    return _run(req, url=url, secret=secret, extra_env=db_env, php=php, timeout=timeout)


def run_hook(
    hook: str,
    vars_: dict[str, Any] | None = None,
    *,
    url: str,
    secret: str,
    extra_env: dict[str, str] | None = None,
    php: str | None = None,
    timeout: float = 120,
    config: dict[str, Any] | None = None,
) -> ShimResult:
    """Run the callbacks the module's hooks.php registers for `hook`, as WHMCS's cron would (with []); `config`:
    the whole config.php instead of url and secret."""
    req = {"hook": hook, "vars": vars_ or {}, "module_debug": True}
    return _run(req, url=url, secret=secret, extra_env=extra_env, php=php, timeout=timeout, config=config)


def run_addon(
    addon: str,
    *,
    url: str,
    secret: str,
    session: dict[str, Any] | None = None,
    admin_role: int = 1,
    access: list[int] | None = None,
    request: dict[str, Any] | None = None,
    php: str | None = None,
    timeout: float = 120,
) -> ShimResult:
    """Open an addon module's admin page as WHMCS's addonmodules.php does: `access` is the addon's Access Control
    (the admin role ids allowed), `admin_role` the logged-in admin's role."""
    req = {"addon": addon, "context": "admin", "session": session if session is not None else {"adminid": 1},
           "admin_role": admin_role, "addon_access": access if access is not None else [1],
           "request": request or {}, "module_debug": True}  # fmt: skip
    return _run(req, url=url, secret=secret, extra_env=None, php=php, timeout=timeout)


def _run(
    request: dict[str, Any],
    *,
    url: str,
    secret: str,
    extra_env: dict[str, str] | None,
    php: str | None,
    timeout: float,
    config: dict[str, Any] | None = None,
) -> ShimResult:
    request["module_dir"] = str(install_module(url, secret, config=config))
    command, php_env = php_command(php)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3BRIDGE_", "STANDIN_"))}
    env.update({**php_env, **(extra_env or {})})
    proc = run_php(command, STANDIN, stdin=json.dumps(request).encode(), env=env, timeout=timeout)
    raw = proc.stdout.decode()
    line = next((x for x in reversed(raw.splitlines()) if x.startswith("{")), "")
    if not line:
        raise RuntimeError(f"WHMCS stand-in failed (exit {proc.returncode}): {proc.stderr.decode()[-2000:]} {raw}")
    data = json.loads(line)
    return ShimResult(
        data.get("return"),
        data.get("module_log", []),
        data.get("local_api", []),
        data.get("exception"),
        data.get("output", ""),
        raw,
        data.get("page"),
        data.get("php_errors", []),
        data.get("session"),
        data.get("client_area_after"),
    )
