"""Read-only SQL for what the client area and the admin tab show (history, latest figures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bridge.domain.values import DailyPoint, MonthlyPoint
from bridge.whmcs.bucket_figures import decode as decode_buckets
from bridge.whmcs.db import Conn, Database

RETAINED_OUTCOME = "objects_retained"  # the audit outcome of a Terminate that Object Lock stopped


@dataclass(frozen=True)
class LatestUsage:
    used_bytes: int
    at: datetime | None
    exact: bool
    buckets: dict[str, tuple[int, int]]  # name -> (bytes, objects) from the latest day recorded


class AreaQueries:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def system_language(self) -> str:
        """WHMCS's system language (tblconfiguration `Language`), which a client with language '' sees."""

        def q(conn: Conn) -> str:
            with conn.cursor() as cur:
                cur.execute("SELECT value FROM tblconfiguration WHERE setting = 'Language'")
                row = cur.fetchone()
            return str(row["value"]) if row else ""

        return await self.db.run(q)

    async def retained_note(self, serviceid: int) -> str:
        """What the latest Terminate said it could not delete (Object Lock), or ''."""

        def q(conn: Conn) -> str:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT detail FROM mod_s3bridge_audit WHERE serviceid = %s AND outcome = %s"
                    " ORDER BY id DESC LIMIT 1",
                    (serviceid, RETAINED_OUTCOME),
                )
                row = cur.fetchone()
                return str(row["detail"]) if row else ""

        return await self.db.run(q)

    async def unreadable_traffic(self, serverid: int) -> list[str]:
        """Statistics objects of the server the last collections could not read (oldest first)."""

        def q(conn: Conn) -> list[str]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT source FROM mod_s3bridge_traffic_unreadable WHERE serverid = %s"
                    " ORDER BY first_seen, source",
                    (serverid,),
                )
                return [str(r["source"]) for r in cur.fetchall()]

        return await self.db.run(q)

    async def latest(self, serviceid: int) -> LatestUsage:
        def q(conn: Conn) -> LatestUsage:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT used_bytes, usage_at, usage_exact FROM mod_s3bridge_services WHERE serviceid = %s",
                    (serviceid,),
                )
                s: dict[str, Any] = cur.fetchone() or {"used_bytes": 0, "usage_at": None, "usage_exact": 0}
                cur.execute(  # the breakdown of the service's latest day (bridge.whmcs.bucket_figures)
                    "SELECT bucket_figures FROM mod_s3bridge_usage_daily WHERE serviceid = %s"
                    " ORDER BY day DESC LIMIT 1",
                    (serviceid,),
                )
                day = cur.fetchone()
                buckets = decode_buckets(day["bucket_figures"] if day else None)
            return LatestUsage(int(s["used_bytes"]), s["usage_at"], bool(s["usage_exact"]), buckets)

        return await self.db.run(q)

    async def daily(self, serviceid: int, since: date) -> tuple[DailyPoint, ...]:
        def q(conn: Conn) -> tuple[DailyPoint, ...]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT day, used_bytes FROM mod_s3bridge_usage_daily WHERE serviceid = %s AND day >= %s"
                    " ORDER BY day",
                    (serviceid, since),
                )
                return tuple(DailyPoint(r["day"], int(r["used_bytes"])) for r in cur.fetchall())

        return await self.db.run(q)

    async def monthly(self, serviceid: int) -> tuple[MonthlyPoint, ...]:
        def q(conn: Conn) -> tuple[MonthlyPoint, ...]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT DATE_FORMAT(day, '%%Y-%%m') AS month, AVG(used_bytes) AS avg_bytes"
                    " FROM mod_s3bridge_usage_daily WHERE serviceid = %s GROUP BY month ORDER BY month",
                    (serviceid,),
                )
                return tuple(MonthlyPoint(r["month"], int(r["avg_bytes"])) for r in cur.fetchall())

        return await self.db.run(q)
