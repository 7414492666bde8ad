"""The SQL of traffic metering: deduplicated batches of audit events into per-service counters, the figures the
disk estimate starts from, this month's bandwidth into tblhosting, and history for charts and usage metrics.

One batch is one transaction: the request ids, the traffic counters and the disk deltas commit together, and MinIO
gets its 200 only after the commit. A batch MinIO sends again (its answer was lost, or we crashed before answering)
finds its ids already stored and adds nothing; one that never committed counts in full when it comes back. Several
daemons may ingest at once: InnoDB's unique key on the ids decides which one counts an event.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bridge.domain.audit_events import AuditEvent
from bridge.domain.traffic import Billing, Figure, FigureSource, Rollup, TrafficCounts, estimate
from bridge.domain.usage_rules import MB, WHMCS_MB_MAX, whmcs_mb
from bridge.whmcs.batch import CHUNK
from bridge.whmcs.db import Conn, Database
from bridge.whmcs.usage_store import SKIPPED_STATUSES

PRUNE_ROWS = 50_000
TRAFFIC_COLUMNS = ("bytes_in", "bytes_out", "req_read", "req_write", "req_list", "req_delete", "req_other")
# req_refused (requests refused to someone else, billed to nobody) is kept beside them, never in a billed figure.


def _second(text: str) -> datetime:
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")


@dataclass(frozen=True)
class DayTraffic:
    day: date
    bytes_in: int
    bytes_out: int
    requests: dict[str, int]


@dataclass(frozen=True)
class TenantMonth:
    serviceid: int
    tenant: str
    bytes_in: int
    bytes_out: int
    requests: int


class MeterStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def usernames_of_server(self, serverid: int) -> dict[str, int]:
        """username -> serviceid of the live accounts on a server (what events are attributed to)."""

        def q(conn: Conn) -> dict[str, int]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT username, serviceid FROM mod_s3bridge_services WHERE serverid = %s"
                    " AND state IN ('creating', 'active', 'suspended')",
                    (serverid,),
                )
                return {str(r["username"]): int(r["serviceid"]) for r in cur.fetchall()}

        return await self.db.run(q)

    async def save_server(self, serverid: int, sealed: bytes) -> None:
        """A storage server's params, sealed by the caller (bridge.functions.meter.servers)."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_meter_servers (serverid, sealed) VALUES (%s, %s)"
                    " ON DUPLICATE KEY UPDATE sealed = VALUES(sealed)",
                    (serverid, sealed),
                )

        await self.db.run(q)

    async def load_server(self, serverid: int) -> bytes | None:
        def q(conn: Conn) -> bytes | None:
            with conn.cursor() as cur:
                cur.execute("SELECT sealed FROM mod_s3bridge_meter_servers WHERE serverid = %s", (serverid,))
                row = cur.fetchone()
                return bytes(row["sealed"]) if row else None

        return await self.db.run(q)

    async def commit_batch(
        self,
        serverid: int,
        events: Sequence[tuple[int, AuditEvent, Billing]],
        count: Callable[[list[tuple[int, AuditEvent, Billing]]], Rollup],
    ) -> Rollup:
        """Store the ids of `events` (service id, event, billing), and the rollup `count` makes of those not seen
        before, in one transaction. Every value written is bounded by the decoder (bridge.domain.audit_events), so
        no event can make the statement fail for the others."""
        batch = secrets.randbits(63)

        def q(conn: Conn) -> Rollup:
            with conn.cursor() as cur:
                fresh: list[tuple[int, AuditEvent, Billing]] = list(events)
                if events:
                    # Ints and hex digits only, formatted here: pymysql's per-value escaping was a third of the
                    # ingest's CPU time (bench/metering.py). Nothing from the request reaches the SQL text.
                    head = f"({int(serverid)},{int(batch)},X'"
                    values = ",".join([f"{head}{e.key.hex()}')" for _, e, _ in events])
                    inserted = cur.execute(
                        "INSERT IGNORE INTO mod_s3bridge_audit_seen (serverid, batch, event_key) VALUES " + values  # noqa: S608
                    )
                    if inserted != len(events):  # some were seen before (a resend), or twice in this batch
                        cur.execute("SELECT event_key FROM mod_s3bridge_audit_seen WHERE batch = %s", (batch,))
                        mine = {bytes(r["event_key"]) for r in cur.fetchall()}
                        fresh = []
                        for sid, e, billing in events:
                            if e.key in mine:
                                mine.discard(e.key)
                                fresh.append((sid, e, billing))
                r = count(fresh)
                self._write_rollup(cur, r)
                return r

        return await self.db.run(q)

    @staticmethod
    def _write_rollup(cur: Any, r: Rollup) -> None:
        """Multi-row upserts written as literals: every value is an int, or a day or minute re-formatted from a
        parsed date (pymysql's per-value escaping cost more than the rest of the ingest together)."""
        if r.traffic:
            rows = ",".join(
                [
                    f"({int(sid)},'{date.fromisoformat(day).isoformat()}',{int(t.bytes_in)},{int(t.bytes_out)},"
                    f"{int(t.read)},{int(t.write)},{int(t.list)},{int(t.delete)},{int(t.other)},{int(t.refused)})"
                    for (sid, day), t in sorted(r.traffic.items())
                ]
            )
            cur.execute(
                "INSERT INTO mod_s3bridge_traffic_daily (serviceid, day, bytes_in, bytes_out, req_read, req_write,"  # noqa: S608
                f" req_list, req_delete, req_other, req_refused) VALUES {rows}"
                " ON DUPLICATE KEY UPDATE bytes_in = bytes_in + VALUES(bytes_in),"
                " bytes_out = bytes_out + VALUES(bytes_out), req_read = req_read + VALUES(req_read),"
                " req_write = req_write + VALUES(req_write), req_list = req_list + VALUES(req_list),"
                " req_delete = req_delete + VALUES(req_delete), req_other = req_other + VALUES(req_other),"
                " req_refused = req_refused + VALUES(req_refused)"
            )
        if r.disk:
            rows = ",".join(
                [
                    f"({int(sid)},'{_second(m):%Y-%m-%d %H:%M:%S}',{int(d.written)},{int(d.deleted)})"
                    for (sid, m), d in sorted(r.disk.items())
                ]
            )
            cur.execute(
                f"INSERT INTO mod_s3bridge_disk_writes (serviceid, minute, written, deleted) VALUES {rows}"  # noqa: S608
                " ON DUPLICATE KEY UPDATE written = written + VALUES(written), deleted = deleted + VALUES(deleted)"
            )

    async def prune(self, seen_hours: int, disk_before: datetime) -> int:
        """Forget request ids older than the resend window (by the database's clock, which stamped them) and disk
        deltas older than any figure still in use."""

        def q(conn: Conn) -> int:
            with conn.cursor() as cur:
                n = cur.execute(
                    "DELETE FROM mod_s3bridge_audit_seen WHERE seen_at < NOW() - INTERVAL %s HOUR LIMIT %s",
                    (int(seen_hours), PRUNE_ROWS),
                )
                n += cur.execute("DELETE FROM mod_s3bridge_disk_writes WHERE minute < %s", (disk_before,))
                # Per-second rows before a service's figure are never read again (a hostile tenant writing every
                # second would otherwise keep 35 days of them): an hour's margin, in chunks.
                n += cur.execute(
                    "DELETE FROM mod_s3bridge_disk_writes WHERE (serviceid, minute) IN (SELECT * FROM ("
                    " SELECT w.serviceid, w.minute FROM mod_s3bridge_disk_writes w JOIN mod_s3bridge_services s"
                    " ON s.serviceid = w.serviceid WHERE s.figure_at IS NOT NULL"
                    " AND w.minute < s.figure_at - INTERVAL 1 HOUR LIMIT %s) AS old)",
                    (PRUNE_ROWS,),
                )
            return n

        total = 0
        for _ in range(100):  # chunks of PRUNE_ROWS, each its own short transaction, so ingest is not held up long
            n = await self.db.run(q)
            total += n
            if n < PRUNE_ROWS:
                break
        return total

    async def figures(self, serviceids: Iterable[int]) -> dict[int, Figure]:
        """Each service's used bytes now: its last figure (scan or listing) plus the disk deltas since it."""
        ids = sorted(set(serviceids))

        def q(conn: Conn) -> dict[int, Figure]:
            out: dict[int, Figure] = {}
            with conn.cursor() as cur:
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start : start + CHUNK]
                    marks = ", ".join(["%s"] * len(chunk))
                    # Disk deltas are kept per second (the `minute` column holds the second since migration 12).
                    # Writes of the figure's own second count (they may have come after it: errs high); deletes of
                    # that second do not (they may have come before it, and the figure already left them out:
                    # counting them would err low, which a tenant could use to write past the limit).
                    cur.execute(
                        "SELECT s.serviceid, s.used_bytes, s.figure_source,"  # noqa: S608 - placeholders only
                        " COALESCE(SUM(w.written), 0) AS written,"
                        " COALESCE(SUM(CASE WHEN s.figure_at IS NULL OR w.minute > s.figure_at THEN w.deleted END), 0)"
                        " AS deleted"
                        " FROM mod_s3bridge_services s LEFT JOIN mod_s3bridge_disk_writes w"
                        " ON w.serviceid = s.serviceid AND w.minute >= COALESCE(s.figure_at, '1970-01-01')"
                        f" WHERE s.serviceid IN ({marks}) GROUP BY s.serviceid, s.used_bytes, s.figure_source",
                        chunk,
                    )
                    for r in cur.fetchall():
                        src: FigureSource = "listing" if r["figure_source"] == "listing" else "scan"
                        out[int(r["serviceid"])] = estimate(
                            int(r["used_bytes"]), src, int(r["written"]), int(r["deleted"])
                        )
            return out

        return await self.db.run(q)

    async def decision_of(self, serviceid: int) -> dict[str, Any] | None:
        def q(conn: Conn) -> dict[str, Any] | None:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT decided_by, decided_bytes, decided_at, used_bytes, figure_at, figure_source"
                    " FROM mod_s3bridge_services WHERE serviceid = %s",
                    (serviceid,),
                )
                return cur.fetchone()

        return await self.db.run(q)

    async def rollup_ostor(self, serverid: int, since: date) -> None:
        """ostor's statistics objects (mod_s3bridge_traffic_sums, one row per object, user and day) into the same
        daily rows MinIO's audit stream feeds: recomputed per day from the stored objects, so collecting again
        changes nothing."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_traffic_daily (serviceid, day, bytes_in, bytes_out, req_read, req_write,"
                    " req_list, req_delete, req_other)"
                    " SELECT s.serviceid, t.day, SUM(t.bytes_in), SUM(t.bytes_out), SUM(t.ops_get),"
                    " SUM(t.ops_put), SUM(t.ops_list), 0, SUM(t.ops_other) FROM mod_s3bridge_traffic_sums t"
                    " JOIN mod_s3bridge_services s ON s.serverid = t.serverid AND s.backend_user_id = t.owner_id"
                    " WHERE t.serverid = %s AND t.day >= %s AND s.backend_user_id <> ''"
                    " GROUP BY s.serviceid, t.day"
                    " ON DUPLICATE KEY UPDATE bytes_in = VALUES(bytes_in), bytes_out = VALUES(bytes_out),"
                    " req_read = VALUES(req_read), req_write = VALUES(req_write), req_list = VALUES(req_list),"
                    " req_delete = VALUES(req_delete), req_other = VALUES(req_other)",
                    (serverid, since),
                )

        await self.db.run(q)

    async def write_bandwidth(self, serverid: int, month_start: date) -> int:
        """tblhosting.bwusage (MB, bytes in + out since the first of the month) and bwlimit (the product's
        bandwidth limit, tblproducts.overagesbwlimit, MB) for every live service of the server whose figures
        differ from tblhosting's: one batched write per 500 of those, none when nothing changed. Returns how many
        services were written."""

        def q(conn: Conn) -> int:
            marks = ", ".join(["%s"] * len(SKIPPED_STATUSES))
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT s.serviceid, COALESCE(p.overagesbwlimit, 0) AS bwlimit, h.bwusage AS was_usage,"  # noqa: S608
                    " h.bwlimit AS was_limit,"
                    " COALESCE(SUM(d.bytes_in + d.bytes_out), 0) AS bytes FROM mod_s3bridge_services s"
                    " JOIN tblhosting h ON h.id = s.serviceid LEFT JOIN tblproducts p ON p.id = h.packageid"
                    " LEFT JOIN mod_s3bridge_traffic_daily d ON d.serviceid = s.serviceid AND d.day >= %s"
                    f" WHERE s.serverid = %s AND s.state IN ('active', 'suspended') AND h.domainstatus NOT IN ({marks})"
                    " GROUP BY s.serviceid, p.overagesbwlimit, h.bwusage, h.bwlimit"
                    # Only rows whose figures differ come back (whmcs_mb in integer SQL: ceil to whole MB, clamped),
                    # so a cycle with no new traffic reads no rows; the check below stays the one that decides.
                    f" HAVING LEAST((COALESCE(SUM(d.bytes_in + d.bytes_out), 0) + {MB - 1}) DIV {MB}, {WHMCS_MB_MAX})"
                    f" <> h.bwusage OR LEAST(GREATEST(COALESCE(p.overagesbwlimit, 0), 0), {WHMCS_MB_MAX}) <> h.bwlimit",
                    (month_start, serverid, *SKIPPED_STATUSES),
                )
                rows: list[tuple[int, int, int]] = []
                for r in cur.fetchall():
                    mb, limit = whmcs_mb(int(r["bytes"])), min(max(0, int(r["bwlimit"])), WHMCS_MB_MAX)
                    if (mb, limit) != (int(r["was_usage"]), int(r["was_limit"])):  # only what changed is written
                        rows.append((int(r["serviceid"]), mb, limit))
                for start in range(0, len(rows), CHUNK):
                    chunk = rows[start : start + CHUNK]
                    case = " ".join(["WHEN %s THEN %s"] * len(chunk))
                    ids = ", ".join(["%s"] * len(chunk))
                    usage = [x for sid, mb, _ in chunk for x in (sid, mb)]
                    limits = [x for sid, _, lim in chunk for x in (sid, lim)]
                    cur.execute(
                        f"UPDATE tblhosting SET bwusage = CASE id {case} END,"  # noqa: S608 - placeholders only
                        f" bwlimit = CASE id {case} END WHERE id IN ({ids})",
                        [*usage, *limits, *(sid for sid, _, _ in chunk)],
                    )
            return len(rows)

        return await self.db.run(q)

    async def month_by_tenant(
        self, serverid: int, month_start: date, tenant: str | None = None, month_end: date | None = None
    ) -> list[TenantMonth]:
        """A month's traffic (from `month_start`, to `month_end` inclusive or so far) of every live service of a
        server, keyed as WHMCS keys usage metrics: by tblhosting.username (ListAccountsUniqueIdentifierField)."""
        marks = ", ".join(["%s"] * len(SKIPPED_STATUSES))
        where = f"s.serverid = %s AND s.state IN ('active', 'suspended') AND h.domainstatus NOT IN ({marks})"
        args: list[Any] = [month_start, month_end or date.max, serverid, *SKIPPED_STATUSES]
        if tenant is not None:
            where += " AND h.username = %s"
            args.append(tenant)

        def q(conn: Conn) -> list[TenantMonth]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT s.serviceid, h.username AS tenant, COALESCE(SUM(d.bytes_in), 0) AS bytes_in,"  # noqa: S608
                    " COALESCE(SUM(d.bytes_out), 0) AS bytes_out, COALESCE(SUM(d.req_read + d.req_write + d.req_list"
                    " + d.req_delete + d.req_other), 0) AS requests FROM mod_s3bridge_services s"
                    " JOIN tblhosting h ON h.id = s.serviceid LEFT JOIN mod_s3bridge_traffic_daily d"
                    " ON d.serviceid = s.serviceid AND d.day >= %s AND d.day <= %s"
                    f" WHERE {where} AND h.username <> '' GROUP BY s.serviceid, h.username",
                    args,
                )
                return [
                    TenantMonth(
                        int(r["serviceid"]),
                        str(r["tenant"]),
                        int(r["bytes_in"]),
                        int(r["bytes_out"]),
                        int(r["requests"]),
                    )
                    for r in cur.fetchall()
                ]

        return await self.db.run(q)

    async def traffic_days(self, serviceid: int, since: date) -> list[DayTraffic]:
        def q(conn: Conn) -> list[DayTraffic]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT day, bytes_in, bytes_out, req_read, req_write, req_list, req_delete, req_other,"
                    " req_refused FROM mod_s3bridge_traffic_daily WHERE serviceid = %s AND day >= %s ORDER BY day",
                    (serviceid, since),
                )
                return [
                    DayTraffic(
                        r["day"],
                        int(r["bytes_in"]),
                        int(r["bytes_out"]),
                        {k: int(r[f"req_{k}"]) for k in ("read", "write", "list", "delete", "other", "refused")},
                    )
                    for r in cur.fetchall()
                ]

        return await self.db.run(q)


def month_totals(days: Iterable[DayTraffic], month_start: date) -> TrafficCounts:
    t = TrafficCounts()
    for d in days:
        if d.day >= month_start:
            t.bytes_in += d.bytes_in
            t.bytes_out += d.bytes_out
            t.read += d.requests["read"]
            t.write += d.requests["write"]
            t.list += d.requests["list"]
            t.delete += d.requests["delete"]
            t.other += d.requests["other"]
            t.refused += d.requests.get("refused", 0)
    return t
