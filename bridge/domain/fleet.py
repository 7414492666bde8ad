"""Several daemons seen as one fleet: each writes a heartbeat; these rules say which are alive (pure, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


COUNTS_KEPT = timedelta(hours=2)  # per-minute counter rows older than this are pruned ("last hour" needs one)
HOUR = timedelta(hours=1)


def minute_of(when: datetime) -> datetime:
    """The start of the minute `when` falls in: the key of a daemon's counter row."""
    return when.replace(second=0, microsecond=0)


def hour_window(now: datetime) -> datetime:
    """The first minute row that counts as "in the last hour" at `now` (the 60 minutes up to and including now's)."""
    return minute_of(now) - HOUR + timedelta(minutes=1)


@dataclass
class MeterServerState:
    """What one daemon's meter knows of one storage server's audit log (kept in memory, written with each beat)."""

    last_event_at: datetime | None = None  # the newest event's own time (MinIO's clock), UTC
    lag_ms: int = 0  # the last batch written: its newest event's time to the commit
    dropped: int = 0  # entries that failed a check since the daemon started

    def written(self, newest: datetime | None, committed: datetime) -> None:
        if newest is None:
            return
        if self.last_event_at is None or newest > self.last_event_at:
            self.last_event_at = newest
        self.lag_ms = max(0, int((committed - newest).total_seconds() * 1000))


def event_time(text: str) -> datetime | None:
    """An audit entry's RFC 3339 time (MinIO writes nanoseconds: kept to the microsecond), UTC; None if unreadable."""
    head, dot, rest = text.rstrip("Z").partition(".")
    digits = "".join(c for c in rest[:6] if c.isdigit()) if dot else ""
    try:
        base = datetime.strptime(head[:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return base.replace(microsecond=int(digits.ljust(6, "0")) if digits else 0, tzinfo=UTC)
