"""The SQL of usage: what services a server has (with their product settings and client), the batched tblhosting
write, daily history with retention, and the per-service limit state. Every query is parameterized."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from bridge.domain.usage_rules import LimitState, ServiceUsage, whmcs_mb
from bridge.domain.values import TrafficRecord
from bridge.whmcs.db import Conn, Database

SKIPPED_STATUSES = ("Terminated", "Cancelled", "Fraud")


def whmcs_time(when: datetime) -> datetime:
    """WHMCS writes its datetime columns in the server's local time, without a zone: so do we in its tables."""
    return when.astimezone().replace(tzinfo=None) if when.tzinfo else when


CHUNK = 500


@dataclass(frozen=True)
class ServiceRow:
    """A provisioned service on one server, as usage collection sees it."""

    serviceid: int
    username: str
    backend_user_id: str
    state: LimitState
    params: dict[str, Any]  # configoption1..24 of its product, the shape parse_product() takes
    product_name: str
    client_name: str
    language: str
    status: str


_OPTION_COLUMNS = ", ".join(f"p.configoption{i}" for i in range(1, 25))


class UsageStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def services_of_server(self, serverid: int, serviceid: int | None = None) -> list[ServiceRow]:
        """Live accounts on this server whose WHMCS service is not Terminated, Cancelled or Fraud."""
        marks = ", ".join(["%s"] * len(SKIPPED_STATUSES))
        where = "s.serverid = %s AND s.state IN ('active', 'suspended') AND h.domainstatus NOT IN (" + marks + ")"
        args: list[Any] = [serverid, *SKIPPED_STATUSES]
        if serviceid is not None:
            where += " AND s.serviceid = %s"
            args.append(serviceid)
        sql = (
            "SELECT s.serviceid, s.username, s.backend_user_id, s.policy, s.warned, s.over_limit, h.domainstatus,"  # noqa: S608
            " p.name AS product_name,"
            " c.firstname, c.lastname,"
            # a client's language '' is WHMCS's "Default": the system language (tblconfiguration Language)
            " COALESCE(NULLIF(c.language, ''), (SELECT value FROM tblconfiguration WHERE setting = 'Language'))"
            f" AS language, {_OPTION_COLUMNS}"
            " FROM mod_s3bridge_services s"
            " JOIN tblhosting h ON h.id = s.serviceid"
            " LEFT JOIN tblproducts p ON p.id = h.packageid"
            " LEFT JOIN tblclients c ON c.id = h.userid"
            f" WHERE {where}"
        )

        def q(conn: Conn) -> list[dict[str, Any]]:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())

        rows = await self.db.run(q)
        return [
            ServiceRow(
                serviceid=int(r["serviceid"]),
                username=str(r["username"]),
                backend_user_id=str(r["backend_user_id"]),
                state=LimitState(policy=r["policy"], warned=bool(r["warned"]), over_limit=bool(r["over_limit"])),
                params={f"configoption{i}": r[f"configoption{i}"] for i in range(1, 25)},
                product_name=str(r["product_name"] or ""),
                client_name=" ".join(x for x in (r["firstname"], r["lastname"]) if x),
                language=str(r["language"] or ""),
                status=str(r["domainstatus"]),
            )
            for r in rows
        ]

    async def write_usage(self, usages: Sequence[tuple[ServiceUsage, int]], when: datetime, exact: bool) -> None:
        """tblhosting diskusage/disklimit/lastupdate for many services in one statement per 500 (matched by id),
        and the daemon's own copy of the figures."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                for start in range(0, len(usages), CHUNK):
                    chunk = usages[start : start + CHUNK]
                    ids = [u.serviceid for u, _ in chunk]
                    du_case = " ".join(["WHEN %s THEN %s"] * len(chunk))
                    marks = ", ".join(["%s"] * len(chunk))
                    args: list[Any] = []
                    for u, _ in chunk:  # clamped per row: one huge product must not fail every row's write
                        args += [u.serviceid, whmcs_mb(u.bytes)]
                    for u, limit in chunk:
                        args += [u.serviceid, whmcs_mb(limit)]
                    cur.execute(
                        f"UPDATE tblhosting SET diskusage = CASE id {du_case} END,"  # noqa: S608 - placeholders only
                        f" disklimit = CASE id {du_case} END, lastupdate = %s WHERE id IN ({marks})",
                        [*args, whmcs_time(when), *ids],
                    )
                    cur.executemany(
                        "UPDATE mod_s3bridge_services SET used_bytes = %s, usage_at = %s, usage_exact = %s"
                        " WHERE serviceid = %s",
                        [(u.bytes, when, int(exact), u.serviceid) for u, _ in chunk],
                    )

        await self.db.run(q)

    async def write_history(self, usages: Iterable[ServiceUsage], day: date) -> None:
        usages = list(usages)
        service_rows = [(u.serviceid, day, u.bytes, u.objects, len(u.buckets)) for u in usages]
        bucket_rows = [(u.serviceid, b.name, day, b.size, b.objects) for u in usages for b in u.buckets]

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                if service_rows:
                    cur.executemany(
                        "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
                        " VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE used_bytes = VALUES(used_bytes),"
                        " objects = VALUES(objects), buckets = VALUES(buckets)",
                        service_rows,
                    )
                if bucket_rows:
                    cur.executemany(
                        "INSERT INTO mod_s3bridge_bucket_usage_daily (serviceid, bucket, day, used_bytes, objects)"
                        " VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE used_bytes = VALUES(used_bytes),"
                        " objects = VALUES(objects)",
                        bucket_rows,
                    )

        await self.db.run(q)

    async def apply_retention(self, keep_days: dict[int, int], today: date) -> int:
        """Delete history older than each service's product retention. Returns rows deleted."""
        by_days: dict[int, list[int]] = {}
        for sid, days in keep_days.items():
            by_days.setdefault(days, []).append(sid)

        def q(conn: Conn) -> int:
            deleted = 0
            with conn.cursor() as cur:
                for days, sids in by_days.items():
                    cutoff = date.fromordinal(today.toordinal() - days)
                    for start in range(0, len(sids), CHUNK):
                        chunk = sids[start : start + CHUNK]
                        marks = ", ".join(["%s"] * len(chunk))
                        for table in ("mod_s3bridge_usage_daily", "mod_s3bridge_bucket_usage_daily"):
                            deleted += cur.execute(
                                f"DELETE FROM {table} WHERE day < %s AND serviceid IN ({marks})",  # noqa: S608
                                [cutoff, *chunk],
                            )
            return deleted

        return await self.db.run(q)

    async def store_traffic(self, serverid: int, source: str, records: Sequence[TrafficRecord]) -> None:
        """One statistics object's rows, committed before the caller deletes the object. Idempotent by
        (source, owner, bucket): collecting the same object again after a crash adds nothing."""
        rows = [
            (
                r.source or source,
                r.owner_id,
                r.bucket,
                serverid,
                datetime.fromtimestamp(r.period_start, UTC).replace(tzinfo=None),
                r.period_s,
                r.ops_put,
                r.ops_get,
                r.ops_list,
                r.ops_other,
                r.bytes_in,
                r.bytes_out,
            )
            for r in records
        ]

        def q(conn: Conn) -> None:
            if rows:
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT IGNORE INTO mod_s3bridge_traffic (source, owner_id, bucket, serverid, period_start,"
                        " period_s, ops_put, ops_get, ops_list, ops_other, bytes_in, bytes_out)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        rows,
                    )

        await self.db.run(q)

    async def note_unreadable_traffic(self, serverid: int, sources: Sequence[str], *, complete: bool) -> None:
        """The statistics objects of a server that could not be read (kept on the gateway, shown on the admin tab).
        A `complete` collection saw every object, so objects no longer listed (fixed or removed on the gateway) go."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                if complete:
                    cur.execute("DELETE FROM mod_s3bridge_traffic_unreadable WHERE serverid = %s", (serverid,))
                if sources:
                    cur.executemany(
                        "INSERT INTO mod_s3bridge_traffic_unreadable (serverid, source) VALUES (%s, %s)"
                        " ON DUPLICATE KEY UPDATE last_seen = CURRENT_TIMESTAMP",
                        [(serverid, s[:255]) for s in sources],
                    )

        await self.db.run(q)

    async def write_bandwidth(self, serverid: int, month_start: date) -> int:
        """tblhosting.bwusage (MB) of this month for every service of the server with traffic records: one batched
        write. Returns how many services got a figure."""

        def q(conn: Conn) -> int:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT s.serviceid, SUM(t.bytes_in + t.bytes_out) AS bytes FROM mod_s3bridge_traffic t"
                    " JOIN mod_s3bridge_services s ON s.serverid = t.serverid AND s.backend_user_id = t.owner_id"
                    " WHERE t.serverid = %s AND t.period_start >= %s AND s.backend_user_id <> ''"
                    " GROUP BY s.serviceid",
                    (serverid, month_start),
                )
                totals = [(int(r["serviceid"]), whmcs_mb(int(r["bytes"]))) for r in cur.fetchall()]
                for start in range(0, len(totals), CHUNK):
                    chunk = totals[start : start + CHUNK]
                    case = " ".join(["WHEN %s THEN %s"] * len(chunk))
                    marks = ", ".join(["%s"] * len(chunk))
                    args: list[Any] = [x for pair in chunk for x in pair]
                    cur.execute(
                        f"UPDATE tblhosting SET bwusage = CASE id {case} END WHERE id IN ({marks})",  # noqa: S608
                        [*args, *(sid for sid, _ in chunk)],
                    )
            return len(totals)

        return await self.db.run(q)

    async def server_record(self, serverid: int) -> dict[str, Any]:
        """The tblservers row WHMCS builds a module's server params from, decoded as WHMCS decodes it (its text
        columns are stored HTML-encoded). Empty when there is no such server."""

        def q(conn: Conn) -> dict[str, Any]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT hostname, ipaddress, username, accesshash, secure, port FROM tblservers WHERE id = %s",
                    (serverid,),
                )
                return dict(cur.fetchone() or {})

        row = await self.db.run(q)
        return {k: html.unescape(v) if isinstance(v, str) else v for k, v in row.items()}

    async def save_state(self, serviceid: int, state: LimitState) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE mod_s3bridge_services SET policy = %s, warned = %s, over_limit = %s WHERE serviceid = %s",
                    (state.policy, int(state.warned), int(state.over_limit), serviceid),
                )

        await self.db.run(q)
