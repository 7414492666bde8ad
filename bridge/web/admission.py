"""Overload protection: per storage server, at most `max_running` module calls run at once and at most `max_queued`
wait; past that the call is refused at once with Busy (503 + Retry-After) instead of piling up. Memory stays bounded:
a gate exists only while a call for its server runs or waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bridge.errors import Busy


@dataclass
class _Gate:
    slots: asyncio.Semaphore
    waiting: int = 0
    users: int = 0


class Admission:
    def __init__(self, max_running: int, max_queued: int, retry_after: int) -> None:
        self.max_running, self.max_queued, self.retry_after = max_running, max_queued, retry_after
        self._gates: dict[str, _Gate] = {}

    @contextlib.asynccontextmanager
    async def admit(self, server: str) -> AsyncIterator[None]:
        gate = self._gates.get(server)
        if gate is None:
            gate = self._gates[server] = _Gate(asyncio.Semaphore(self.max_running))
        if gate.slots.locked() and gate.waiting >= self.max_queued:
            raise Busy(
                f"the s3bridge daemon is at capacity for storage server {server or '(none)'}: {self.max_running}"
                f" calls running and {gate.waiting} waiting; retry in {self.retry_after} s",
                retry_after=self.retry_after,
                code="overloaded",
            )
        gate.users += 1
        try:
            gate.waiting += 1
            try:
                await gate.slots.acquire()
            finally:
                gate.waiting -= 1
            try:
                yield
            finally:
                gate.slots.release()
        finally:
            gate.users -= 1
            if gate.users == 0:
                del self._gates[server]

    def __len__(self) -> int:
        return len(self._gates)

    def depth(self) -> tuple[int, int]:
        """(calls running, calls waiting) over every storage server now."""
        waiting = sum(g.waiting for g in self._gates.values())
        running = sum(g.users - g.waiting for g in self._gates.values())
        return running, waiting
