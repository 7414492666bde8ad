"""Daemon heartbeats (`mod_s3bridge_daemons`): each daemon's id, host, version, start and last beat, in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta

from bridge.domain.fleet import DaemonBeat
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
