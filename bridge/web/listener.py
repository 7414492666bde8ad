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
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from aiohttp import web

from bridge.config import Listen, ListenerLimits
from bridge.logs import get_logger
from bridge.web.guard import ConnectionGuard

log = get_logger("s3bridge.listeners")
LINGER_S = 2.0  # after an early answer (401 before the body, 408) unread body bytes are drained this long, no longer
RESERVED_FILES = 256  # database and storage pools, logs, the meter's and the locks' connections


@dataclass(frozen=True)
class ListenerPlan:
    name: str  # "shim", "api", "meter"
    listen: Listen
    limits: ListenerLimits
    public: bool


def raise_open_file_limit() -> int:
    """Raise this process's soft open-file limit to its hard limit (systemd's LimitNOFILE sets both); returns it."""
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
    """A TCP or unix-socket site whose connections go through a ConnectionGuard."""

    def __init__(self, runner: web.BaseRunner, listen: Listen, guard: ConnectionGuard) -> None:
        super().__init__(runner, backlog=1024)
        self.listen, self.guard = listen, guard

    @property
    def name(self) -> str:
        return self.listen.describe()

    async def start(self) -> None:
        await super().start()
        loop = asyncio.get_running_loop()
        server = self._runner.server
        assert server is not None
        factory = self.guard.wrap(server)
        if self.listen.unix_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.listen.unix_path)  # a stale socket from a crashed run
            self._server = await loop.create_unix_server(factory, self.listen.unix_path, backlog=self._backlog)
            os.chmod(self.listen.unix_path, 0o660)
        else:
            self._server = await loop.create_server(
                factory, self.listen.host, self.listen.port, backlog=self._backlog, reuse_address=True
            )


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
