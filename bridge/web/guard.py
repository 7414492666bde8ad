"""What a listener allows a connection before it has proven anything: a cap on open connections, a deadline for the
request head, a deadline for the body, and JSON of bounded depth.

`ConnectionGuard` wraps a listener's protocol factory (aiohttp's `web.Server`) and counts open connections; the
listener accepts only while the count is under the cap (`bridge.web.listener`), so past it new connections wait in
the kernel's backlog, costing this process neither a file descriptor nor any work, and one listener can never take
the file descriptors another needs. A connection whose request head
(request line and headers, up to the blank line) has not arrived `header_timeout` seconds after it connected, or
after the answer to its previous request, gets `408` and is closed: a client that sends one byte a minute holds a
slot for seconds, not for ever. The body has its own deadline (`read_body`), the handler's business.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bridge.config import ListenerLimits
from bridge.errors import BadRequest

MAX_JSON_DEPTH = 32
_TIMEOUT_ANSWER = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
_HEAD_END = b"\r\n\r\n"


@dataclass
class GuardStats:
    open: int = 0
    refused: int = 0  # accepted past the cap (a race only: the listener waits for room before accepting) and closed
    head_timeouts: int = 0


class ConnectionGuard:
    def __init__(self, name: str, limits: ListenerLimits, max_connections: int) -> None:
        self.name, self.limits, self.max_connections = name, limits, max_connections
        self.stats = GuardStats()
        self.room = asyncio.Event()  # set while fewer than max_connections are open
        self.room.set()

    def opened(self) -> bool:
        """Count a new connection; False (not counted) when the listener is at its cap."""
        if self.stats.open >= self.max_connections:
            self.stats.refused += 1
            return False
        self.stats.open += 1
        if self.stats.open >= self.max_connections:
            self.room.clear()
        return True

    def closed(self) -> None:
        self.stats.open -= 1
        self.room.set()

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: _Guarded(self, factory)


class _Guarded(asyncio.Protocol):
    """Stands between the event loop and aiohttp's protocol for one connection; passes every call through."""

    def __init__(self, guard: ConnectionGuard, factory: Callable[[], asyncio.Protocol]) -> None:
        self.guard, self.factory = guard, factory
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.waiting_head = True
        self.tail = b""
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        if not self.guard.opened():
            transport.abort()
            return
        self.transport = transport
        self.inner = self.factory()
        self.inner.connection_made(transport)
        self.expect_head()

    def expect_head(self) -> None:
        """Start the head deadline (on connecting, and when an answer is done on a kept-alive connection)."""
        self.cancel_timer()
        self.waiting_head, self.tail = True, b""
        self.timer = asyncio.get_running_loop().call_later(self.guard.limits.header_timeout, self.head_expired)

    def head_arrived(self) -> None:
        self.cancel_timer()
        self.waiting_head, self.tail = False, b""

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def head_expired(self) -> None:
        self.timer = None
        if self.transport is None or self.transport.is_closing():
            return
        self.guard.stats.head_timeouts += 1
        self.transport.write(_TIMEOUT_ANSWER)
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            return
        if self.waiting_head:
            seen = self.tail + data
            if _HEAD_END in seen:
                self.head_arrived()
            else:
                self.tail = seen[-(len(_HEAD_END) - 1) :]
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner is None:
            return
        self.cancel_timer()
        self.guard.closed()
        inner, self.inner, self.transport = self.inner, None, None
        inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def head_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tell the connection's guard a request is being served, and re-arm its head deadline once it is answered."""
    protocol = request.transport.get_protocol() if request.transport is not None else None
    guarded = protocol if isinstance(protocol, _Guarded) else None
    if guarded is not None:
        guarded.head_arrived()
    response: web.StreamResponse | None = None
    try:
        response = await handler(request)
        return response
    finally:
        if guarded is not None and guarded.inner is not None and (response is None or response.keep_alive is not False):
            guarded.expect_head()


class BodyTimeout(BadRequest):
    status = 408

    def __init__(self, timeout: float) -> None:
        super().__init__(f"the request body did not arrive within {timeout:g} s", code="body_timeout")


async def read_body(request: web.Request, seconds: float) -> bytes:
    """The whole body within `seconds`, or BodyTimeout (408; the caller closes the connection after the answer)."""
    try:
        async with asyncio.timeout(seconds):
            return await request.read()
    except TimeoutError:
        raise BodyTimeout(seconds) from None


def loads_bounded(body: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`json.loads`, refusing (ValueError naming the limit) a document nested deeper than `max_depth` arrays or
    objects, before Python's own recursion limit could turn it into an internal error."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise ValueError(f"JSON nested deeper than {max_depth} levels") from None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > max_depth:
            raise ValueError(f"JSON nested deeper than {max_depth} levels")
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return data
