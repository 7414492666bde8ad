"""The SQL of reconcile: one server's services as WHMCS and the records see them (one query, whatever the number of
services), and the findings kept between runs (`mod_s3bridge_drift`: when each was first seen, for the grace period
and the pages). Times in the daemon's own tables are UTC without a zone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymysql

from bridge.domain.drift import Finding
from bridge.whmcs.db import Conn, Database


def utc_naive(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def aware(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when


@dataclass(frozen=True)
class ServiceRow:
    serviceid: int
    clientid: int
    packageid: int
    whmcs_status: str  # "" when WHMCS has no such service
    record_state: str  # "" when the daemon has no record
    username: str
    owner_id: str
    policy: str


@dataclass(frozen=True)
class StoredFinding:
    finding: Finding
    first_seen: datetime  # aware, UTC
    last_seen: datetime


_SERVICES = (
    # WHMCS's services of this server's module (with the record, if any) ...
    "SELECT h.id, h.userid, h.packageid, h.domainstatus, COALESCE(s.state, ''), COALESCE(s.username, ''),"
    " COALESCE(s.backend_user_id, ''), COALESCE(s.policy, '')"
    " FROM tblhosting h JOIN tblproducts p ON p.id = h.packageid AND p.servertype = 's3bridge'"
    " LEFT JOIN mod_s3bridge_services s ON s.serviceid = h.id"
    " WHERE h.server = %s"
    " UNION ALL "
    # ... and the records of this server whose WHMCS service is gone or now on another server.
    "SELECT s.serviceid, s.userid, COALESCE(h.packageid, 0), '', s.state, s.username, s.backend_user_id, s.policy"
    " FROM mod_s3bridge_services s LEFT JOIN tblhosting h ON h.id = s.serviceid"
    " WHERE s.serverid = %s AND (h.id IS NULL OR h.server <> %s)"
)


class DriftStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def services(self, serverid: int) -> list[ServiceRow]:
        """Every service WHMCS has on the server and every record of the server, in one query."""

        def q(conn: Conn) -> list[tuple[Any, ...]]:
            with conn.cursor(pymysql.cursors.Cursor) as cur:
                cur.execute(_SERVICES, (serverid, serverid, serverid))
                return list(cur.fetchall())

        return [
            ServiceRow(int(sid), int(uid or 0), int(pid or 0), str(status), str(state), str(user), str(owner),
                       str(policy))
            for sid, uid, pid, status, state, user, owner, policy in await self.db.run(q)
        ]  # fmt: skip

    async def sync_rows(self, serverid: int) -> list[dict[str, Any]]:
        """The server's live records with what Server Sync shows of their services: WHMCS's username and domain, the
        client's e-mail, and when the account was made."""

        def q(conn: Conn) -> list[dict[str, Any]]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT s.username, s.access_key, s.created_at, COALESCE(h.username, '') AS whmcs_username,"
                    " COALESCE(h.domain, '') AS domain, COALESCE(c.email, '') AS email"
                    " FROM mod_s3bridge_services s LEFT JOIN tblhosting h ON h.id = s.serviceid"
                    " LEFT JOIN tblclients c ON c.id = s.userid"
                    " WHERE s.serverid = %s AND s.state IN ('active', 'suspended')",
                    (serverid,),
                )
                return list(cur.fetchall())

        return await self.db.run(q)

    async def whmcs_status(self, serviceid: int) -> str:
        """tblhosting.domainstatus of one service now ("" when WHMCS has no such service)."""

        def q(conn: Conn) -> str:
            with conn.cursor() as cur:
                cur.execute("SELECT domainstatus FROM tblhosting WHERE id = %s", (serviceid,))
                row = cur.fetchone()
            return str(row["domainstatus"]) if row else ""

        return await self.db.run(q)

    async def save(self, serverid: int, findings: Sequence[Finding], now: datetime) -> dict[tuple[str, str], datetime]:
        """Keep this run's findings (a finding seen before keeps its first sighting), drop the server's findings
        that are gone; returns when each current finding was first seen (aware, UTC)."""
        stamp = utc_naive(now)

        def q(conn: Conn) -> dict[tuple[str, str], datetime]:
            with conn.cursor() as cur:
                cur.execute("SELECT kind, subject, first_seen FROM mod_s3bridge_drift WHERE serverid = %s", (serverid,))
                before = {(r["kind"], r["subject"]): r["first_seen"] for r in cur.fetchall()}
                now_keys = {f.key for f in findings}
                gone = [k for k in before if k not in now_keys]
                for i in range(0, len(gone), 500):
                    chunk = gone[i : i + 500]
                    cur.execute(
                        "DELETE FROM mod_s3bridge_drift WHERE serverid = %s AND ("  # noqa: S608 - placeholders only
                        + " OR ".join(["(kind = %s AND subject = %s)"] * len(chunk))
                        + ")",
                        [serverid, *[x for k in chunk for x in k]],
                    )
                rows = [
                    (serverid, f.kind, f.subject[:128], f.serviceid, f.expected[:128], f.actual[:128], f.repair,
                     stamp, stamp)
                    for f in findings
                ]  # fmt: skip
                for i in range(0, len(rows), 500):
                    cur.executemany(
                        "INSERT INTO mod_s3bridge_drift (serverid, kind, subject, serviceid, expected, actual, repair,"
                        " first_seen, last_seen) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
                        " ON DUPLICATE KEY UPDATE serviceid = VALUES(serviceid), expected = VALUES(expected),"
                        " actual = VALUES(actual), repair = VALUES(repair), last_seen = VALUES(last_seen)",
                        rows[i : i + 500],
                    )
            return {f.key: aware(before.get(f.key, stamp)) for f in findings}

        return await self.db.run(q)

    async def resolve(self, serverid: int, finding: Finding) -> None:
        """A repaired finding is no longer drift."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "DELETE FROM mod_s3bridge_drift WHERE serverid = %s AND kind = %s AND subject = %s",
                    (serverid, finding.kind, finding.subject),
                )

        await self.db.run(q)

    async def record_run(
        self, serverid: int, *, finished: datetime, duration_ms: int, findings: int, repaired: int, error: str = ""
    ) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_reconcile_runs (serverid, finished_at, duration_ms, findings, repaired,"
                    " error) VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE finished_at = VALUES(finished_at),"
                    " duration_ms = VALUES(duration_ms), findings = VALUES(findings), repaired = VALUES(repaired),"
                    " error = VALUES(error)",
                    (serverid, utc_naive(finished), duration_ms, findings, repaired, error[:255]),
                )

        await self.db.run(q)

    async def last_run(self, serverid: int) -> tuple[datetime, int] | None:
        """When reconcile last finished on this server (aware, UTC) and how many findings it left."""

        def q(conn: Conn) -> tuple[datetime, int] | None:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT finished_at, findings FROM mod_s3bridge_reconcile_runs WHERE serverid = %s", (serverid,)
                )
                row = cur.fetchone()
            return (aware(row["finished_at"]), int(row["findings"])) if row else None

        return await self.db.run(q)

    async def count(self, serverid: int) -> int:
        """How many findings the last reconcile left on this server (the server's admin tab shows it)."""

        def q(conn: Conn) -> int:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) AS n FROM mod_s3bridge_drift WHERE serverid = %s", (serverid,))
                row = cur.fetchone()
            return int(row["n"]) if row else 0

        return await self.db.run(q)
