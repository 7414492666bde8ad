"""A loopback TCP relay that can act when it sees a given HTTP request pass: used to stop a real MinIO at an exact
point in the middle of a call (after the user exists, before anything else is done)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from typing import Self


class _LoopbackListener:
    """Accepts loopback connections on a free port and serves each on its own thread (`_serve`)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._listener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class TriggerProxy(_LoopbackListener):
    def __init__(self, upstream_port: int, trigger: bytes, on_trigger: Callable[[], None]) -> None:
        self.upstream_port = upstream_port
        self.trigger = trigger
        self.on_trigger = on_trigger
        self.armed = False
        self.fired = threading.Event()
        super().__init__()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
        except OSError:
            client.close()
            return
        seen = threading.Event()

        def pump(src: socket.socket, dst: socket.socket, sniff_request: bool) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    if sniff_request and self.armed and self.trigger in data:
                        seen.set()
                    if not sniff_request and seen.is_set() and data.startswith(b"HTTP/1.1 2"):
                        # the triggering request succeeded upstream: act before the answer reaches the caller
                        seen.clear()
                        self.armed = False
                        self.on_trigger()
                        self.fired.set()
                    dst.sendall(data)
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(client, upstream, True), daemon=True).start()
        pump(upstream, client, False)


class FaultRelay(_LoopbackListener):
    """A loopback TCP relay in front of a real server that can turn slow (`delay` seconds before every chunk it
    forwards, both ways) or answer every HTTP request itself with 503 Service Unavailable (`unavailable`)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.delay = 0.0
        self.unavailable = False
        super().__init__()

    def _serve(self, client: socket.socket) -> None:
        if self.unavailable:
            self._answer_503(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        except OSError:
            client.close()
            return

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    if self.delay:
                        time.sleep(self.delay)
                    dst.sendall(data)
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        pump(upstream, client)

    @staticmethod
    def _answer_503(client: socket.socket) -> None:
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>"
        )
        with contextlib.suppress(OSError):
            client.settimeout(5)
            seen = b""
            while b"\r\n\r\n" not in seen and (chunk := client.recv(65536)):
                seen += chunk
            client.sendall(
                b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/xml\r\n"
                b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body
            )
        with contextlib.suppress(OSError):
            client.close()
