"""The WHMCS stand-ins that run as web servers (PHP's built-in server) for the self-service panel:

- `whmcs_api`: rig/whmcs_standin/api.php, WHMCS's includes/api.php for the daemon's bearer-token way, on any PHP
  the rig runs (`S3BRIDGE_PHP` or `php`): Debian's 8.2 serves it with `php -S`; php-wasm (7.4, 8.0, 8.1, 8.3) runs
  no web server, so a small front here runs each request on the PHP CLI (rig/whmcs_standin/cli_request.php);
- `client_area`: rig/whmcs_standin/clientarea.php, a WHMCS client area a browser can use (login, service page,
  the module's custom functions, CSRF tokens), on Debian's PHP.
Both work over the stand-in WHMCS database. Used by the tests, the demo and the benchmarks.
"""

from __future__ import annotations

import base64
import contextlib
import http.server
import json
import os
import re
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from rig.paths import CACHE, REPO
from rig.services import MariaDB, free_port, scratch_dir, stop_process_group, wait_until
from rig.shim import NATIVE_PHP, php_command

STANDIN_DIR = REPO / "rig" / "whmcs_standin"
BOOTSTRAP = CACHE / "bootstrap-4.6.2" / "bootstrap.min.css"


def encrypted(plain: str) -> str:
    """The stand-in's encryption of stored passwords, which its decrypt() undoes (real WHMCS has its own)."""
    return "standin-enc:" + base64.b64encode(plain.encode()).decode()


@dataclass
class Site:
    url: str
    proc: subprocess.Popen[bytes] | None  # None: served by the CLI front (_serve_cli)

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


def php_form(encoded: str) -> dict[str, Any]:
    """An urlencoded query or form as PHP parses it into $_GET / $_POST: `a[k]` and `a[k][j]` nest, `a[]` takes the
    next index, a repeated name keeps its last value (PHP's mangling of dots and spaces in names is not modelled)."""
    fields: dict[str, Any] = {}
    for key, value in urllib.parse.parse_qsl(encoded, keep_blank_values=True):
        name = key.split("[", 1)[0]
        subkeys = re.findall(r"\[([^\]]*)\]", key[len(name) :])
        path = [name, *subkeys] if name and subkeys else [key]
        node = fields
        for depth, part in enumerate(path):
            if depth and part == "":  # `a[]`: PHP's next integer index
                part = str(max((int(k) for k in node if k.isdigit()), default=-1) + 1)
            if depth == len(path) - 1:
                node[part] = value
            else:
                child = node.get(part)
                node[part] = child if isinstance(child, dict) else {}
                node = node[part]
    return fields


@contextlib.contextmanager
def _serve_cli(page: str, env: dict[str, str], php: str, port: int = 0) -> Iterator[Site]:
    """`page` over HTTP on a PHP that runs no web server here (php-wasm): each request runs the PHP CLI once on
    cli_request.php, as a CGI would, with the method, the caller's address, the query and the form."""
    command, php_env = php_command(php)
    run_env = {**env, **php_env}
    log = scratch_dir("php-site") / "php-cli.log"

    class Front(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.answer(b"")

        def do_POST(self) -> None:
            self.answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def answer(self, body: bytes) -> None:
            url = urllib.parse.urlsplit(self.path)
            server = {"REQUEST_METHOD": self.command, "REQUEST_URI": self.path,
                      "REMOTE_ADDR": self.client_address[0], "HTTP_HOST": self.headers.get("Host", "")}  # fmt: skip
            request = {"script": page, "server": server, "get": php_form(url.query), "post": php_form(body.decode())}
            proc = subprocess.run([*command, str(STANDIN_DIR / "cli_request.php")], input=json.dumps(request).encode(),
                                  capture_output=True, env=run_env, timeout=120, check=False)  # fmt: skip
            powered = [ln for ln in proc.stderr.splitlines() if ln.startswith(b"X-Powered-By: PHP/")]
            with log.open("ab") as f:
                f.write(b"".join(ln + b"\n" for ln in proc.stderr.splitlines() if ln not in powered))
            # php-wasm-cli does not pass on PHP's exit status: no output is the failure
            self.send_response(200 if proc.stdout.strip() else 500)
            self.send_header("Content-Type", "application/json")
            if powered:  # the version that answered, as PHP's web servers say it
                self.send_header("X-Powered-By", powered[0].decode().split(": ", 1)[1])
            self.send_header("Content-Length", str(len(proc.stdout)))
            self.end_headers()
            self.wfile.write(proc.stdout)

        def log_message(self, format: str, *args: Any) -> None:
            with log.open("a") as f:
                f.write(f"{self.address_string()} {format % args}\n")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Front)
    thread = threading.Thread(target=server.serve_forever, name=f"php-{php}-{page}", daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}", None)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def whmcs_api(db: MariaDB, database: str, daemon_url: str, daemon_secret: str, identifier: str,
              secret: str, port: int = 0, *, access_key: str = "",
              role_actions: tuple[str, ...] | None = None, php: str | None = None) -> Iterator[Site]:  # fmt: skip
    """api.php; `access_key` is configuration.php's $api_access_key (WHMCS's way past API IP Access Restriction),
    `role_actions` what the credential's API role allows (default: the stand-in's four actions); `php` the PHP
    version it runs on (default env S3BRIDGE_PHP, else Debian's), with the module functions its actions run."""
    env = {**_env(db, database, daemon_url, daemon_secret), "STANDIN_API_IDENTIFIER": identifier,
           "STANDIN_API_SECRET": secret, "STANDIN_API_ACCESS_KEY": access_key}  # fmt: skip
    if role_actions is not None:
        env["STANDIN_API_ROLE_ACTIONS"] = ",".join(role_actions) or "none"
    php = php or os.environ.get("S3BRIDGE_PHP") or NATIVE_PHP
    if php != NATIVE_PHP:
        with _serve_cli("api.php", env, php, port) as site:
            yield site
        return
    with _serve(["-t", str(STANDIN_DIR)], env, "/api.php", "PHP built-in server (stand-in api.php)", port) as site:
        yield site


@contextlib.contextmanager
def client_area(db: MariaDB, database: str, daemon_url: str, daemon_secret: str) -> Iterator[Site]:
    env = _env(db, database, daemon_url, daemon_secret)
    router = str(STANDIN_DIR / "clientarea.php")
    with _serve([router], env, "/bootstrap.min.css", "PHP built-in server (stand-in client area)") as site:
        yield site
