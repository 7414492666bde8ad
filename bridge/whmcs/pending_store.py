"""Secrets handed to WHMCS but not yet seen back, sealed in the WHMCS database (`mod_s3bridge_pending`).

CreateAccount may run again before WHMCS stored the password it was given (a retry after a timeout, 20 concurrent
calls, another daemon). Until WHMCS is seen holding it (a later call carries it as `password`), every repeat, on any
daemon, returns the same secret, so whichever answer WHMCS applies last matches the storage server. Rows are sealed
with AES-GCM (bridge.domain.sealing) bound to the service id, expire after TTL_SECONDS, and are read and written only
under the service's lock. The secret never reaches a log.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable

from bridge.domain.sealing import SecretBox
from bridge.domain.secret import Secret
from bridge.whmcs.db import Conn, Database

TTL_SECONDS = 15 * 60
PURPOSE = b"pending-secrets"


def _context(serviceid: int) -> bytes:
    return b"service:%d" % serviceid


class PendingSecrets:
    def __init__(
        self, db: Database, box: SecretBox, *, ttl: float = TTL_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.db, self.box, self.ttl, self.clock = db, box, ttl, clock

    async def put(self, serviceid: int, secret: str) -> None:
        sealed = self.box.seal(secret, _context(serviceid))
        expires = int(self.clock() + self.ttl)

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_pending (serviceid, sealed, expires_at) VALUES (%s, %s, %s)"
                    " ON DUPLICATE KEY UPDATE sealed = VALUES(sealed), expires_at = VALUES(expires_at)",
                    (serviceid, sealed, expires),
                )

        await self.db.run(q)

    async def get(self, serviceid: int) -> Secret | None:
        now = int(self.clock())

        def q(conn: Conn) -> bytes | None:
            with conn.cursor() as cur:
                # expired rows of every service go here too: the table holds only live secrets
                cur.execute("DELETE FROM mod_s3bridge_pending WHERE expires_at < %s", (now,))
                cur.execute("SELECT sealed FROM mod_s3bridge_pending WHERE serviceid = %s", (serviceid,))
                row = cur.fetchone()
                return bytes(row["sealed"]) if row else None

        sealed = await self.db.run(q)
        plain = None if sealed is None else self.box.open(sealed, _context(serviceid))
        return None if plain is None else Secret(plain)

    async def settle(self, serviceid: int, seen: str) -> None:
        """WHMCS sent `seen` as the service password: if it is the pending one, WHMCS holds it; forget it."""
        pending = await self.get(serviceid)
        if pending is not None and hmac.compare_digest(pending.encode(), seen.encode()):
            await self.drop(serviceid)

    async def drop(self, serviceid: int) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute("DELETE FROM mod_s3bridge_pending WHERE serviceid = %s", (serviceid,))

        await self.db.run(q)
