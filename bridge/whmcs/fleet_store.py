"""What the fleet console's pages read (Servers, Accounts, Drift): a few queries over the whole fleet, never one per
service. Every query is parameterized; a search matches with LIKE on escaped text."""

from __future__ import annotations

import asyncio
import html
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bridge.domain.fleet import hour_window
from bridge.domain.params import parse_options
from bridge.errors import BadParam
from bridge.logs import get_logger
from bridge.whmcs.db import Conn, Database
from bridge.whmcs.drift_store import aware, utc_naive

LIMIT = 50
log = get_logger("s3bridge.fleet")


@dataclass(frozen=True)
class ServerRow:
    serverid: int
    name: str
    hostname: str
    services: int
    last_usage: datetime | None  # the newest usage figure of its services
    reconciled: datetime | None
    reconcile_ms: int
    findings: int
    usage_run_at: datetime | None = None  # the last daily UsageUpdate: when it ended, how long, ok or error code
    usage_run_ms: int = 0
    usage_run_result: str = ""
    scanner_at: datetime | None = None  # the newest scan time (MinIO DataUsageInfo lastUpdate) of its figures
    backend: str = "minio"  # from the server's Access Hash (`backend=ostor`); "" when it does not parse
    metering_at: datetime | None = None  # when Enable Traffic Metering last succeeded (None: never)
    last_event_at: datetime | None = None  # the newest audit event any daemon's meter wrote
    ingest_lag_ms: int | None = None  # the lag of the last batch, as the newest meter state says (None: none yet)
    dropped: int = 0  # audit entries dropped as failing a check, summed over the daemons' meters


@dataclass(frozen=True)
class DaemonCounts:
    refused: int = 0
    overloaded: int = 0


@dataclass(frozen=True)
class AccountRow:
    serviceid: int
    clientid: int
    client: str
    username: str
    status: str  # WHMCS's domainstatus
    used_bytes: int
    over_limit: bool
    serverid: int
    figure: int = 0  # the list's own figure: traffic this month, or growth over 30 days (may be negative)


@dataclass(frozen=True)
class DriftRow:
    serverid: int
    kind: str
    subject: str
    serviceid: int | None
    expected: str
    actual: str
    repair: str
    first_seen: datetime


def _backend(accesshash: str) -> str:
    """The server's backend as its Access Hash says (stored HTML-encoded, as WHMCS does)."""
    try:
        return dict(parse_options(html.unescape(accesshash))).get("backend", "minio")
    except BadParam:
        return ""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_ACCOUNT = (
    "SELECT s.serviceid, s.userid,"
    " CONCAT_WS(' ', c.firstname, c.lastname, NULLIF(c.companyname, '')) AS client,"
    " s.username, h.domainstatus, s.used_bytes, s.over_limit, s.serverid"
    " FROM mod_s3bridge_services s JOIN tblhosting h ON h.id = s.serviceid LEFT JOIN tblclients c ON c.id = s.userid"
    " WHERE s.state IN ('active', 'suspended')"
)


GROWTH_DAYS = 30
_COLUMNS = (
    "SELECT s.serviceid, s.userid,"
    " CONCAT_WS(' ', c.firstname, c.lastname, NULLIF(c.companyname, '')) AS client,"
    " s.username, h.domainstatus, s.used_bytes, s.over_limit, s.serverid, m.figure"
)
_LIVE = (
    " JOIN mod_s3bridge_services s ON s.serviceid = m.serviceid JOIN tblhosting h ON h.id = s.serviceid"
    " LEFT JOIN tblclients c ON c.id = s.userid WHERE s.state IN ('active', 'suspended')"
)
# Bytes in + out since the first of the month (mod_s3bridge_traffic_daily, the meter's daily sums), read from the key
# `day_figures` (day, serviceid, bytes_in, bytes_out): the month's entries only, never a service's older history.
_TRAFFIC = (
    _COLUMNS + " FROM (SELECT serviceid, SUM(bytes_in + bytes_out) AS figure"  # noqa: S608
    " FROM mod_s3bridge_traffic_daily FORCE INDEX (day_figures)"
    " WHERE day >= %s GROUP BY serviceid) m" + _LIVE + " AND m.figure > 0 ORDER BY m.figure DESC, s.serviceid LIMIT 10"
)
# Storage now minus the oldest daily figure inside the window (mod_s3bridge_usage_daily): signed, so a shrinking
# account shows a negative growth instead of wrapping around as unsigned arithmetic would. Both the first day of each
# service inside the window and its figure that day come from the key `day_figures` (day, serviceid, used_bytes):
# the window's entries, contiguous and cached, where the primary key (serviceid, day) made MariaDB dive into every
# service's whole history (365 days by default: 2.3 s a list at 10,000 services).
_GROWTH = (
    "SELECT s.serviceid, CAST(s.used_bytes AS SIGNED) - CAST(u.used_bytes AS SIGNED) AS figure"
    " FROM (SELECT serviceid, MIN(day) AS first_day FROM mod_s3bridge_usage_daily FORCE INDEX (day_figures)"
    " WHERE day >= %s GROUP BY serviceid) f"
    " JOIN mod_s3bridge_usage_daily u FORCE INDEX (day_figures) ON u.day = f.first_day AND u.serviceid = f.serviceid"
    " JOIN mod_s3bridge_services s ON s.serviceid = f.serviceid JOIN tblhosting h ON h.id = s.serviceid"
    " WHERE s.state IN ('active', 'suspended')"
)
# The ten that grew most and the ten that shrank most (a customer emptying its buckets may be leaving) from one pass
# over the growth figures: each ranked both ways (ties by service id), the names read for those twenty only.
_GROWTH_RANKED = (
    _COLUMNS + ", m.up, m.down FROM (SELECT g.serviceid, g.figure,"  # noqa: S608
    " ROW_NUMBER() OVER (ORDER BY g.figure DESC, g.serviceid) AS up,"
    " ROW_NUMBER() OVER (ORDER BY g.figure ASC, g.serviceid) AS down"
    " FROM (" + _GROWTH + ") g) m" + _LIVE + " AND ((m.figure > 0 AND m.up <= 10) OR (m.figure < 0 AND m.down <= 10))"
)


def _account(r: dict[str, Any]) -> AccountRow:
    return AccountRow(
        serviceid=int(r["serviceid"]),
        clientid=int(r["userid"]),
        client=str(r["client"] or ""),
        username=str(r["username"]),
        status=str(r["domainstatus"]),
        used_bytes=int(r["used_bytes"]),
        over_limit=bool(r["over_limit"]),
        serverid=int(r["serverid"]),
        figure=int(r.get("figure") or 0),
    )


class FleetStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._writing: set[asyncio.Task[None]] = set()  # usage runs noted, still being written

    async def servers(self) -> list[ServerRow]:
        await self.written()  # this daemon's own usage runs are on its page

        def q(conn: Conn) -> list[ServerRow]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT v.id, v.name, v.hostname, v.accesshash, r.finished_at, r.duration_ms, r.findings,"
                    " (SELECT COUNT(*) FROM mod_s3bridge_services s WHERE s.serverid = v.id"
                    "  AND s.state IN ('active', 'suspended')) AS services,"
                    " (SELECT MAX(s.usage_at) FROM mod_s3bridge_services s WHERE s.serverid = v.id) AS last_usage,"
                    " (SELECT MAX(s.figure_at) FROM mod_s3bridge_services s WHERE s.serverid = v.id"
                    "  AND s.figure_source = 'scan') AS scanner_at,"
                    " u.finished_at AS run_at, u.duration_ms AS run_ms, u.result AS run_result,"
                    " mc.configured_at AS metering_at, ms.last_event_at, ms.dropped,"
                    " (SELECT m2.lag_ms FROM mod_s3bridge_meter_status m2 WHERE m2.serverid = v.id"
                    "  ORDER BY m2.updated_at DESC LIMIT 1) AS lag_ms"
                    " FROM mod_s3bridge_servers v LEFT JOIN mod_s3bridge_reconcile_runs r ON r.serverid = v.id"
                    " LEFT JOIN mod_s3bridge_usage_runs u ON u.serverid = v.id AND u.kind = 'daily'"
                    " LEFT JOIN mod_s3bridge_metering mc ON mc.serverid = v.id"
                    " LEFT JOIN (SELECT serverid, MAX(last_event_at) AS last_event_at, SUM(dropped) AS dropped"
                    "  FROM mod_s3bridge_meter_status GROUP BY serverid) ms ON ms.serverid = v.id"
                    " WHERE v.type = 's3bridge' ORDER BY v.name, v.id"
                )
                return [
                    ServerRow(
                        serverid=int(r["id"]),
                        name=html.unescape(str(r["name"])),  # WHMCS stores tblservers text HTML-encoded
                        hostname=html.unescape(str(r["hostname"])),
                        services=int(r["services"]),
                        last_usage=aware(r["last_usage"]) if r["last_usage"] else None,
                        reconciled=aware(r["finished_at"]) if r["finished_at"] else None,
                        reconcile_ms=int(r["duration_ms"] or 0),
                        findings=int(r["findings"] or 0),
                        usage_run_at=aware(r["run_at"]) if r["run_at"] else None,
                        usage_run_ms=int(r["run_ms"] or 0),
                        usage_run_result=str(r["run_result"] or ""),
                        scanner_at=aware(r["scanner_at"]) if r["scanner_at"] else None,
                        backend=_backend(str(r["accesshash"] or "")),
                        metering_at=aware(r["metering_at"]) if r["metering_at"] else None,
                        last_event_at=aware(r["last_event_at"]) if r["last_event_at"] else None,
                        ingest_lag_ms=int(r["lag_ms"]) if r["lag_ms"] is not None else None,
                        dropped=int(r["dropped"] or 0),
                    )
                    for r in cur.fetchall()
                ]

        return await self.db.run(q)

    async def record_metering(self, serverid: int, endpoint: str, when: datetime) -> None:
        """Enable Traffic Metering succeeded for the server (its audit webhook points at `endpoint`)."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_metering (serverid, endpoint, configured_at) VALUES (%s, %s, %s)"
                    " ON DUPLICATE KEY UPDATE endpoint = VALUES(endpoint), configured_at = VALUES(configured_at)",
                    (serverid, endpoint[:255], utc_naive(when)),
                )

        await self.db.run(q)

    async def daemon_counts(self, now: datetime) -> dict[str, DaemonCounts]:
        """Each daemon's refused calls and overload answers in the last hour (its per-minute rows, as of its last
        beat), every daemon that wrote any."""
        since = utc_naive(hour_window(now))

        def q(conn: Conn) -> dict[str, DaemonCounts]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT daemon_id, SUM(refused) AS refused, SUM(overloaded) AS overloaded"
                    " FROM mod_s3bridge_fleet_minutes WHERE minute >= %s GROUP BY daemon_id",
                    (since,),
                )
                return {
                    str(r["daemon_id"]): DaemonCounts(int(r["refused"] or 0), int(r["overloaded"] or 0))
                    for r in cur.fetchall()
                }

        return await self.db.run(q)

    def note_usage_run(self, serverid: int, kind: str, finished: datetime, ms: int, result: str) -> None:
        """`record_usage_run` without waiting for it: the run answers WHMCS first (a commit is a log flush, about
        4 ms of a 60 ms cycle). The Servers page of this daemon waits for what it has still to write (`written`);
        a write that fails is logged."""
        task = asyncio.create_task(self.record_usage_run(serverid, kind, finished, ms, result))
        self._writing.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("usage_run_not_recorded", error=str(task.exception()))

    async def written(self) -> None:
        """Wait for the usage runs noted so far to be written (or to fail): before a page reads them, and before
        the database closes."""
        if self._writing:
            await asyncio.gather(*self._writing, return_exceptions=True)

    async def record_usage_run(self, serverid: int, kind: str, finished: datetime, ms: int, result: str) -> None:
        """A usage run of one server ended (UsageUpdate 'daily' or the AfterCronJob 'check'): the newest replaces."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_usage_runs (serverid, kind, finished_at, duration_ms, result)"
                    " VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE finished_at = VALUES(finished_at),"
                    " duration_ms = VALUES(duration_ms), result = VALUES(result)",
                    (serverid, kind, utc_naive(finished), ms, result[:64]),
                )

        await self.db.run(q)

    async def search(self, text: str) -> list[AccountRow]:
        """Accounts whose client, service id, username or bucket namespace matches, biggest first."""
        like = _like(text)
        sid = int(text) if text.isdigit() else -1

        def q(conn: Conn) -> list[AccountRow]:
            with conn.cursor() as cur:
                cur.execute(
                    _ACCOUNT + " AND (s.serviceid = %s OR s.username LIKE %s OR c.email LIKE %s"
                    " OR CONCAT_WS(' ', c.firstname, c.lastname) LIKE %s OR c.companyname LIKE %s)"
                    " ORDER BY s.used_bytes DESC, s.serviceid LIMIT %s",
                    (sid, like, like, like, like, LIMIT),
                )
                return [_account(r) for r in cur.fetchall()]

        return await self.db.run(q)

    async def lists(self, today: date) -> dict[str, list[AccountRow]]:
        """Top consumers by storage and by traffic this month, the fastest growing and shrinking over 30 days, the
        over-limit and the suspended: five bounded queries (traffic and growth read one month of the daily tables by
        their `day_figures` key, grouped per service, never one query per service; one pass ranks the growth both
        ways). The two that read the month (each ~100 ms at 10,000 services) run on connections of their own, at
        the same time as the rest."""

        def accounts(conn: Conn) -> dict[str, list[AccountRow]]:
            out: dict[str, list[AccountRow]] = {}
            with conn.cursor() as cur:
                for name, where in (
                    ("top", " ORDER BY s.used_bytes DESC, s.serviceid LIMIT 10"),
                    ("over", f" AND s.over_limit = 1 ORDER BY s.used_bytes DESC LIMIT {LIMIT}"),
                    ("suspended", f" AND h.domainstatus = 'Suspended' ORDER BY s.serviceid LIMIT {LIMIT}"),
                ):
                    cur.execute(_ACCOUNT + where)
                    out[name] = [_account(r) for r in cur.fetchall()]
            return out

        def traffic(conn: Conn) -> dict[str, list[AccountRow]]:
            with conn.cursor() as cur:
                cur.execute(_TRAFFIC, (today.replace(day=1),))
                return {"traffic": [_account(r) for r in cur.fetchall()]}

        def growth(conn: Conn) -> dict[str, list[AccountRow]]:
            with conn.cursor() as cur:
                cur.execute(_GROWTH_RANKED, (today - timedelta(days=GROWTH_DAYS),))
                ranked = cur.fetchall()
            return {
                "growth": [_account(r) for r in sorted(ranked, key=lambda r: int(r["up"])) if r["figure"] > 0],
                "shrink": [_account(r) for r in sorted(ranked, key=lambda r: int(r["down"])) if r["figure"] < 0],
            }

        parts = await asyncio.gather(self.db.run(accounts), self.db.run(traffic), self.db.run(growth))
        return {k: v for part in parts for k, v in part.items()}

    async def refused_last_hour(self) -> int:
        """Calls the signed channel refused in the last hour (every daemon's audit rows)."""

        def q(conn: Conn) -> int:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT COUNT(*) AS n FROM mod_s3bridge_audit WHERE at >= NOW() - INTERVAL 1 HOUR"
                    " AND action LIKE 'auth:%%' AND outcome = 'refused'"
                )
                row = cur.fetchone()
            return int(row["n"]) if row else 0

        return await self.db.run(q)

    async def drift(self) -> list[DriftRow]:
        def q(conn: Conn) -> list[DriftRow]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT serverid, kind, subject, serviceid, expected, actual, repair, first_seen"
                    " FROM mod_s3bridge_drift ORDER BY serverid, FIELD(kind, 'state_mismatch', 'orphan_user',"
                    " 'missing_user', 'policy_mismatch', 'stray_bucket'), subject LIMIT 1000"
                )
                return [
                    DriftRow(
                        serverid=int(r["serverid"]),
                        kind=str(r["kind"]),
                        subject=str(r["subject"]),
                        serviceid=int(r["serviceid"]) if r["serviceid"] is not None else None,
                        expected=str(r["expected"]),
                        actual=str(r["actual"]),
                        repair=str(r["repair"]),
                        first_seen=aware(r["first_seen"]),
                    )
                    for r in cur.fetchall()
                ]

        return await self.db.run(q)
