"""The WHMCS stand-ins that run as web servers (PHP's built-in server) for the self-service panel:

- `whmcs_api`: rig/whmcs_standin/api.php, WHMCS's includes/api.php for the daemon's bearer-token way;
- `client_area`: rig/whmcs_standin/clientarea.php, a WHMCS client area a browser can use (login, service page,
  the module's custom functions, CSRF tokens).
Both work over the stand-in WHMCS database. Used by the tests, the demo and the benchmarks.
"""

from __future__ import annotations

import base64
import contextlib
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from rig.paths import CACHE, REPO
from rig.services import MariaDB, free_port, scratch_dir, stop_process_group, wait_until

STANDIN_DIR = REPO / "rig" / "whmcs_standin"
BOOTSTRAP = CACHE / "bootstrap-4.6.2" / "bootstrap.min.css"


def encrypted(plain: str) -> str:
    """The stand-in's encryption of stored passwords, which its decrypt() undoes (real WHMCS has its own)."""
    return "standin-enc:" + base64.b64encode(plain.encode()).decode()


@dataclass
class Site:
    url: str
    proc: subprocess.Popen[bytes]

    def login(self, clientid: int) -> str:
        return f"{self.url}/login?uid={clientid}"

    def service_page(self, serviceid: int, **query: str) -> str:
        extra = "".join(f"&{k}={urllib.parse.quote(v)}" for k, v in query.items())
        return f"{self.url}/clientarea.php?action=productdetails&id={serviceid}{extra}"


def _env(db: MariaDB, database: str, daemon_url: str, daemon_secret: str) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "PHP_CLI_SERVER_WORKERS": "4",
        "STANDIN_DB_DSN": f"mysql:host=127.0.0.1;port={db.port};dbname={database}",
        "STANDIN_DB_USER": "root",
        "STANDIN_DB_PASSWORD": db.root_password,
        "STANDIN_BOOTSTRAP_CSS": str(BOOTSTRAP),
        "S3BRIDGE_URL": daemon_url,
        "S3BRIDGE_SECRET": daemon_secret,
    }


@contextlib.contextmanager
def _serve(args: list[str], env: dict[str, str], probe: str, what: str, port: int = 0) -> Iterator[Site]:
    port = port or free_port()
    log = scratch_dir("php-site") / "php.log"
    proc = subprocess.Popen(["php", "-S", f"127.0.0.1:{port}", *args], stdout=log.open("ab"),
                            stderr=subprocess.STDOUT, env=env, cwd=STANDIN_DIR, start_new_session=True)  # fmt: skip

    def up() -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=1)
        except urllib.error.HTTPError:
            return True
        except urllib.error.URLError:
            return False
        return True

    wait_until(up, 20, what, proc, log)
    try:
        yield Site(f"http://127.0.0.1:{port}", proc)
    finally:
        stop_process_group(proc)


@contextlib.contextmanager
def whmcs_api(db: MariaDB, database: str, daemon_url: str, daemon_secret: str, identifier: str,
              secret: str, port: int = 0, *, access_key: str = "",
              role_actions: tuple[str, ...] | None = None) -> Iterator[Site]:  # fmt: skip
    """api.php; `access_key` is configuration.php's $api_access_key (WHMCS's way past API IP Access Restriction),
    `role_actions` what the credential's API role allows (default: the stand-in's four actions)."""
    env = {**_env(db, database, daemon_url, daemon_secret), "STANDIN_API_IDENTIFIER": identifier,
           "STANDIN_API_SECRET": secret, "STANDIN_API_ACCESS_KEY": access_key}  # fmt: skip
    if role_actions is not None:
        env["STANDIN_API_ROLE_ACTIONS"] = ",".join(role_actions) or "none"
    with _serve(["-t", str(STANDIN_DIR)], env, "/api.php", "PHP built-in server (stand-in api.php)", port) as site:
        yield site


@contextlib.contextmanager
def client_area(db: MariaDB, database: str, daemon_url: str, daemon_secret: str) -> Iterator[Site]:
    env = _env(db, database, daemon_url, daemon_secret)
    router = str(STANDIN_DIR / "clientarea.php")
    with _serve([router], env, "/bootstrap.min.css", "PHP built-in server (stand-in client area)") as site:
        yield site
