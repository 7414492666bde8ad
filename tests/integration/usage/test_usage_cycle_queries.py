"""The usage cycle's statements, counted on the real MariaDB: a cycle that finds nothing new writes nothing to WHMCS's
tblhosting or to the history tables, and the number of statements it sends does not grow with the number of services.

Not a timing test: every statement the daemon's pool sends to the server is recorded (pymysql sends each one through
its connection's `query`, executemany's rows included), for the daily UsageUpdate and the AfterCronJob check, on a
server with 20 services and one with 600 (more than any batch the stores cut their statements into).
"""

from __future__ import annotations

import contextvars
import io
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from aiohttp import web
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from bridge.app import create_app
from bridge.config import Config
from bridge.errors import BackendError, BridgeError, DatabaseError
from bridge.functions.context import Resources
from bridge.functions.usage_update import enforce_limits, usage_update
from bridge.web.appkeys import RESOURCES
from bridge.whmcs import usage_store
from bridge.whmcs.db import Conn, Database
from rig.sample_whmcs import insert_client, insert_product, insert_service
from rig.services import MariaDB, MinIO, free_port
from tests.support.whmcs_role import next_id

pytestmark = [pytest.mark.minio, pytest.mark.mariadb]
T = TypeVar("T")
WRITE = re.compile(r"^\s*(UPDATE|INSERT|DELETE|REPLACE)\b", re.IGNORECASE)
SELECT = re.compile(r"^\s*SELECT\b", re.IGNORECASE)
_IN_CALL: contextvars.ContextVar[bool] = contextvars.ContextVar("in_logged_call", default=False)
WHMCS_AND_HISTORY = ("tblhosting", "mod_s3bridge_usage_daily")  # with each day's bucket breakdown (migration 17)


@dataclass
class StatementLog:
    """Every statement the pool's connections send to MariaDB while `on`."""

    on: bool = False
    statements: list[str] = field(default_factory=list)
    # what the call left running to be written after it answered (the usage run's end): counted as the call's
    settle: Callable[[], Awaitable[None]] | None = None

    def writes_to(self, tables: tuple[str, ...]) -> list[str]:
        return [s for s in self.statements if WRITE.match(s) and any(t in s for t in tables)]

    def selects(self) -> list[str]:
        return [s for s in self.statements if SELECT.match(s)]

    async def during(self, call: Awaitable[T]) -> T:
        """Await `call` with the log cleared and on: afterwards it holds the statements `call` sent, only those (not
        those of the daemon's background tasks meanwhile, such as its heartbeat: they started outside the call),
        the writes it left to finish after it answered included (`settle`)."""
        if self.settle is not None:  # an earlier call's are not this one's
            await self.settle()
        self.statements.clear()
        self.on = True
        token = _IN_CALL.set(True)
        try:
            result = await call
            if self.settle is not None:
                await self.settle()
            return result
        finally:
            _IN_CALL.reset(token)
            self.on = False


def record_statements(db: Database, log: StatementLog) -> None:
    """Wrap each pooled connection's `query` (the one door pymysql sends a statement through) to log it."""
    run = db.run

    def logged(conn: Conn) -> None:
        if getattr(conn, "_statement_log", None) is log:
            return
        send = conn.query

        def query(sql: Any, unbuffered: bool = False) -> int:
            if log.on and getattr(conn, "_statement_log_call", False):
                log.statements.append(sql.decode(errors="replace") if isinstance(sql, bytes) else str(sql))
            return send(sql, unbuffered)

        conn.query = query  # type: ignore[method-assign]
        conn._statement_log = log  # type: ignore[attr-defined]

    async def counted(fn: Callable[[Conn], T]) -> T:
        in_call = _IN_CALL.get()  # the caller's task: the call being logged, or a background task

        def work(conn: Conn) -> T:
            logged(conn)
            conn._statement_log_call = in_call  # type: ignore[attr-defined]
            return fn(conn)

        return await run(work)

    db.run = counted  # type: ignore[method-assign]


@pytest.fixture
async def counted(config: Config) -> AsyncIterator[tuple[Resources, StatementLog]]:
    """The daemon's own resources (the app factory, the least-privilege DB user), with its statements logged."""
    app = create_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    resources = app[RESOURCES]
    log = StatementLog(settle=resources.stores.fleet.written)
    record_statements(resources.db, log)
    yield resources, log
    await runner.cleanup()


@dataclass
class Server:
    params: dict[str, Any]
    services: list[int]
    with_data: dict[int, int]  # service id -> bytes stored


def add_services(conn: Conn, serverid: int, clientid: int, prefix: str, products: dict[int, int]) -> None:
    """Services (id -> product) of one client on one server: WHMCS's rows and our records (active, standard policy,
    username `<prefix><id>`)."""
    for sid, product in products.items():
        insert_service(conn, sid, clientid, product, serverid)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state, policy, grp)"
            " VALUES (%s, %s, %s, 'minio', %s, 'active', 'standard', '')",
            [(sid, clientid, serverid, f"{prefix}{sid}") for sid in products],
        )


def populate(mariadb: MariaDB, database: str, minio: MinIO, n: int) -> Server:
    """n services on a server of their own; every tenth holds a bucket with one object (the scanner waited for)."""
    serverid, clientid, small, big = next_id(), next_id(), next_id(), next_id()
    services = [next_id() for _ in range(n)]
    conn = mariadb.connect(database)
    insert_client(conn, clientid, "Cycle", "Queries", f"cycle{clientid}@example.com", "english")
    insert_product(conn, small, "cycle 1 MB", {2: "1", 3: "MB"})
    insert_product(conn, big, "cycle 10 GB", {2: "10", 3: "GB"})
    add_services(conn, serverid, clientid, "cq", {sid: small if i % 50 == 0 else big for i, sid in enumerate(services)})
    conn.close()
    s3 = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    with_data = {}
    for i, sid in enumerate(services[::10]):
        bucket, size = f"cq{sid}--data", 1000 + i
        s3.make_bucket(bucket)
        s3.put_object(bucket, "o", io.BytesIO(b"x" * size), size)
        with_data[sid] = size
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the scanner's figures, which the cycle reads, include every bucket
        seen = json.loads(admin.get_data_usage_info()).get("bucketsUsageInfo") or {}
        if all(seen.get(f"cq{sid}--data", {}).get("size") == size for sid, size in with_data.items()):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("MinIO's scanner did not see the test's buckets within 120 s")
    params = {
        "serverid": serverid,
        "serverhostname": "127.0.0.1",
        "serverport": minio.port,
        "serversecure": "",
        "serverusername": minio.access_key,
        "serverpassword": minio.secret_key,
    }
    return Server(params, services, with_data)


async def settle(resources: Resources, server: Server) -> None:
    """Daily runs until one finds nothing to write: today's figures, history and decisions are stored."""
    for _ in range(5):
        result = (await usage_update(resources, server.params)).result
        if result["written"] == 0 and result["history"] == 0 and not result["policy_changes"]:
            return
    raise AssertionError(f"five UsageUpdate runs in a row still wrote: {result}")


async def settled_at_20_and_600(
    resources: Resources, mariadb: MariaDB, database: str, minio: MinIO
) -> AsyncIterator[tuple[int, Server]]:
    """A server with 20 services, then one with 600, each settled: the two sizes whose statement counts must match."""
    for n in (20, 600):
        server = populate(mariadb, database, minio, n)
        await settle(resources, server)
        yield n, server


def diskusage(mariadb: MariaDB, database: str, serviceids: list[int]) -> dict[int, int]:
    conn = mariadb.connect(database)
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT id, diskusage FROM tblhosting WHERE id IN ({', '.join(['%s'] * len(serviceids))})",  # noqa: S608
            serviceids,
        )
        rows = {int(r["id"]): int(r["diskusage"]) for r in cur.fetchall()}
    conn.close()
    return rows


async def test_a_cycle_that_finds_nothing_new_writes_nothing_to_whmcs_or_history_and_sends_as_many_statements_for_600_services_as_for_20(  # noqa: E501
    counted: tuple[Resources, StatementLog], mariadb: MariaDB, whmcs_db: str, minio: MinIO
) -> None:
    resources, log = counted
    selects: dict[int, int] = {}
    async for n, server in settled_at_20_and_600(resources, mariadb, whmcs_db, minio):
        assert diskusage(mariadb, whmcs_db, list(server.with_data)) == dict.fromkeys(server.with_data, 1)
        for cycle in (usage_update, enforce_limits):  # the daily UsageUpdate, the AfterCronJob check
            result = (await log.during(cycle(resources, server.params))).result
            assert result["services"] == n
            assert (result["written"], result["history"], result["policy_changes"]) == (0, 0, [])
            assert log.writes_to(WHMCS_AND_HISTORY) == [], f"{cycle.__name__} at {n} services"
            # Reads: the services (with the session's group_concat_max_len), their products, this month's traffic.
            # Writes: the run's end (the Servers page), and one more when MinIO's scanner finished a new scan since
            # (the time the figures were measured at, one statement).
            writes = [s for s in log.statements if WRITE.match(s) and "mod_s3bridge_usage_runs" not in s]
            assert len(writes) <= 1, writes
            selects.setdefault(n, len(log.selects()))
            assert len(log.selects()) == selects[n], log.selects()
            assert len(log.statements) <= 6, "\n".join(s[:90] for s in log.statements)
    assert selects[600] == selects[20]


async def test_the_first_daily_run_of_a_day_writes_every_services_history_in_statements_that_do_not_grow_with_services(
    counted: tuple[Resources, StatementLog], mariadb: MariaDB, whmcs_db: str, minio: MinIO
) -> None:
    resources, log = counted
    counts: dict[int, int] = {}
    async for n, server in settled_at_20_and_600(resources, mariadb, whmcs_db, minio):
        conn = mariadb.connect(whmcs_db)
        with conn.cursor() as cur:  # as if yesterday's run was the last: today's history is not written yet
            cur.execute(
                "UPDATE mod_s3bridge_services SET history_day = history_day - INTERVAL 1 DAY WHERE serverid = %s",
                (server.params["serverid"],),
            )
            cur.execute(
                "DELETE FROM mod_s3bridge_usage_daily WHERE serviceid IN"  # noqa: S608
                f" ({', '.join(['%s'] * n)})",
                server.services,
            )
        result = (await log.during(usage_update(resources, server.params))).result
        assert (result["written"], result["history"]) == (0, n)
        with conn.cursor() as cur:
            cur.execute(
                "SELECT COUNT(*) AS n FROM mod_s3bridge_usage_daily WHERE day = %s AND serviceid IN"  # noqa: S608
                f" ({', '.join(['%s'] * n)})",
                [resources.now().date(), *server.services],
            )
            row = cur.fetchone()
            assert row is not None
            assert row["n"] == n
        conn.close()
        # WHMCS's lastupdate is stamped once, for every service, by the day's first run; its figures are unchanged.
        assert [s for s in log.writes_to(("tblhosting",)) if "diskusage" in s] == []
        assert len(log.writes_to(("tblhosting",))) == 1
        counts[n] = len(log.statements)
    assert counts[600] == counts[20], counts


async def test_service_rows_read_as_one_json_array_per_row_keep_every_value_as_the_columns_hold_it(
    counted: tuple[Resources, StatementLog], mariadb: MariaDB, whmcs_db: str
) -> None:
    """The cycle reads each service as one JSON_ARRAY (fast to decode): a hostile client name, NULL dates, a
    figure above 2**53 and the metered flag come back exactly as the plain columns hold them."""
    resources, _ = counted
    serverid, clientid, product = next_id(), next_id(), next_id()
    quiet, metered = next_id(), next_id()
    # a newline and a tab too: the rows come back as blocks of texts, one per line (usage_store.ROWS_PER_BLOCK)
    name = 'O\'Brien "x" \\ | \u202eJürgen ✓ <b>{$a}</b>\nline two\there\r'  # tblclients is utf8: WHMCS's schema
    conn = mariadb.connect(whmcs_db)
    insert_client(conn, clientid, name, "", f"json{clientid}@example.com", "")
    insert_product(conn, product, "json 10 GB", {2: "10", 3: "GB"})
    for sid in (quiet, metered):
        insert_service(conn, sid, clientid, product, serverid)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state, policy, grp,"
            " used_bytes, usage_at, history_day) VALUES (%s, %s, %s, 'minio', %s, 'active', 'limited', '', %s, %s, %s)",
            [
                (quiet, clientid, serverid, f"js{quiet}", 2**60 + 1, None, None),
                (metered, clientid, serverid, f"js{metered}", 7, "2026-11-30 23:59:58", "2026-11-30"),
            ],
        )
        cur.execute(
            "INSERT INTO mod_s3bridge_disk_writes (serviceid, minute, written) VALUES (%s, NOW(), 5)", (metered,)
        )
        cur.execute("SELECT value FROM tblconfiguration WHERE setting = 'Language'")
        system_language = str((cur.fetchone() or {}).get("value") or "")
    conn.close()
    rows = {r.serviceid: r for r in await resources.stores.usage.services_of_server(serverid)}
    assert set(rows) == {quiet, metered}
    q, m = rows[quiet], rows[metered]
    assert (q.client_name, q.language, q.state.policy) == (name, system_language, "limited")
    assert (q.used_bytes, q.usage_at, q.history_day, q.disk_writes) == (2**60 + 1, None, None, False)
    assert (m.used_bytes, m.disk_writes) == (7, True)
    assert (str(m.usage_at), str(m.history_day)) == ("2026-11-30 23:59:58", "2026-11-30")

    # Read again, nothing changed: the rows are the ones already decoded (no JSON decoded, no row built).
    again = {r.serviceid: r for r in await resources.stores.usage.services_of_server(serverid)}
    assert again[quiet] is q
    assert again[metered] is m
    # Any value that changes, in any of the tables the row is made of, is read anew; the other row is kept.
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("UPDATE tblclients SET lastname = 'Other' WHERE id = %s", (clientid,))
        cur.execute("UPDATE mod_s3bridge_services SET used_bytes = 8, policy = 'standard' WHERE serviceid = %s",
                    (metered,))  # fmt: skip
        cur.execute("DELETE FROM mod_s3bridge_disk_writes WHERE serviceid = %s", (metered,))
    conn.close()
    later = {r.serviceid: r for r in await resources.stores.usage.services_of_server(serverid)}
    assert later[quiet].client_name == later[metered].client_name == f"{name} Other"
    assert (later[metered].used_bytes, later[metered].state.policy, later[metered].disk_writes) == (
        8,
        "standard",
        False,
    )
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("UPDATE tblhosting SET domainstatus = 'Suspended' WHERE id = %s", (quiet,))
    conn.close()
    (one,) = await resources.stores.usage.services_of_server(serverid, serviceid=quiet)
    assert one.status == "Suspended"
    final = {r.serviceid: r for r in await resources.stores.usage.services_of_server(serverid)}
    assert final[metered] is later[metered]
    assert final[quiet].status == "Suspended"


async def test_service_rows_cut_short_by_group_concat_max_len_are_an_error_never_fewer_services(
    counted: tuple[Resources, StatementLog], mariadb: MariaDB, whmcs_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rows come back in blocks joined by GROUP_CONCAT, which MySQL cuts (with a warning only) at
    group_concat_max_len: a block cut short must fail the read, not drop services from usage and limits."""
    resources, _ = counted
    serverid, clientid, product = next_id(), next_id(), next_id()
    conn = mariadb.connect(whmcs_db)
    insert_client(conn, clientid, "Cut" * 70, "Short", f"cut{clientid}@example.com", "")  # each row > 300 bytes
    insert_product(conn, product, "cut 10 GB", {2: "10", 3: "GB"})
    sids = [next_id() for _ in range(3)]
    add_services(conn, serverid, clientid, "cut", dict.fromkeys(sids, product))
    conn.close()
    assert sorted(r.serviceid for r in await resources.stores.usage.services_of_server(serverid)) == sorted(sids)
    monkeypatch.setattr(usage_store, "BLOCK_MAX_BYTES", 300)  # shorter than any one row
    cut = rf"service rows of server {serverid} short .*longer than group_concat_max_len"
    with pytest.raises(DatabaseError, match=cut):
        await resources.stores.usage.services_of_server(serverid)


async def test_decisions_whose_figure_changed_are_recorded_in_one_statement_for_600_services_as_for_20(
    counted: tuple[Resources, StatementLog], mariadb: MariaDB, whmcs_db: str, minio: MinIO
) -> None:
    resources, log = counted
    counts: dict[int, int] = {}
    async for n, server in settled_at_20_and_600(resources, mariadb, whmcs_db, minio):
        conn = mariadb.connect(whmcs_db)
        with conn.cursor() as cur:  # every service's latest decision used another figure than today's
            cur.execute(
                "UPDATE mod_s3bridge_services SET decided_by = 'listing', decided_bytes = decided_bytes + 7,"
                " decided_at = NULL WHERE serverid = %s",
                (server.params["serverid"],),
            )
        result = (await log.during(enforce_limits(resources, server.params))).result
        assert (result["services"], result["written"], result["policy_changes"]) == (n, 0, [])
        decisions = [s for s in log.statements if WRITE.match(s) and "decided_by" in s]
        assert len(decisions) == 1, f"{len(decisions)} statements record {n} decisions"
        with conn.cursor() as cur:  # each service's own figure, recorded as the scanner's, now
            cur.execute(
                "SELECT serviceid, decided_by, decided_bytes, decided_at IS NOT NULL AS stamped"
                " FROM mod_s3bridge_services WHERE serverid = %s",
                (server.params["serverid"],),
            )
            rows = {int(r["serviceid"]): (r["decided_by"], int(r["decided_bytes"]), r["stamped"]) for r in cur}
        conn.close()
        assert rows == {sid: ("scan", server.with_data.get(sid, 0), 1) for sid in server.services}
        counts[n] = len(log.statements) - len([s for s in log.statements if WRITE.match(s) and "usage_at" in s])
    assert counts[600] == counts[20], counts


async def test_a_storage_server_that_fails_is_the_error_reported_even_when_the_days_retention_beside_it_fails_too(
    counted: tuple[Resources, StatementLog], mariadb: MariaDB, whmcs_db: str, minio: MinIO, monkeypatch: Any
) -> None:
    """Retention runs while the storage server builds its answer: when both fail, the cron is told about the
    storage server (what the admin must fix first), not about the retention running beside it."""
    resources, _ = counted
    serverid, clientid, product, sid = next_id(), next_id(), next_id(), next_id()
    conn = mariadb.connect(whmcs_db)
    insert_client(conn, clientid, "Retention", "Beside", f"ret{clientid}@example.com", "english")
    insert_product(conn, product, "retention 10 GB", {2: "10", 3: "GB"})
    insert_service(conn, sid, clientid, product, serverid)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state, policy, grp)"
            " VALUES (%s, %s, %s, 'minio', %s, 'active', 'standard', '')",
            (sid, clientid, serverid, f"rb{sid}"),
        )
    conn.close()

    async def retention_fails(keep_days: dict[int, int], today: Any) -> int:
        assert sid in keep_days  # it did run beside the scan
        raise BridgeError("the database refused the retention")

    monkeypatch.setattr(resources.stores.usage, "apply_retention", retention_fails)
    closed = free_port()  # nothing listens: the storage server is away
    params = {"serverid": serverid, "serverhostname": "127.0.0.1", "serverport": closed, "serversecure": "",
              "serverusername": minio.access_key, "serverpassword": minio.secret_key}  # fmt: skip
    with pytest.raises(BackendError) as e:
        await usage_update(resources, params)
    assert "retention" not in e.value.message
