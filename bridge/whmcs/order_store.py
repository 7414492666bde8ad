"""The first bucket a client named when ordering from the panel (`mod_s3bridge_orders`).

WHMCS's AddOrder has no field for it that the client area does not show (its `domain` becomes a Domain tab with
"Visit Website http://<name>"), so the panel files the name here and CreateAccount of that client's next new
service of that product takes it. A row is bound to the service that took it (so a retried CreateAccount finds the
same name) and is never taken twice. An order WHMCS refused leaves no row (`withdraw`); an order placed through
WHMCS's API binds its row to the service WHMCS created (`bind`) at once.
"""

from __future__ import annotations

from bridge.whmcs.db import Conn, Database


class OrderBuckets:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, clientid: int, packageid: int, bucket_suffix: str) -> int:
        """Files the name as waiting; the row's id (the order's reference until WHMCS placed it)."""

        def q(conn: Conn) -> int:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_orders (clientid, packageid, bucket_suffix) VALUES (%s, %s, %s)",
                    (clientid, packageid, bucket_suffix),
                )
                ref = int(cur.lastrowid or 0)
            conn.commit()
            return ref

        return await self.db.run(q)

    async def withdraw(self, ref: int, clientid: int) -> str | None:
        """Removes the waiting row `ref` of this client (its order was not placed); the name it held, or None when
        there is no such row waiting (taken by a service, another client's, or gone)."""

        def q(conn: Conn) -> str | None:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT bucket_suffix FROM mod_s3bridge_orders WHERE id = %s AND clientid = %s"
                    " AND serviceid IS NULL FOR UPDATE",
                    (ref, clientid),
                )
                row = cur.fetchone()
                if row is not None:
                    cur.execute("DELETE FROM mod_s3bridge_orders WHERE id = %s AND serviceid IS NULL", (ref,))
            conn.commit()
            return str(row["bucket_suffix"]) if row else None

        return await self.db.run(q)

    async def bind(self, ref: int, serviceid: int) -> None:
        """The waiting row `ref` belongs to `serviceid` (WHMCS answered the order with it)."""

        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE mod_s3bridge_orders SET serviceid = %s WHERE id = %s AND serviceid IS NULL",
                    (serviceid, ref),
                )
            conn.commit()

        await self.db.run(q)

    async def take(self, serviceid: int, clientid: int, packageid: int, *, bind: bool) -> str | None:
        """The bucket suffix ordered for this service: the one it already took, else the oldest one waiting for
        this client and product when `bind` (a service being created: bound to it now); None when none."""

        def q(conn: Conn) -> str | None:
            with conn.cursor() as cur:
                taken = "SELECT bucket_suffix FROM mod_s3bridge_orders WHERE serviceid = %s"
                cur.execute(taken, (serviceid,))
                row = cur.fetchone()
                if row is None and bind:
                    cur.execute(
                        "UPDATE mod_s3bridge_orders SET serviceid = %s WHERE serviceid IS NULL AND clientid = %s"
                        " AND packageid = %s ORDER BY id LIMIT 1",
                        (serviceid, clientid, packageid),
                    )
                    cur.execute(taken, (serviceid,))
                    row = cur.fetchone()
            conn.commit()
            return str(row["bucket_suffix"]) if row else None

        return await self.db.run(q)
