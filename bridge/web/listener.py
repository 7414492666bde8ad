"""One listener: an aiohttp application on a TCP address or a unix socket, behind a `ConnectionGuard`.

`open_file_budget` shares the process's open-file limit between listeners: the shim's listener (loopback, signed)
is given its share first, and the public ones (`[api]`, `[meter]`) get at most what is left, so no flood of
connections on a public port can leave the shim without a file descriptor.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web

from bridge.config import Listen, ListenerLimits
from bridge.logs import get_logger
from bridge.web.guard import ConnectionGuard

log = get_logger("s3bridge.listeners")
LINGER_S = 2.0  # after an early answer (401 before the body, 408) unread body bytes are drained this long, no longer
RESERVED_FILES = 256  # database and storage pools, logs, the meter's and the locks' connections
BACKLOG = 1024  # connections the kernel holds for a listener at its cap (or between two accepts)


@dataclass(frozen=True)
class ListenerPlan:
    name: str  # "shim", "api", "meter"
    listen: Listen
    limits: ListenerLimits
    public: bool


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit; returns it. Under the shipped unit both are
    LimitNOFILE, so nothing is called (its system-call filter leaves out @resources)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1_048_576 if hard == resource.RLIM_INFINITY else hard
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_file_budget(plans: Sequence[ListenerPlan], open_files: int) -> dict[str, int]:
    """How many connections each listener may hold open at once. The shim's listener is served first: when it runs
    in the same process, the public listeners together get at most half of the files left after the pools' reserve
    (shared evenly), and the shim keeps the rest; each listener at most its own `max_connections`."""
    left = max(open_files - RESERVED_FILES, 2)
    public = [p for p in plans if p.public]
    private = [p for p in plans if not p.public]
    public_room = left // 2 if private else left
    caps = {p.name: max(1, min(p.limits.max_connections, public_room // len(public))) for p in public}
    private_room = left - sum(caps.values())
    caps |= {p.name: max(1, min(p.limits.max_connections, private_room // len(private))) for p in private}
    return caps


class GuardedSite(web.BaseSite):
    """A TCP or unix-socket site that accepts a connection only while its guard has room (`ConnectionGuard`), and
    hands each one to aiohttp through the guard."""

    def __init__(self, runner: web.BaseRunner, listen: Listen, guard: ConnectionGuard) -> None:
        super().__init__(runner, backlog=BACKLOG)
        self.listen, self.guard = listen, guard
        self.sock: socket.socket | None = None
        self.accepting: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self.listen.describe()

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        if self.listen.unix_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen.unix_path)  # a stale socket from a crashed run
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.bind(self.listen.unix_path)
            sock.listen(self._backlog)
            os.chmod(self.listen.unix_path, 0o660)
        else:
            family = socket.AF_INET6 if ":" in self.listen.host else socket.AF_INET
            sock = socket.create_server((self.listen.host, self.listen.port), family=family, backlog=self._backlog)
        sock.setblocking(False)
        self.sock = sock
        self.accepting = asyncio.create_task(self._accept(sock, self.guard.wrap(server)), name=f"accept-{self.name}")

    async def _accept(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self.guard.room.wait()  # at the cap, connections wait in the kernel's backlog
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as e:  # EMFILE and the like: the process is out of something; wait, then go on
                log.warning("accept_failed", listener=self.guard.name, error=e.strerror)
                await asyncio.sleep(0.1)
                continue
            try:
                await loop.connect_accepted_socket(factory, conn)
            except OSError:
                conn.close()

    async def stop(self) -> None:
        if self.accepting is not None:
            self.accepting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.accepting
        if self.sock is not None:
            self.sock.close()
        await super().stop()


@contextlib.asynccontextmanager
async def listening(
    app: web.Application, plan: ListenerPlan, max_connections: int, shutdown_timeout: float
) -> AsyncIterator[ConnectionGuard]:
    """Serve `app` on the plan's address until the block ends; then stop accepting and finish calls in flight."""
    guard = ConnectionGuard(plan.name, plan.limits, max_connections)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        keepalive_timeout=plan.limits.keepalive_timeout,
        lingering_time=LINGER_S,
    )
    await runner.setup()
    try:
        await GuardedSite(runner, plan.listen, guard).start()
        log.info("listening", listener=plan.name, address=plan.listen.describe(), max_connections=max_connections)
        yield guard
    finally:
        await runner.cleanup()
        log.info("listener_stopped", listener=plan.name, refused=guard.stats.refused,
                 head_timeouts=guard.stats.head_timeouts)  # fmt: skip
