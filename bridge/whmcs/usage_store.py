"""The SQL of usage: what services a server has (with their product settings and client), the batched tblhosting
write, daily history with retention, and the per-service limit state. Every query is parameterized."""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Any

import pymysql.cursors

from bridge.domain.traffic import sum_per_owner_day
from bridge.domain.usage_rules import LimitState, ServiceUsage, whmcs_mb
from bridge.domain.values import TrafficRecord
from bridge.errors import DatabaseError
from bridge.whmcs.batch import CHUNK, JOIN_CHUNK, Step, sized_chunks
from bridge.whmcs.batch import chunks as _chunks
from bridge.whmcs.batch import int_list as _int_list
from bridge.whmcs.batch import rows as _rows
from bridge.whmcs.bucket_figures import encode as encode_buckets
from bridge.whmcs.db import Conn, Database
from bridge.whmcs.services import figures_step as services_figures_step

SKIPPED_STATUSES = ("Terminated", "Cancelled", "Fraud")


def whmcs_time(when: datetime) -> datetime:
    """WHMCS writes its datetime columns in the server's local time, without a zone: so do we in its tables."""
    return when.astimezone().replace(tzinfo=None) if when.tzinfo else when


# MySQL and MariaDB: "impossible to write to binary log since BINLOG_FORMAT = STATEMENT and ... InnoDB is limited to
# row-logging when transaction isolation level is READ COMMITTED"
ER_BINLOG_STMT_MODE_AND_ROW_ENGINE = 1665
HISTORY_SQL_CHARS = 4_000_000  # SQL per INSERT of history: under max_allowed_packet (MySQL 5.7 4 MiB, 8.0 64 MB)


@dataclass(frozen=True, slots=True)  # no __dict__: kept per service between cycles (the memo below)
class ServiceRow:
    """A provisioned service on one server, as usage collection sees it, with the figures last written for it."""

    serviceid: int
    username: str
    backend_user_id: str
    state: LimitState
    packageid: int
    client_name: str
    language: str
    status: str
    used_bytes: int = 0  # mod_s3bridge_services: the last figure
    digest: str = ""  # usage_digest of the per-bucket figures last written
    history_day: date | None = None  # the last day history rows were written for
    diskusage_mb: int = 0  # tblhosting as WHMCS holds it now
    disklimit_mb: int = 0
    usage_at: datetime | None = None  # when the figures were measured (naive UTC, whole seconds)
    figure_at: datetime | None = None  # what the disk estimate counts from (bridge.whmcs.meter_store)
    figure_source: str = "scan"
    decided_by: str = ""  # the figure the latest limit decision used
    decided_bytes: int = 0
    disk_writes: bool = False  # the audit stream recorded writes or deletes for it (the estimate may differ)


@dataclass(frozen=True)
class Product:
    name: str
    params: dict[str, Any]  # configoption1..24, the shape parse_product() takes


@dataclass(frozen=True)
class FigureWrite:
    """New figures of one service: tblhosting's diskusage/disklimit and the daemon's own copy."""

    usage: ServiceUsage
    limit_bytes: int
    digest: str
    whmcs: bool = True  # tblhosting's MB figures differ from these


_OPTION_COLUMNS = ", ".join(f"configoption{i}" for i in range(1, 25))
# One JSON array per row (JSON_ARRAY: MariaDB 10.2+, MySQL 5.7+) instead of 22 columns: pymysql decodes each column
# of each row in Python, which was most of the steady-state cycle's own time at 1,000 services; json.loads in C
# reads the whole row at once, escaping and NULLs included (bench/usage.py, issue 23's profile).
_ROW_COLUMNS = (
    "JSON_ARRAY(s.serviceid, s.username, s.backend_user_id, s.policy, s.warned, s.over_limit, s.used_bytes,"
    " s.usage_digest, s.history_day, h.domainstatus, h.packageid, h.diskusage, h.disklimit, c.firstname, c.lastname,"
    # a client's language '' is WHMCS's "Default": the system language (tblconfiguration Language)
    " COALESCE(NULLIF(c.language, ''), (SELECT value FROM tblconfiguration WHERE setting = 'Language')),"
    " s.usage_at, s.figure_at, s.figure_source, s.decided_by, s.decided_bytes,"
    # IF(): a bare correlated EXISTS inside JSON_ARRAY reads `true` for every row on MariaDB 10.11 in this query
    # (seen in tests/integration/usage/test_usage_cycle_queries.py: every service looked metered)
    " IF(EXISTS (SELECT 1 FROM mod_s3bridge_disk_writes w WHERE w.serviceid = s.serviceid), 1, 0))"
)


# The rows come back as a few blocks of JSON texts, one per newline (JSON escapes a newline inside a string, so none
# is in a row's text): pymysql then reads a few packets where it read one per service, most of the steady-state
# cycle's Python time in the database thread at 10,000 services (bench/usage.py --profile). A block holds the rows
# of 256 consecutive service ids: at most about 1 MB (a row with every text field at its longest is about 4 KB),
# well under MySQL's max_allowed_packet (4 MB in 5.7, 64 MB in 8.0; 16 MB in MariaDB).
ROWS_PER_BLOCK = 256
BLOCK_MAX_BYTES = 16 * 1024 * 1024  # group_concat_max_len for the read (MySQL's default is 1,024 bytes)


def _cut(serverid: int, how: str) -> DatabaseError:
    return DatabaseError(
        f"the database cut the service rows of server {serverid} short ({how}): a block of rows is longer than"
        f" group_concat_max_len ({BLOCK_MAX_BYTES} bytes)"
    )


def _moment(text: str | None) -> datetime | None:
    """A DATETIME as JSON_ARRAY writes it ('2026-12-02 10:00:00', MySQL 8 adds '.000000'), back to a datetime."""
    return datetime.fromisoformat(text) if text else None


def _service_row(values: list[Any]) -> ServiceRow:
    (sid, username, owner, policy, warned, over, used, digest, history_day, status, pid, du, dl, first, last,
     language, usage_at, figure_at, source, decided_by, decided_bytes, writes) = values  # fmt: skip
    return ServiceRow(
        serviceid=int(sid),
        username=str(username),
        backend_user_id=str(owner),
        state=LimitState(policy=policy, warned=bool(warned), over_limit=bool(over)),
        packageid=int(pid or 0),
        client_name=" ".join(x for x in (first, last) if x),
        language=str(language or ""),
        status=str(status),
        used_bytes=int(used),
        digest=str(digest),
        history_day=date.fromisoformat(history_day[:10]) if history_day else None,
        diskusage_mb=int(du or 0),
        disklimit_mb=int(dl or 0),
        usage_at=_moment(usage_at),
        figure_at=_moment(figure_at),
        figure_source=str(source),
        decided_by=str(decided_by),
        decided_bytes=int(decided_bytes),
        disk_writes=bool(writes),
    )


def _live(serverid: int) -> tuple[str, list[Any]]:
    marks = ", ".join(["%s"] * len(SKIPPED_STATUSES))
    where = "s.serverid = %s AND s.state IN ('active', 'suspended') AND h.domainstatus NOT IN (" + marks + ")"
    return where, [serverid, *SKIPPED_STATUSES]


class UsageStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._known: dict[int, dict[str, ServiceRow]] = {}  # per server: each row's JSON text -> its ServiceRow

    async def services_of_server(
        self, serverid: int, serviceid: int | None = None, *, among: Iterable[int] | None = None
    ) -> list[ServiceRow]:
        """Live accounts on this server whose WHMCS service is not Terminated, Cancelled or Fraud (only `serviceid`,
        or only those `among` the given ids, when given)."""
        where, args = _live(serverid)
        if serviceid is not None:
            where += " AND s.serviceid = %s"
            args.append(serviceid)
        if among is not None:
            ids = sorted(set(among))[:CHUNK] or [0]
            where += f" AND s.serviceid IN ({', '.join(['%s'] * len(ids))})"
            args += ids
        sql = (
            f"SELECT COUNT(*), GROUP_CONCAT({_ROW_COLUMNS} SEPARATOR '\n')"  # noqa: S608 - fixed text, placeholders
            " FROM mod_s3bridge_services s JOIN tblhosting h ON h.id = s.serviceid"
            " LEFT JOIN tblclients c ON c.id = h.userid"
            f" WHERE {where} GROUP BY s.serviceid DIV {ROWS_PER_BLOCK}"
        )

        whole_server = serviceid is None and among is None

        def q(conn: Conn) -> list[ServiceRow]:
            texts: list[str] = []
            with conn.cursor(pymysql.cursors.Cursor) as cur:
                cur.execute(f"SET SESSION group_concat_max_len = {BLOCK_MAX_BYTES}")
                cur.execute(sql, args)
                for count, block in cur.fetchall():
                    lines = block.split("\n")
                    if len(lines) != count:  # cut at group_concat_max_len: never silently short of services
                        raise _cut(serverid, f"{len(lines)} of {count} rows in a block")
                    texts += lines
            # A row's text holds every value of it: the same text is the same (immutable) row, so a cycle in which
            # nothing changed decodes nothing. The server's memo keeps only the rows its last whole read returned.
            known = self._known.get(serverid, {})
            try:
                rows = [known.get(text) or _service_row(json.loads(text)) for text in texts]
            except json.JSONDecodeError:  # a row cut short is never whole JSON (nor the text of another row)
                raise _cut(serverid, "a row cut in the middle") from None
            if whole_server:
                self._known[serverid] = dict(zip(texts, rows, strict=True))
            return rows

        return await self.db.run(q)

    async def products(self, ids: Iterable[int]) -> dict[int, Product]:
        """The products behind these services, read once each (not once per service)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}

        def q(conn: Conn) -> dict[int, Product]:
            out: dict[int, Product] = {}
            with conn.cursor() as cur:
                for chunk in _chunks(wanted):
                    marks = ", ".join(["%s"] * len(chunk))
                    cur.execute(
                        f"SELECT id, name, {_OPTION_COLUMNS} FROM tblproducts WHERE id IN ({marks})",  # noqa: S608
                        list(chunk),
                    )
                    for r in cur.fetchall():
                        options = {f"configoption{i}": r[f"configoption{i}"] for i in range(1, 25)}
                        out[int(r["id"])] = Product(str(r["name"] or ""), options)
            return out

        return await self.db.run(q)

    async def save(self, *steps: Step | None) -> None:
        """Writes made by the step functions below, in one transaction: one commit (and one log flush), however
        many tables they touch. Steps that are None (nothing to write) are left out; none at all costs nothing."""
        todo = [step for step in steps if step is not None]

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                for step in todo:
                    step(conn, cur)

        if todo:
            await self.db.run(q)

    async def apply_retention(self, keep_days: dict[int, int], today: date) -> int:
        """Delete history older than each service's product retention (`trim_history`). Returns rows deleted."""
        trim = trim_history(keep_days, today)
        return await self.db.run(trim) if trim is not None else 0

    async def store_traffic(self, serverid: int, source: str, records: Sequence[TrafficRecord]) -> None:
        """One statistics object's rows, summed per (user, day) and committed before the caller deletes the object.
        Idempotent by (server, user, day, object): collecting the same object again after a crash adds nothing,
        and rows repeating a bucket (another epoch or tag) are added, never dropped."""
        sums = sum_per_owner_day(replace(r, source=r.source or source) for r in records)
        rows = [
            (
                serverid,
                t.owner_id,
                t.day,
                t.source,
                datetime.fromtimestamp(t.period_start, UTC).replace(tzinfo=None),
                t.period_s,
                t.ops_put,
                t.ops_get,
                t.ops_list,
                t.ops_other,
                t.bytes_in,
                t.bytes_out,
            )
            for t in sums
        ]

        def q(conn: Conn) -> None:
            if rows:
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO mod_s3bridge_traffic_sums (serverid, owner_id, day, source, period_start,"
                        " period_s, ops_put, ops_get, ops_list, ops_other, bytes_in, bytes_out)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        " ON DUPLICATE KEY UPDATE ops_put = VALUES(ops_put), ops_get = VALUES(ops_get),"
                        " ops_list = VALUES(ops_list), ops_other = VALUES(ops_other), bytes_in = VALUES(bytes_in),"
                        " bytes_out = VALUES(bytes_out)",
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

    async def server_record(self, serverid: int) -> dict[str, Any]:
        """The tblservers row WHMCS builds a module's server params from, decoded as WHMCS decodes it (its text
        columns are stored HTML-encoded). Empty when there is no such server."""

        def q(conn: Conn) -> dict[str, Any]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT hostname, ipaddress, username, accesshash, secure, port"
                    " FROM mod_s3bridge_servers WHERE id = %s",  # this module's tblservers rows (grants.py)
                    (serverid,),
                )
                return dict(cur.fetchone() or {})

        row = await self.db.run(q)
        return {k: html.unescape(v) if isinstance(v, str) else v for k, v in row.items()}


def trim_history(keep_days: dict[int, int], today: date) -> Callable[[Conn], int] | None:
    """The transaction that deletes history older than each service's product retention: one statement per table
    per retention setting in use, whatever the number of services; it returns the rows deleted.

    It runs while the day's first run writes today's rows into the same tables, and at READ COMMITTED so as not to
    hold that write up: at MySQL's default REPEATABLE READ, deleting service N+1's oldest row locks the gap before
    it, which is where service N's row of today goes (its rows end there), so every insert of today waited for the
    whole trim to commit. READ COMMITTED takes no gap locks, and deleting the rows older than a day deletes the same
    rows whatever a concurrent insert of today adds. A server whose binary log is statement-based refuses that level
    for writes (error 1665): there the trim runs at the server's default level, as before."""
    by_days: dict[int, list[int]] = {}
    for sid, days in keep_days.items():
        by_days.setdefault(days, []).append(sid)
    if not by_days:
        return None

    def delete(cur: Any) -> int:
        deleted = 0
        for days, sids in by_days.items():
            cutoff = date.fromordinal(today.toordinal() - days)
            for table in ("mod_s3bridge_usage_daily", "mod_s3bridge_traffic_daily"):
                deleted += cur.execute(
                    f"DELETE FROM {table} WHERE day < %s AND serviceid IN ({_int_list(sids)})",  # noqa: S608
                    [cutoff],
                )
        return deleted

    def trim(conn: Conn) -> int:
        try:
            with conn.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")  # the next transaction's, this one
                return delete(cur)
        except pymysql.MySQLError as e:
            if not (e.args and e.args[0] == ER_BINLOG_STMT_MODE_AND_ROW_ENGINE):
                raise
        conn.rollback()
        with conn.cursor() as cur:
            return delete(cur)

    return trim


def figures_step(
    writes: Sequence[FigureWrite],
    when: datetime,
    *,
    exact: bool,
    history_day: date | None,
    measured_at: datetime | None = None,
) -> Step | None:
    """New figures for the services that changed: tblhosting diskusage/disklimit/lastupdate where WHMCS's MB figures
    differ, then the daemon's copy (`bridge.whmcs.services.figures_step`: bytes, digest, exactness, when measured
    (`measured_at`, default `when`), the day history was written for: None when it was not). One statement per
    table per 1,000 services, joined to the new values (linear, unlike CASE)."""
    if not writes:
        return None
    stamp = whmcs_time(when)
    whmcs = [w for w in writes if w.whmcs]
    ours = services_figures_step(
        [(w.usage.serviceid, w.usage.bytes, w.digest) for w in writes],
        measured_at or when,
        exact=exact,
        history_day=history_day,
    )

    def step(conn: Conn, cur: Any) -> None:
        for chunk in _chunks(whmcs, JOIN_CHUNK):
            values = [x for w in chunk for x in (w.usage.serviceid, whmcs_mb(w.usage.bytes), whmcs_mb(w.limit_bytes))]
            cur.execute(
                f"UPDATE tblhosting h JOIN {_rows(('id', 'du', 'dl'), len(chunk))} v ON h.id = v.id"  # noqa: S608
                " SET h.diskusage = v.du, h.disklimit = v.dl, h.lastupdate = %s",
                [*values, stamp],
            )
        if ours is not None:
            ours(conn, cur)

    return step


def lastupdate_step(serviceids: Sequence[int], when: datetime) -> Step | None:
    """tblhosting.lastupdate of these services (WHMCS shows it as the usage's "Last Updated"): one statement."""
    if not serviceids:
        return None
    ids = _int_list(serviceids)

    def step(conn: Conn, cur: Any) -> None:
        cur.execute(f"UPDATE tblhosting SET lastupdate = %s WHERE id IN ({ids})", (whmcs_time(when),))  # noqa: S608

    return step


def history_step(usages: Iterable[ServiceUsage], day: date) -> Step | None:
    """The day's history: one row per service, its bucket breakdown in the row (`bridge.whmcs.bucket_figures`), in
    one statement per HISTORY_SQL_CHARS of SQL. Values are formatted here, ints and the day as ints and an ISO date,
    the breakdown's JSON escaped by the connection (pymysql's per-value escaping was most of the day's first run)."""
    usages = list(usages)
    if not usages:
        return None
    when = f"'{day.isoformat()}'"

    def step(conn: Conn, cur: Any) -> None:
        rows = [
            f"({int(u.serviceid)},{when},{int(u.bytes)},{int(u.objects)},{len(u.buckets)},"
            f"{conn.escape(encode_buckets(u.buckets))})"
            for u in usages
        ]
        for chunk in sized_chunks(rows, HISTORY_SQL_CHARS):
            cur.execute(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets, bucket_figures)"  # noqa: S608
                f" VALUES {','.join(chunk)} ON DUPLICATE KEY UPDATE used_bytes = VALUES(used_bytes),"
                " objects = VALUES(objects), buckets = VALUES(buckets), bucket_figures = VALUES(bucket_figures)"
            )

    return step
