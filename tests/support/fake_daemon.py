"""Something answering on the daemon's address with a fixed answer: what the real shim does with an answer the real
daemon would not give (a mistaken or compromised daemon), or with page HTML built from values MinIO would refuse."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextlib.contextmanager
def _json_server(method: str, status: int, body: bytes, delay: float = 0.0) -> Iterator[int]:
    """A loopback HTTP server answering every `method` request with `status` and the JSON `body` after `delay`
    seconds; yields its port."""

    def handle(self: BaseHTTPRequestHandler) -> None:
        if "Content-Length" in self.headers:
            self.rfile.read(int(self.headers["Content-Length"]))
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def quiet(self: BaseHTTPRequestHandler, *args: Any) -> None:
        pass

    handler = type("Handler", (BaseHTTPRequestHandler,), {f"do_{method}": handle, "log_message": quiet})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


@contextlib.contextmanager
def answering(answer: dict[str, Any]) -> Iterator[str]:
    """A loopback server answering every POST with `answer` as JSON; yields its URL."""
    with _json_server("POST", 200, json.dumps(answer).encode()) as port:
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def slow_denying_storage(delay: float) -> Iterator[int]:
    """A storage server that answers every admin call after `delay` seconds with AccessDenied; yields its port."""
    body = b'{"Code":"AccessDenied","Message":"slow and denied"}'
    with _json_server("GET", 403, body, delay) as port:
        yield port
