"""A loopback TCP relay that can act when it sees a given HTTP request pass: used to stop a real MinIO at an exact
point in the middle of a call (after the user exists, before anything else is done)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable


class TriggerProxy:
    def __init__(self, upstream_port: int, trigger: bytes, on_trigger: Callable[[], None]) -> None:
        self.upstream_port = upstream_port
        self.trigger = trigger
        self.on_trigger = on_trigger
        self.armed = False
        self.fired = threading.Event()
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

    def close(self) -> None:
        self._listener.close()
