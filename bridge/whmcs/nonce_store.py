"""The replay guard's memory in the WHMCS database (`mod_s3bridge_nonces`), shared by every daemon and kept across
restarts: a nonce is accepted once; the primary key refuses a second insert from any daemon. Entries older than twice
the signing window can never be replayed (their timestamp is refused first), so they are pruned now and then."""

from __future__ import annotations

import pymysql

from bridge.whmcs.db import Conn, Database

DUPLICATE_KEY = 1062
PRUNE_EVERY_S = 60.0
PRUNE_BATCH = 10_000


class SharedNonces:
    def __init__(self, db: Database, window: float) -> None:
        self.db = db
        self.window = window
        self._last_prune = float("-inf")

    async def first_use(self, nonce: str, now: float) -> bool:
        prune = now - self._last_prune >= PRUNE_EVERY_S
        if prune:
            self._last_prune = now

        def q(conn: Conn) -> bool:
            with conn.cursor() as cur:
                if prune:
                    cur.execute(
                        "DELETE FROM mod_s3bridge_nonces WHERE seen_at < %s LIMIT %s",
                        (int(now - 2 * self.window), PRUNE_BATCH),
                    )
                try:
                    cur.execute("INSERT INTO mod_s3bridge_nonces (nonce, seen_at) VALUES (%s, %s)", (nonce, int(now)))
                except pymysql.err.IntegrityError as e:
                    if e.args[0] == DUPLICATE_KEY:
                        return False
                    raise
                return True

        return await self.db.run(q)
