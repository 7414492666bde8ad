"""Headless Chromium (Debian's package, driven by Playwright) loading our fragments inside a WHMCS-like page.

The shell imitates WHMCS's default client theme (Bootstrap 4 CSS served locally, its header, sidebar and main
column) so layout problems show as they would for a customer. Every request to any other host is recorded and
refused: the test fails on it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rig.paths import CACHE, REPO

ARTIFACTS = REPO / "test-artifacts"
BOOTSTRAP = CACHE / "bootstrap-4.6.2" / "bootstrap.min.css"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

CLIENT_SHELL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Product Details - Client Area</title><link rel="stylesheet" href="/bootstrap.min.css"></head>
<body class="primary-bg-color">
<header class="header"><nav class="navbar navbar-light bg-light">
<a class="navbar-brand" href="#">Hosting Co</a></nav></header>
<section id="main-body"><div class="container"><div class="row">
<div class="col-lg-4 col-xl-3 d-none d-lg-block"><div class="card"><div class="card-header">Manage</div>
<div class="list-group list-group-flush"><a class="list-group-item" href="#">Overview</a></div></div></div>
<div class="col-lg-8 col-xl-9 primary-content">{fragment}</div>
</div></div></section></body></html>"""

ADMIN_SHELL = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Clients Profile - Admin</title><link rel="stylesheet" href="/bootstrap.min.css"></head>
<body><div class="container-fluid"><table class="form" width="100%">{rows}</table></div></body></html>"""


@dataclass
class PageServer:
    pages: dict[str, str] = field(default_factory=dict)
    port: int = 0

    def __post_init__(self) -> None:
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/bootstrap.min.css":
                    body, kind = BOOTSTRAP.read_bytes(), "text/css"
                elif self.path in pages:
                    body, kind = pages[self.path].encode(), "text/html; charset=utf-8"
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self._server.shutdown()


@dataclass
class Visit:
    console_errors: list[str]
    foreign_requests: list[str]
    page: Any


@contextlib.contextmanager
def open_page(browser: Any, server: PageServer, path: str, *, width: int, height: int) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": width, "height": height}, java_script_enabled=True)
    page = context.new_page()
    visit = Visit([], [], page)
    page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: visit.console_errors.append(str(e)))

    def guard(route: Any) -> None:
        if route.request.url.startswith(f"http://127.0.0.1:{server.port}/"):
            route.continue_()
        else:
            visit.foreign_requests.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    page.goto(server.url(path), wait_until="networkidle")
    try:
        yield visit
    finally:
        context.close()


def screenshot(visit: Visit, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    visit.page.screenshot(path=str(path), full_page=True)
    return path
