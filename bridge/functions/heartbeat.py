"""This daemon's heartbeat: a beat every 15 s in the database (so every daemon sees the fleet), a goodbye on a clean
stop, and the fleet as the last beat read it (the metrics and the Servers page show it). Each beat also writes what
the Servers page shows of this daemon: the calls it refused and answered 'overloaded' since the last beat, and its
meter's state per storage server (when it runs the meter)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Protocol

from bridge import metrics
from bridge.domain.fleet import BEAT_EVERY, DaemonBeat, MeterServerState, state_of
from bridge.errors import BridgeError
from bridge.functions.context import Resources
from bridge.logs import get_logger

log = get_logger("s3bridge.heartbeat")


class MeterStates(Protocol):
    """The meter's per-server state (bridge.functions.meter.ingest.Meter)."""

    by_server: dict[int, MeterServerState]


def _counted() -> tuple[int, int]:
    return metrics.total(metrics.REFUSED), metrics.total(metrics.OVERLOADED)


class Heartbeat:
    def __init__(self, resources: Resources, version: str, *, every_s: float = BEAT_EVERY.total_seconds()) -> None:
        self.resources = resources
        self.store = resources.stores.heartbeats
        self.every_s = every_s
        now = resources.now()
        host = socket.gethostname()
        self.me = DaemonBeat(f"{host}:{os.getpid()}:{secrets.token_hex(3)}", host, os.getpid(), version, now, now)
        self.fleet: list[DaemonBeat] = []
        self._task: asyncio.Task[None] | None = None
        self.meter: MeterStates | None = None  # set when this daemon runs the meter
        self._written = _counted()  # what the database holds of this process's counters (from here on)

    def start(self) -> None:
        metrics.STARTED.set(self.me.started_at.timestamp())
        metrics.UP.set(1)
        metrics.INFO.labels(self.me.version).set(1)
        self._task = asyncio.create_task(self._run(), name="s3bridge-heartbeat")

    async def beat_once(self) -> None:
        now = self.resources.now()
        await self.store.beat(self.me, now)
        counted = _counted()
        refused, overloaded = (max(0, c - w) for c, w in zip(counted, self._written, strict=True))
        meter = {k: replace(v) for k, v in self.meter.by_server.items()} if self.meter is not None else {}
        await self.store.record(self.me.daemon_id, now, refused=refused, overloaded=overloaded, meter=meter)
        self._written = counted  # only once written: a beat that fails leaves the counts for the next
        self.fleet = await self.store.all()

    async def _run(self) -> None:
        while True:
            try:
                await self.beat_once()
            except BridgeError as e:  # the database is away: the next beat tries again
                log.warning("heartbeat_failed", error=e.message)
            await asyncio.sleep(self.every_s)

    async def close(self) -> None:
        metrics.UP.set(0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(BridgeError):
            await self.store.stopped(self.me.daemon_id, self.resources.now())

    def samples(self) -> Iterator[metrics.Sample]:
        """Daemons per state, as of the last beat."""
        now = self.resources.now()
        counts = {"alive": 0, "stopped": 0, "gone": 0}
        for beat in self.fleet:
            counts[state_of(beat, now)] += 1
        for state, n in counts.items():
            yield metrics.Sample(
                "s3bridge_fleet_daemons", "Daemons on this WHMCS database by state (heartbeats)", "gauge", n,
                (("state", state),),
            )  # fmt: skip
