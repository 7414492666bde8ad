"""The daemon's record of each service's account (`mod_s3bridge_services`): what exists and in which state.

A record is written before anything is created on the storage server, so nothing ever exists there that the records
do not know about.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pymysql

from bridge.domain.policies import PolicyKind
from bridge.domain.usage_rules import LimitState
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
