"""The history trim (the day's first usage run deletes what left each product's retention window) beside the day's
history write, on the real MariaDB: the trim runs while today's rows go into the same tables, and must not make
that write wait for it; on a server whose binary log is statement-based it still trims."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, timedelta

import pymysql
import pytest

from bridge.config import DatabaseConfig
from bridge.whmcs.db import Database, connect
from bridge.whmcs.migrations import migrate
from bridge.whmcs.usage_store import UsageStore, trim_history
from rig.services import MariaDB, free_port, scratch_dir

TODAY = date(2026, 12, 2)
OLDER = 3_900_001  # service ids of this module only: the shared database holds other tests' services
NEWER = 3_900_002


def _history(conn: pymysql.connections.Connection[pymysql.cursors.DictCursor]) -> None:
    """Two services' history, ids adjacent: a year each, and the day that has just left a 365-day window. In the
    primary key (serviceid, day), NEWER's expired row comes right after OLDER's yesterday: where OLDER's today goes."""
    with conn.cursor() as cur:
        for sid in (OLDER, NEWER):
            cur.execute("DELETE FROM mod_s3bridge_usage_daily WHERE serviceid = %s", (sid,))
            cur.executemany(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
                " VALUES (%s, %s, 1, 1, 1)",
                [(sid, TODAY - timedelta(days=age)) for age in (366, 200, 1)],
            )
    conn.commit()


def _days(conn: pymysql.connections.Connection[pymysql.cursors.DictCursor], sid: int) -> list[int]:
    with conn.cursor() as cur:
        cur.execute("SELECT day FROM mod_s3bridge_usage_daily WHERE serviceid = %s ORDER BY day", (sid,))
        return [(TODAY - r["day"]).days for r in cur.fetchall()]


def test_the_trim_does_not_hold_up_the_days_history_write(mariadb: MariaDB, whmcs_db: str) -> None:
    """With the trim's transaction still open (it has deleted NEWER's expired row), OLDER's row of today goes in at
    once: at REPEATABLE READ the delete locked the gap it goes into, and the insert waited for the trim's commit."""
    cfg = DatabaseConfig(database=whmcs_db, user="root", password=mariadb.root_password, port=mariadb.port)
    trimming, writing = connect(cfg), connect(cfg)
    _history(trimming)
    trim = trim_history({OLDER: 365, NEWER: 365}, TODAY)
    assert trim is not None
    try:
        assert trim(trimming) == 2  # not committed yet: its locks are held
        with writing.cursor() as cur:
            cur.execute("SET SESSION innodb_lock_wait_timeout = 1")
            cur.execute(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
                " VALUES (%s, %s, 2, 2, 2)",
                (OLDER, TODAY),
            )  # ER_LOCK_WAIT_TIMEOUT here, before
        writing.commit()
        trimming.commit()
    finally:
        writing.rollback()
        trimming.rollback()
    assert _days(trimming, OLDER) == [200, 1, 0]
    assert _days(trimming, NEWER) == [200, 1]
    writing.close()
    trimming.close()


@pytest.fixture(scope="module")
def statement_binlog() -> Iterator[MariaDB]:
    """A MariaDB keeping a statement-based binary log, as some WHMCS hosts do (replication set up long ago)."""
    root = scratch_dir("mariadb-binlog")
    db = MariaDB(
        root=root,
        port=free_port(),
        socket=str(root / "mysqld.sock"),
        options=("--log-bin=binlog", "--binlog-format=STATEMENT", "--server-id=1"),
    )
    db.start()
    yield db
    db.stop()


def test_on_a_statement_based_binary_log_the_trim_still_trims(statement_binlog: MariaDB) -> None:
    """MySQL and MariaDB refuse READ COMMITTED writes to InnoDB with a statement-based binary log (error 1665): the
    trim then deletes at the server's default level, and the usage run does not fail on it."""
    statement_binlog.create_whmcs_database("whmcs_binlog")
    conn = statement_binlog.connect("whmcs_binlog")
    migrate(conn)
    conn.autocommit(False)
    _history(conn)
    with conn.cursor() as cur:  # what the trim meets here
        cur.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
        with pytest.raises(pymysql.MySQLError) as refused:
            cur.execute("DELETE FROM mod_s3bridge_usage_daily WHERE serviceid = %s AND day < %s", (OLDER, TODAY))
    assert refused.value.args[0] == 1665
    conn.rollback()
    db = Database(
        DatabaseConfig(
            database="whmcs_binlog",
            user="root",
            password=statement_binlog.root_password,
            port=statement_binlog.port,
        )
    )
    try:
        deleted = asyncio.run(UsageStore(db).apply_retention({OLDER: 365, NEWER: 365}, TODAY))
    finally:
        db.close()
    assert deleted == 2
    conn.commit()  # a fresh snapshot
    assert _days(conn, OLDER) == [200, 1]
    assert _days(conn, NEWER) == [200, 1]
    conn.close()
