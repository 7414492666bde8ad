"""Daemon heartbeats (`mod_s3bridge_daemons`): each daemon's id, host, version, start and last beat, in UTC; with each
beat, what the fleet console's Servers page shows of the daemon: its refused calls and overload answers per minute
(`mod_s3bridge_fleet_minutes`) and its meter's state per storage server (`mod_s3bridge_meter_status`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bridge.domain.fleet import COUNTS_KEPT, DaemonBeat, MeterServerState, minute_of
from bridge.whmcs.db import Conn, Database
from bridge.whmcs.drift_store import aware, utc_naive

KEEP = timedelta(days=7)  # a daemon gone this long is forgotten


class Heartbeats:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def beat(self, me: DaemonBeat, now: datetime) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_daemons (daemon_id, hostname, pid, version, started_at, last_seen)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE last_seen = VALUES(last_seen),"
                    " stopped_at = NULL",
                    (me.daemon_id, me.hostname[:255], me.pid, me.version[:32], utc_naive(me.started_at),
                     utc_naive(now)),
                )  # fmt: skip
                cur.execute("DELETE FROM mod_s3bridge_daemons WHERE last_seen < %s", (utc_naive(now - KEEP),))

        await self.db.run(q)

    async def record(
        self, daemon_id: str, now: datetime, *, refused: int, overloaded: int, meter: Mapping[int, MeterServerState]
    ) -> None:
        """Add this beat's new refused calls and overload answers to the minute's row, write the meter's state of
        each server it takes audit posts for, and prune counter rows past COUNTS_KEPT and meter rows of daemons
        forgotten (KEEP): one round trip, a handful of rows per daemon."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                if refused or overloaded:
                    cur.execute(
                        "INSERT INTO mod_s3bridge_fleet_minutes (daemon_id, minute, refused, overloaded)"
                        " VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE refused = refused + VALUES(refused),"
                        " overloaded = overloaded + VALUES(overloaded)",
                        (daemon_id, utc_naive(minute_of(now)), refused, overloaded),
                    )
                if meter:
                    cur.executemany(
                        "INSERT INTO mod_s3bridge_meter_status (daemon_id, serverid, last_event_at, lag_ms, dropped,"
                        " updated_at) VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE"
                        " last_event_at = VALUES(last_event_at), lag_ms = VALUES(lag_ms), dropped = VALUES(dropped),"
                        " updated_at = VALUES(updated_at)",
                        [
                            (daemon_id, serverid, utc_naive(m.last_event_at) if m.last_event_at else None,
                             min(m.lag_ms, 2**32 - 1), m.dropped, utc_naive(now))
                            for serverid, m in sorted(meter.items())
                        ],
                    )  # fmt: skip
                cur.execute("DELETE FROM mod_s3bridge_fleet_minutes WHERE minute < %s", (utc_naive(now - COUNTS_KEPT),))
                cur.execute("DELETE FROM mod_s3bridge_meter_status WHERE updated_at < %s", (utc_naive(now - KEEP),))

        await self.db.run(q)

    async def stopped(self, daemon_id: str, now: datetime) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE mod_s3bridge_daemons SET stopped_at = %s, last_seen = %s WHERE daemon_id = %s",
                    (utc_naive(now), utc_naive(now), daemon_id),
                )

        await self.db.run(q)

    async def all(self) -> list[DaemonBeat]:
        def q(conn: Conn) -> list[DaemonBeat]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT daemon_id, hostname, pid, version, started_at, last_seen, stopped_at"
                    " FROM mod_s3bridge_daemons ORDER BY started_at"
                )
                return [
                    DaemonBeat(
                        str(r["daemon_id"]), str(r["hostname"]), int(r["pid"]), str(r["version"]),
                        aware(r["started_at"]), aware(r["last_seen"]),
                        aware(r["stopped_at"]) if r["stopped_at"] else None,
                    )
                    for r in cur.fetchall()
                ]  # fmt: skip

        return await self.db.run(q)
