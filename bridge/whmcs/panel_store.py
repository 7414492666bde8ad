"""SQL of the self-service panel: accounts by storage username, plans and prices, users for admins, API tokens,
service events, cancellation requests. Every query is parameterized; filters and sort keys come from allow-lists."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bridge.whmcs.db import Conn, Database

CANCELLATION_SIDE_EFFECTS = ("CancelInvoiceOnCancellation", "AutoCancelSubscriptions")

_PLAN_CYCLES = ("monthly", "quarterly", "semiannually", "annually", "biennially", "triennially")


@dataclass(frozen=True)
class Account:
    serviceid: int
    clientid: int
    username: str
    state: str
    serverid: int
    backend: str
    packageid: int
    status: str  # tblhosting.domainstatus


@dataclass(frozen=True)
class TokenRow:
    token_id: str
    kind: str
    clientid: int | None
    name: str
    secret_sha256: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


_ACCOUNT_SQL = (
    "SELECT s.serviceid, h.userid AS clientid, s.username, s.state, s.serverid, s.backend, h.packageid,"
    " h.domainstatus AS status FROM mod_s3bridge_services s JOIN tblhosting h ON h.id = s.serviceid"
)


def _account(row: dict[str, Any]) -> Account:
    return Account(
        int(row["serviceid"]), int(row["clientid"]), str(row["username"]), str(row["state"]), int(row["serverid"]),
        str(row["backend"]), int(row["packageid"]), str(row["status"]),
    )  # fmt: skip


class PanelStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- accounts -----------------------------------------------------------------------------------------------

    async def accounts_named(self, s3uid: str, clientid: int | None) -> list[Account]:
        """Live accounts with this storage username, of this client only when `clientid` is given."""

        def q(conn: Conn) -> list[Account]:
            sql = _ACCOUNT_SQL + " WHERE s.username = %s AND s.state <> 'terminated'"
            args: list[Any] = [s3uid]
            if clientid is not None:
                sql += " AND h.userid = %s"
                args.append(clientid)
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return [_account(r) for r in cur.fetchall()]

        return await self.db.run(q)

    async def account(self, serviceid: int) -> Account | None:
        def q(conn: Conn) -> Account | None:
            with conn.cursor() as cur:
                cur.execute(_ACCOUNT_SQL + " WHERE s.serviceid = %s", (serviceid,))
                row = cur.fetchone()
            return _account(row) if row else None

        return await self.db.run(q)

    async def client_accounts(self, clientid: int) -> list[Account]:
        def q(conn: Conn) -> list[Account]:
            with conn.cursor() as cur:
                cur.execute(
                    _ACCOUNT_SQL + " WHERE h.userid = %s AND s.state <> 'terminated' ORDER BY s.serviceid", (clientid,)
                )
                return [_account(r) for r in cur.fetchall()]

        return await self.db.run(q)

    async def service_params(self, serviceid: int) -> dict[str, Any] | None:
        """WHMCS's $params of a service as far as the database holds them; the server password and the service
        password stay encrypted (`serverpassword_encrypted`, `password_encrypted`): WHMCS's API decrypts them."""

        def q(conn: Conn) -> dict[str, Any] | None:
            options = ", ".join(f"p.configoption{n}" for n in range(1, 25))
            with conn.cursor() as cur:
                cur.execute(
                    f"SELECT h.id AS serviceid, h.userid, h.packageid AS pid, h.server AS serverid, h.username,"  # noqa: S608
                    f" h.password AS password_encrypted, h.domain, {options}, sv.hostname, sv.ipaddress,"
                    " sv.username AS serverusername, sv.password AS serverpassword_encrypted, sv.accesshash,"
                    " sv.secure, sv.port, c.language, c.email, c.firstname, c.lastname"
                    " FROM tblhosting h JOIN tblproducts p ON p.id = h.packageid"
                    " JOIN mod_s3bridge_servers sv ON sv.id = h.server"  # this module's tblservers rows (grants.py)
                    " JOIN tblclients c ON c.id = h.userid WHERE h.id = %s",
                    (serviceid,),
                )
                row = cur.fetchone()
            if row is None:
                return None
            un = html.unescape  # WHMCS stores tblservers values HTML-encoded and decodes them for $params
            params: dict[str, Any] = {
                k: row[k] for k in ("serviceid", "userid", "pid", "serverid", "username", "domain")
            }
            params.update({f"configoption{n}": row[f"configoption{n}"] for n in range(1, 25)})
            host = un(str(row["hostname"] or "")) or un(str(row["ipaddress"] or ""))
            params.update(
                serverhostname=host,
                serverip=un(str(row["ipaddress"] or "")),
                serverusername=un(str(row["serverusername"] or "")),
                serveraccesshash=un(str(row["accesshash"] or "")),
                serversecure=str(row["secure"] or "") in ("on", "1"),
                serverport=int(row["port"]) if str(row["port"] or "").isdigit() and int(row["port"]) else "",
                serverpassword_encrypted=str(row["serverpassword_encrypted"] or ""),
                password_encrypted=str(row["password_encrypted"] or ""),
                clientsdetails={
                    "id": row["userid"], "email": row["email"], "language": row["language"],
                    "firstname": row["firstname"], "lastname": row["lastname"],
                },
            )  # fmt: skip
            return params

        return await self.db.run(q)

    async def client_exists(self, clientid: int) -> bool:
        def q(conn: Conn) -> bool:
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM tblclients WHERE id = %s", (clientid,))
                return cur.fetchone() is not None

        return await self.db.run(q)

    async def client_status(self, clientid: int) -> str | None:
        """tblclients.status ('Active', 'Inactive', 'Closed'); None when WHMCS has no such client."""

        def q(conn: Conn) -> str | None:
            with conn.cursor() as cur:
                cur.execute("SELECT status FROM tblclients WHERE id = %s", (clientid,))
                row = cur.fetchone()
                return None if row is None else str(row["status"])

        return await self.db.run(q)

    # -- plans --------------------------------------------------------------------------------------------------

    async def plans(self, plan_id: int | None, *, only_active: bool) -> list[dict[str, Any]]:
        """Products using this module, with their location (server group), backend and prices per currency."""

        def q(conn: Conn) -> list[dict[str, Any]]:
            sql = (
                "SELECT p.id, p.name, p.hidden, p.retired, p.paytype, p.configoption1 AS backend,"
                " p.configoption22 AS max_buckets, p.configoption23 AS gateway, p.overagesenabled,"
                " p.overagesdiskprice, p.overagesbwprice,"
                " COALESCE(g.name, '') AS location FROM tblproducts p"
                " LEFT JOIN tblservergroups g ON g.id = p.servergroup WHERE p.servertype = 's3bridge'"
            )
            args: list[Any] = []
            if plan_id is not None:
                sql += " AND p.id = %s"
                args.append(plan_id)
            if only_active:
                sql += " AND p.hidden = 0 AND p.retired = 0"
            with conn.cursor() as cur:
                cur.execute(sql + " ORDER BY p.id", args)
                plans = list(cur.fetchall())
                if not plans:
                    return []
                ids = [int(p["id"]) for p in plans]
                marks = ", ".join(["%s"] * len(ids))
                cur.execute(
                    f"SELECT pr.relid, c.code, c.rate, c.`default` AS is_default, {', '.join('pr.' + c for c in _PLAN_CYCLES)}"  # noqa: E501, S608
                    f" FROM tblpricing pr JOIN tblcurrencies c ON c.id = pr.currency"
                    f" WHERE pr.type = 'product' AND pr.relid IN ({marks})",
                    ids,
                )
                prices: dict[int, list[dict[str, Any]]] = {}
                for r in cur.fetchall():
                    prices.setdefault(int(r["relid"]), []).append(r)
                cur.execute("SELECT code, rate, `default` AS is_default FROM tblcurrencies ORDER BY id")
                currencies = list(cur.fetchall())
            for p in plans:
                p["prices"] = prices.get(int(p["id"]), [])
                p["currencies"] = currencies
            return plans

        return await self.db.run(q)

    async def client_currency(self, clientid: int) -> str:
        def q(conn: Conn) -> str:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT c.code FROM tblclients cl JOIN tblcurrencies c ON c.id = cl.currency WHERE cl.id = %s",
                    (clientid,),
                )
                row = cur.fetchone()
                if row is None:
                    cur.execute("SELECT code FROM tblcurrencies WHERE `default` = 1 ORDER BY id LIMIT 1")
                    row = cur.fetchone()
            return str(row["code"]) if row else ""

        return await self.db.run(q)

    async def client_gateway(self, clientid: int) -> str:
        def q(conn: Conn) -> str:
            with conn.cursor() as cur:
                cur.execute("SELECT defaultgateway FROM tblclients WHERE id = %s", (clientid,))
                row = cur.fetchone()
            return str(row["defaultgateway"] or "") if row else ""

        return await self.db.run(q)

    # -- users (admins) -----------------------------------------------------------------------------------------

    async def users(self, f: dict[str, Any], period: tuple[date, date]) -> tuple[int, list[dict[str, Any]]]:
        """Services with their client, plan, location, peak storage and traffic over the period, in two queries: the
        filters narrow the services and only their days of the period are read (the usage table's key is (serviceid,
        day)), grouped and sorted in the database as narrow rows; then the details of that one page."""
        where = ["s.state <> 'terminated'"]
        args: list[Any] = []
        for key, column in (("id", "h.userid"), ("plan_id", "h.packageid"), ("s3uid", "s.username"),
                            ("email", "c.email"), ("billing", "cur.code"), ("storage_type", "s.backend"),
                            ("location", "g.name")):  # fmt: skip
            if f.get(key) not in (None, ""):
                where.append(f"{column} = %s")
                args.append(f[key])
        if f.get("bucket_name"):
            where.append("s.username = %s")
            args.append(str(f["bucket_name"]).split("--", 1)[0])
        order_col = {"total_traffic_period_gb": "traffic", "total_storage_peak_gb": "peak", "id": "s.serviceid"}[
            f.get("order") or "id"
        ]
        direction = "DESC" if str(f.get("order_by") or "ASC").upper() == "DESC" else "ASC"
        joins = (
            " FROM mod_s3bridge_services s JOIN tblhosting h ON h.id = s.serviceid"
            " JOIN tblclients c ON c.id = h.userid JOIN tblproducts p ON p.id = h.packageid"
            " LEFT JOIN tblcurrencies cur ON cur.id = c.currency LEFT JOIN tblservergroups g ON g.id = p.servergroup"
        )
        cond = " WHERE " + " AND ".join(where)

        def q(conn: Conn) -> tuple[int, list[dict[str, Any]]]:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) AS n" + joins + cond, args)
                total = int((cur.fetchone() or {"n": 0})["n"])
                # 1. the page: narrow rows (id and the two figures) grouped and sorted in the database
                cur.execute(
                    "SELECT s.serviceid, COALESCE(MAX(u.used_bytes), 0) AS peak,"
                    " COALESCE(SUM(u.sent_bytes + u.received_bytes), 0) AS traffic"
                    + joins
                    + " LEFT JOIN mod_s3bridge_usage_daily u ON u.serviceid = s.serviceid AND u.day BETWEEN %s AND %s"
                    + cond
                    + f" GROUP BY s.serviceid ORDER BY {order_col} {direction}, s.serviceid ASC LIMIT %s OFFSET %s",
                    [period[0], period[1], *args, int(f.get("limit") or 100), int(f.get("offset") or 0)],
                )
                page = list(cur.fetchall())
                if not page:
                    return total, []
                # 2. the details of that page only
                ids = [int(r["serviceid"]) for r in page]
                cur.execute(
                    "SELECT s.serviceid, s.username, s.backend, s.used_bytes, h.userid, h.packageid, h.domainstatus,"
                    " h.billingcycle, h.regdate, h.nextduedate, h.amount, c.email, COALESCE(cur.code, '') AS currency,"
                    " COALESCE(g.name, '') AS location, p.name AS plan, p.configoption1 AS storage_type"
                    + joins
                    + f" WHERE s.serviceid IN ({', '.join(['%s'] * len(ids))})",
                    ids,
                )
                details = {int(r["serviceid"]): r for r in cur.fetchall()}
            return total, [{**details[int(r["serviceid"])], "peak": r["peak"], "traffic": r["traffic"]} for r in page]

        return await self.db.run(q)

    async def metering(self, serviceid: int, since: date) -> tuple[int, int]:
        """(traffic bytes sent + received, peak stored bytes) of the service's days since `since`."""

        def q(conn: Conn) -> tuple[int, int]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT COALESCE(SUM(sent_bytes + received_bytes), 0) AS traffic,"
                    " COALESCE(MAX(used_bytes), 0) AS peak FROM mod_s3bridge_usage_daily"
                    " WHERE serviceid = %s AND day >= %s",
                    (serviceid, since),
                )
                row = cur.fetchone() or {"traffic": 0, "peak": 0}
            return int(row["traffic"]), int(row["peak"])

        return await self.db.run(q)

    # -- tokens -------------------------------------------------------------------------------------------------

    async def add_token(self, token_id: str, kind: str, clientid: int | None, name: str, secret_sha256: str) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_api_tokens (token_id, kind, clientid, name, secret_sha256)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (token_id, kind, clientid, name, secret_sha256),
                )

        await self.db.run(q)

    async def token(self, token_id: str) -> TokenRow | None:
        def q(conn: Conn) -> TokenRow | None:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT token_id, kind, clientid, name, secret_sha256, created_at, last_used_at, revoked_at"
                    " FROM mod_s3bridge_api_tokens WHERE token_id = %s",
                    (token_id,),
                )
                row = cur.fetchone()
            return TokenRow(**row) if row else None

        return await self.db.run(q)

    async def tokens_of(self, clientid: int) -> list[TokenRow]:
        def q(conn: Conn) -> list[TokenRow]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT token_id, kind, clientid, name, secret_sha256, created_at, last_used_at, revoked_at"
                    " FROM mod_s3bridge_api_tokens WHERE clientid = %s AND kind = 'client' AND revoked_at IS NULL"
                    " ORDER BY created_at",
                    (clientid,),
                )
                return [TokenRow(**r) for r in cur.fetchall()]

        return await self.db.run(q)

    async def revoke_token(self, token_id: str, clientid: int | None) -> bool:
        def q(conn: Conn) -> bool:
            with conn.cursor() as cur:
                sql = "UPDATE mod_s3bridge_api_tokens SET revoked_at = NOW() WHERE token_id = %s AND revoked_at IS NULL"
                args: list[Any] = [token_id]
                if clientid is not None:
                    sql += " AND clientid = %s AND kind = 'client'"
                    args.append(clientid)
                cur.execute(sql, args)
                return bool(cur.rowcount)

        return await self.db.run(q)

    async def touch_token(self, token_id: str) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(  # at most once a minute: no write (and no log flush) on every call
                    "UPDATE mod_s3bridge_api_tokens SET last_used_at = NOW() WHERE token_id = %s"
                    " AND (last_used_at IS NULL OR last_used_at < NOW() - INTERVAL 60 SECOND)",
                    (token_id,),
                )

        await self.db.run(q)

    # -- events -------------------------------------------------------------------------------------------------

    async def add_event(self, serviceid: int, event: str, detail: str, actor: str) -> None:
        def q(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute(
                    "INSERT INTO mod_s3bridge_events (serviceid, event, detail, actor) VALUES (%s, %s, %s, %s)",
                    (serviceid, event[:64], detail[:500], actor[:64]),
                )

        await self.db.run(q)

    async def events(self, serviceid: int, limit: int) -> list[dict[str, Any]]:
        def q(conn: Conn) -> list[dict[str, Any]]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT at, event, detail, actor FROM mod_s3bridge_events WHERE serviceid = %s"
                    " ORDER BY at DESC, id DESC LIMIT %s",
                    (serviceid, limit),
                )
                return list(cur.fetchall())

        return await self.db.run(q)

    # -- cancellation requests ----------------------------------------------------------------------------------

    async def cancel_requests(self, serviceid: int) -> list[dict[str, Any]]:
        def q(conn: Conn) -> list[dict[str, Any]]:
            with conn.cursor() as cur:
                cur.execute("SELECT id, date, type, reason FROM tblcancelrequests WHERE relid = %s", (serviceid,))
                return list(cur.fetchall())

        return await self.db.run(q)

    async def cancellation_side_effects(self) -> list[str]:
        """The WHMCS settings on which filing a cancellation also cancelled things a withdrawal cannot restore:
        unpaid invoices ("Invoices after Cancellation", CancelInvoiceOnCancellation) and gateway subscriptions
        (AutoCancelSubscriptions)."""

        def q(conn: Conn) -> list[str]:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT setting FROM tblconfiguration WHERE setting IN (%s, %s) AND LOWER(value) IN ('on', '1')",
                    CANCELLATION_SIDE_EFFECTS,
                )
                return sorted(str(r["setting"]) for r in cur.fetchall())

        return await self.db.run(q)

    async def withdraw_cancel_requests(self, serviceid: int, filed_mark: str, *, by: str) -> int:
        """Deletes the service's requests whose reason ends with `filed_mark` (the panel's own; others stay) and,
        when there was one, writes WHMCS's own activity-log line for it ("Removed Automatic Cancellation"), in one
        transaction."""

        def q(conn: Conn) -> int:
            with conn.cursor() as cur:
                cur.execute(
                    "DELETE FROM tblcancelrequests WHERE relid = %s AND RIGHT(reason, %s) = %s",
                    (serviceid, len(filed_mark), filed_mark),
                )
                removed = int(cur.rowcount)
                if removed:
                    cur.execute("SELECT userid FROM tblhosting WHERE id = %s", (serviceid,))
                    row = cur.fetchone()
                    cur.execute(
                        "INSERT INTO tblactivitylog (date, description, user, userid, user_id, admin_id, ipaddr)"
                        " VALUES (NOW(), %s, %s, %s, 0, 0, '')",
                        (f"Removed Automatic Cancellation for Service ID: {serviceid}", by,
                         int(row["userid"]) if row else 0),
                    )  # fmt: skip
            return removed

        return await self.db.run(q)
