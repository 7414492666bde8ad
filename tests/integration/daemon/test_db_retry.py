"""The daemon's WHMCS database pool on real MariaDB: a transaction MySQL aborts for a deadlock is re-issued (MySQL's
advice), other errors are not. bench/lifecycle.py found 20 concurrent CreateAccount calls answering
"database unavailable: Deadlock found" before this."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import pymysql
import pytest

from bridge.config import DatabaseConfig
from bridge.errors import DatabaseError
from bridge.whmcs.db import Conn, Database
from rig.services import MariaDB

pytestmark = pytest.mark.mariadb


def database(mariadb: MariaDB, whmcs_db: str) -> Database:
    return Database(DatabaseConfig(database=whmcs_db, user="root", password=mariadb.root_password, port=mariadb.port))


def test_a_deadlocked_transaction_is_re_issued_and_its_first_attempt_left_nothing(mariadb, whmcs_db) -> None:
    db = database(mariadb, whmcs_db)
    attempts: list[int] = []

    def work(conn: Conn) -> Any:
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO mod_s3bridge_audit (request_id, action, serviceid, outcome, detail)"
                " VALUES ('deadlock-test', 'retry', %s, 'ok', '')",
                (len(attempts),),
            )
            attempts.append(1)
            if len(attempts) == 1:
                raise pymysql.err.OperationalError(1213, "Deadlock found when trying to get lock")
            cur.execute("SELECT serviceid FROM mod_s3bridge_audit WHERE request_id = 'deadlock-test'")
            return [r["serviceid"] for r in cur.fetchall()]

    assert asyncio.run(db.run(work)) == [1]  # the first attempt's row was rolled back
    assert len(attempts) == 2
    db.close()


def test_other_database_errors_are_not_retried(mariadb, whmcs_db) -> None:
    db = database(mariadb, whmcs_db)
    attempts: list[int] = []

    def work(conn: Conn) -> None:
        attempts.append(1)
        with conn.cursor() as cur:
            cur.execute("SELECT * FROM no_such_table")

    with pytest.raises(DatabaseError, match="no_such_table"):
        asyncio.run(db.run(work))
    assert len(attempts) == 1
    db.close()


def test_a_pooled_connection_the_server_dropped_is_replaced_without_a_deprecated_reconnect(mariadb, whmcs_db) -> None:
    db = database(mariadb, whmcs_db)

    def connection_id(conn: Conn) -> int:
        with conn.cursor() as cur:
            cur.execute("SELECT CONNECTION_ID() AS id")
            row = cur.fetchone()
            assert row is not None
            return int(row["id"])

    first = asyncio.run(db.run(connection_id))
    admin = mariadb.connect()
    with admin.cursor() as cur:
        cur.execute(f"KILL CONNECTION {first}")
    admin.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # pymysql deprecates ping(reconnect=True)
        second = asyncio.run(db.run(connection_id))
    assert second != first
    db.close()
