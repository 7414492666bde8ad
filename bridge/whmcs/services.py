"""The daemon's record of each service's account (`mod_s3bridge_services`): what exists and in which state, and the
usage figures kept beside it. This module is the table's only writer (tests/unit/architecture/test_stores.py).

A record is written before anything is created on the storage server, so nothing ever exists there that the records
do not know about. The usage cycle's figures are written as steps (`figures_step`, `measured_step`) that the usage
store runs in its own transaction, beside tblhosting's figures and the history rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

import pymysql

from bridge.domain.policies import PolicyKind
from bridge.domain.traffic import Figure, FigureSource
from bridge.domain.usage_rules import LimitState
from bridge.whmcs.batch import JOIN_CHUNK, Step, chunks, db_time, int_list, rows
from bridge.whmcs.db import Conn, Database

# retained: Terminate deleted all it could; versions under COMPLIANCE retention stay and the user is disabled
State = Literal["creating", "active", "suspended", "terminating", "retained", "terminated"]


@dataclass(frozen=True)
class ServiceRecord:
    serviceid: int
    userid: int
    serverid: int
    backend: str
    username: str
    state: State
    policy: PolicyKind
    grp: str
    access_key: str = ""  # backends that generate key pairs (ostor): the pair WHMCS holds
    pending_access_key: str = ""  # a rotation handed to WHMCS, the old pair not yet revoked
    backend_user_id: str = ""  # the storage server's own id of the account (ostor traffic statistics)
    # Native quotas the module set (ostor), GB, 0 = none: only these are ever changed or removed again. None = not
    # recorded (a service created before migration 10): whatever quota the server holds counts as the module's.
    quota_gb: int | None = 0
    bucket_quota_gb: int | None = 0

    @property
    def exists(self) -> bool:
        return self.state != "terminated"


class UsernameTaken(Exception):
    pass


_FIELDS = ("serviceid", "userid", "serverid", "backend", "username", "state", "policy", "grp", "access_key",
           "pending_access_key", "backend_user_id", "quota_gb", "bucket_quota_gb")  # fmt: skip
_COLUMNS = ", ".join(_FIELDS)
_MARKS = ", ".join(["%s"] * len(_FIELDS))


class ServiceRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, serviceid: int) -> ServiceRecord | None:
        def q(conn: Conn) -> dict[str, Any] | None:
            with conn.cursor() as cur:
                cur.execute(f"SELECT {_COLUMNS} FROM mod_s3bridge_services WHERE serviceid = %s", (serviceid,))  # noqa: S608
                return cur.fetchone()

        row = await self.db.run(q)
        return ServiceRecord(**row) if row else None

    async def client_of(self, serviceid: int) -> int | None:
        """tblhosting.userid of the service (the client WHMCS says owns it); None when WHMCS has no such service."""

        def q(conn: Conn) -> int | None:
            with conn.cursor() as cur:
                cur.execute("SELECT userid FROM tblhosting WHERE id = %s", (serviceid,))
                row = cur.fetchone()
            return int(row["userid"]) if row else None

        return await self.db.run(q)

    async def username_in_use(self, serverid: int, username: str, *, other_than: int) -> bool:
        """Does another service's record (live or terminated) hold this username on this server?"""

        def q(conn: Conn) -> bool:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT 1 FROM mod_s3bridge_services WHERE serverid = %s AND username = %s AND serviceid <> %s",
                    (serverid, username, other_than),
                )
                return cur.fetchone() is not None

        return await self.db.run(q)

    async def claim(self, rec: ServiceRecord) -> None:
        """Record a new account in state 'creating' (replacing a terminated record of the same service)."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                # Delete only a row that is there: a DELETE that matches nothing gap-locks the index, and two
                # creates of neighbouring service ids then deadlock on their INSERTs.
                cur.execute("SELECT state FROM mod_s3bridge_services WHERE serviceid = %s", (rec.serviceid,))
                old = cur.fetchone()
                if old is not None and old["state"] == "terminated":
                    cur.execute("DELETE FROM mod_s3bridge_services WHERE serviceid = %s", (rec.serviceid,))
                try:
                    cur.execute(
                        f"INSERT INTO mod_s3bridge_services ({_COLUMNS}) VALUES ({_MARKS})",  # noqa: S608
                        tuple(getattr(rec, f) for f in _FIELDS),
                    )
                except pymysql.err.IntegrityError as e:
                    raise UsernameTaken(rec.username) from e

        await self.db.run(q)

    async def save_limit_state(self, serviceid: int, state: LimitState) -> None:
        """The service's limit state (policy, warned, over the limit), after a decision of the cron or the meter."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE mod_s3bridge_services SET policy = %s, warned = %s, over_limit = %s WHERE serviceid = %s",
                    (state.policy, int(state.warned), int(state.over_limit), serviceid),
                )

        await self.db.run(q)

    async def update(self, serviceid: int, **fields: str | int | None) -> None:
        allowed = {"state", "policy", "grp", "access_key", "pending_access_key", "backend_user_id", "quota_gb",
                   "bucket_quota_gb"}  # fmt: skip
        if not fields or set(fields) - allowed:
            raise ValueError(f"can only update {sorted(allowed)}")
        assignments = ", ".join(f"{k} = %s" for k in fields)

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    f"UPDATE mod_s3bridge_services SET {assignments} WHERE serviceid = %s",  # noqa: S608
                    (*fields.values(), serviceid),
                )

        await self.db.run(q)

    async def set_figure_times(self, times: Sequence[tuple[int, datetime | None, FigureSource]]) -> None:
        """When each service's stored figure (used_bytes) was measured, and how (the disk estimate counts from there,
        bridge.whmcs.meter_store; None: never measured, every retained write counts). A figure's time is the second
        it started in, never rounded up: what happened in that second is treated as possibly before it (see
        bridge.domain.traffic.estimate)."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.executemany(
                    "UPDATE mod_s3bridge_services SET figure_at = %s, figure_source = %s WHERE serviceid = %s",
                    [(db_time(at), src, sid) for sid, at, src in times],
                )

        await self.db.run(q)

    async def set_listing(self, serviceid: int, used: int, at: datetime) -> None:
        """An exact listing started at `at` found `used` bytes: the new figure the disk estimate counts from."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE mod_s3bridge_services SET used_bytes = %s, usage_exact = 1, figure_at = %s,"
                    " figure_source = 'listing' WHERE serviceid = %s",
                    (used, db_time(at), serviceid),
                )

        await self.db.run(q)

    async def record_decisions(self, decisions: Sequence[tuple[int, Figure]], when: datetime) -> None:
        """Which figure the latest limit decision of each service used (the admin tab shows it): one statement per
        1,000 services, joined to the new values, whatever the number of services."""
        if not decisions:
            return
        at = when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                for chunk in chunks(decisions, JOIN_CHUNK):
                    values = [x for sid, f in chunk for x in (sid, f.source, f.bytes)]
                    cur.execute(
                        f"UPDATE mod_s3bridge_services s JOIN {rows(('id', 'src', 'n'), len(chunk))} v"  # noqa: S608
                        " ON s.serviceid = v.id SET s.decided_by = v.src, s.decided_bytes = v.n, s.decided_at = %s",
                        [*values, at],
                    )

        await self.db.run(q)


def figures_step(
    figures: Sequence[tuple[int, int, str]], measured_at: datetime, *, exact: bool, history_day: date | None
) -> Step | None:
    """The daemon's copy of new figures, (service id, used bytes, usage digest) each: measured at `measured_at`,
    exact or not, and the day history was written for (None when it was not). One statement per 1,000 services,
    joined to the new values (linear, unlike CASE)."""
    if not figures:
        return None
    measured = db_time(measured_at)

    def step(conn: Conn, cur: Any) -> None:
        for chunk in chunks(figures, JOIN_CHUNK):
            values: list[Any] = [x for row in chunk for x in row]
            cur.execute(
                f"UPDATE mod_s3bridge_services s JOIN {rows(('id', 'used', 'digest'), len(chunk))} v"  # noqa: S608
                " ON s.serviceid = v.id SET s.used_bytes = v.used, s.usage_digest = v.digest,"
                " s.usage_at = %s, s.usage_exact = %s, s.history_day = %s",
                [*values, measured, int(exact), history_day],
            )

    return step


def measured_step(
    serviceids: Sequence[int], measured_at: datetime, figure_at: datetime | None, history_day: date | None
) -> Step | None:
    """These services' figures are the ones measured at `measured_at` (usage_at), and their disk estimate counts
    from the scan at `figure_at`; with `history_day`, today's history rows are written for each of them. One
    statement, whatever the number of services; the caller asks only where a stored value differs."""
    if not serviceids:
        return None
    ids = int_list(serviceids)
    sets = "usage_at = %s, figure_at = %s, figure_source = 'scan'" + (", history_day = %s" if history_day else "")
    args: list[Any] = [db_time(measured_at), db_time(figure_at)] + ([history_day] if history_day else [])

    def step(conn: Conn, cur: Any) -> None:
        cur.execute(f"UPDATE mod_s3bridge_services SET {sets} WHERE serviceid IN ({ids})", args)  # noqa: S608

    return step
