"""Several daemons seen as one fleet: each writes a heartbeat; these rules say which are alive (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

BEAT_EVERY = timedelta(seconds=15)
GONE_AFTER = timedelta(seconds=45)  # three missed beats: a daemon that stops shows as gone within a minute

DaemonState = Literal["alive", "stopped", "gone"]


@dataclass(frozen=True)
class DaemonBeat:
    daemon_id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime
    last_seen: datetime
    stopped_at: datetime | None = None


def state_of(beat: DaemonBeat, now: datetime) -> DaemonState:
    """`stopped` when it said goodbye, `gone` when its beats stopped without one, else `alive`."""
    if beat.stopped_at is not None:
        return "stopped"
    return "gone" if now - beat.last_seen > GONE_AFTER else "alive"
