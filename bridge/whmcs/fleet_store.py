"""What the fleet console's pages read (Servers, Accounts, Drift): a few queries over the whole fleet, never one per
service. Every query is parameterized; a search matches with LIKE on escaped text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bridge.whmcs.db import Conn, Database
from bridge.whmcs.drift_store import aware

LIMIT = 50


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


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


_ACCOUNT = (
    "SELECT s.serviceid, s.userid,"
    " CONCAT_WS(' ', c.firstname, c.lastname, NULLIF(c.companyname, '')) AS client,"
    " s.username, h.domainstatus, s.used_bytes, s.over_limit, s.serverid"
    " FROM mod_s3bridge_services s JOIN tblhosting h ON h.id = s.serviceid LEFT JOIN tblclients c ON c.id = s.userid"
    " WHERE s.state IN ('active', 'suspended')"
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
    )


class FleetStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def servers(self) -> list[ServerRow]:
        def q(conn: Conn) -> list[ServerRow]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT v.id, v.name, v.hostname, r.finished_at, r.duration_ms, r.findings,"
                    " (SELECT COUNT(*) FROM mod_s3bridge_services s WHERE s.serverid = v.id"
                    "  AND s.state IN ('active', 'suspended')) AS services,"
                    " (SELECT MAX(s.usage_at) FROM mod_s3bridge_services s WHERE s.serverid = v.id) AS last_usage"
                    " FROM mod_s3bridge_servers v LEFT JOIN mod_s3bridge_reconcile_runs r ON r.serverid = v.id"
                    " WHERE v.type = 's3bridge' ORDER BY v.name, v.id"
                )
                return [
                    ServerRow(
                        serverid=int(r["id"]),
                        name=str(r["name"]),
                        hostname=str(r["hostname"]),
                        services=int(r["services"]),
                        last_usage=aware(r["last_usage"]) if r["last_usage"] else None,
                        reconciled=aware(r["finished_at"]) if r["finished_at"] else None,
                        reconcile_ms=int(r["duration_ms"] or 0),
                        findings=int(r["findings"] or 0),
                    )
                    for r in cur.fetchall()
                ]

        return await self.db.run(q)

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

    async def lists(self) -> dict[str, list[AccountRow]]:
        """Top consumers by storage, the over-limit and the suspended: three bounded queries."""

        def q(conn: Conn) -> dict[str, list[AccountRow]]:
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

        return await self.db.run(q)

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
