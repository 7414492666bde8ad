"""The README's nginx site for publishing `[api]`, run as written with Debian's nginx in front of the real daemon:
the panel API answers through it, and nothing else of the daemon does (issue 18, item 3)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rig.paths import REPO
from rig.services import MariaDB, free_port, scratch_dir, stop_process, wait_until
from tests.conftest import Daemon, make_config, start_daemon

pytestmark = pytest.mark.mariadb

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def readme_site() -> str:
    text = (REPO / "README.md").read_text()
    found = re.search(r"<!-- nginx-site:[^>]*-->\n```nginx\n(.*?)```", text, re.S)
    assert found is not None, "the README's nginx site block is gone"
    return found.group(1)


def site_for(site: str, port: int, api: str, cert: Path, key: Path) -> str:
    """The README's site with this machine's addresses and a test certificate, nothing else changed."""
    replacements = {
        "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
        "server 127.0.0.1:8751;": f"server {api};",
        "/etc/ssl/certs/s3api.example.com.pem": str(cert),
        "/etc/ssl/private/s3api.example.com.key": str(key),
    }
    for old, new in replacements.items():
        assert old in site, f"the README's site no longer has {old!r}; update this test with it"
        site = site.replace(old, new)
    return site


@pytest.fixture(scope="module")
def proxied(mariadb: MariaDB, whmcs_db: str) -> Iterator[tuple[int, Daemon, dict[str, Any]]]:
    """The daemon with `[api]` on loopback, and nginx with the README's site in front of it on `port`."""
    cfg = make_config(mariadb, whmcs_db)
    cfg["api"] = {"listen": f"127.0.0.1:{free_port()}"}
    daemon = start_daemon(cfg)
    root = scratch_dir("nginx")
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=s3api.example.com",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    user = "user root;\n" if os.geteuid() == 0 else ""  # nginx started as root otherwise runs workers as nobody
    (root / "nginx.conf").write_text(
        f"{user}worker_processes 1;\nerror_log {root}/error.log;\npid {root}/nginx.pid;\n"
        "events { worker_connections 256; }\n"
        f"http {{\naccess_log {root}/access.log;\nclient_body_temp_path {root}/body;\n"
        f"proxy_temp_path {root}/proxy;\nfastcgi_temp_path {root}/fcgi;\nuwsgi_temp_path {root}/uwsgi;\n"
        f"scgi_temp_path {root}/scgi;\n" + site_for(readme_site(), port, cfg["api"]["listen"], cert, key) + "}\n"
    )
    test = subprocess.run(
        [NGINX, "-t", "-p", str(root), "-c", str(root / "nginx.conf")], capture_output=True, text=True
    )
    assert test.returncode == 0, test.stderr
    nginx = subprocess.Popen(
        [NGINX, "-p", str(root), "-c", str(root / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip

    def up() -> bool:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True

    wait_until(up, 15, "nginx", nginx)
    yield port, daemon, cfg
    stop_process(nginx)
    stop_process(daemon.proc)


def https(port: int, raw: bytes, wait: float = 10) -> tuple[bytes, float]:
    """Send `raw` over TLS and read until nginx closes; the answer and how long it took."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    start = time.monotonic()
    got = b""
    plain = socket.create_connection(("127.0.0.1", port), timeout=wait)
    with context.wrap_socket(plain, server_hostname="s3api.example.com") as s:
        s.sendall(raw)
        try:
            while chunk := s.recv(65536):
                got += chunk
        except (TimeoutError, ssl.SSLError, ConnectionResetError):
            pass
    return got, time.monotonic() - start


def request(method: str, path: str, headers: str = "", body: bytes = b"") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: s3api.example.com\r\nConnection: close\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def test_the_panel_api_answers_through_the_readme_site(proxied: tuple[int, Daemon, dict[str, Any]]) -> None:
    port, _, _ = proxied
    got, _ = https(port, request("POST", "/s3/get_files", "Authorization: Bearer s3b_a_000000000000_x\r\n", b"{}"))
    assert got.startswith(b"HTTP/1.1 401"), got[:300]
    assert b'"invalid or revoked token"' in got  # the daemon's own envelope, through nginx
    got, _ = https(port, request("GET", "/s3.php?action=get_files&token=s3b_x"))
    assert got.startswith(b"HTTP/1.1 400"), got[:300]
    assert b"not in the URL" in got


def test_nothing_else_of_the_daemon_is_published(proxied: tuple[int, Daemon, dict[str, Any]]) -> None:
    port, _, _ = proxied
    for path in ("/v1/module/TestConnection", "/healthz", "/readyz", "/s3/../v1/module/TestConnection", "/"):
        got, _ = https(port, request("POST", path, "Content-Type: application/json\r\n", b"{}"))
        assert got.startswith(b"HTTP/1.1 404"), (path, got[:200])
        assert b"s3bridge" not in got, (path, got[:300])
        assert b"aiohttp" not in got.lower(), (path, got[:300])


def test_nginx_refuses_oversized_bodies_and_cuts_off_slow_heads(proxied: tuple[int, Daemon, dict[str, Any]]) -> None:
    port, daemon, _ = proxied
    before = daemon.log_text().count('"api_call"')
    got, _ = https(port, request("POST", "/s3/get_files", "", b"x" * (2 * 1024 * 1024)))
    assert got.startswith(b"HTTP/1.1 413"), got[:200]
    assert daemon.log_text().count('"api_call"') == before  # never reached the daemon
    got, took = https(port, b"POST /s3/get_files HTTP/1.1\r\nHost: s3api.example.com\r\nX-Slow: a", wait=20)
    assert took < 10 + 3, took  # client_header_timeout 10s
