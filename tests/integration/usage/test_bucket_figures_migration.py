"""Migration 17 on the real MariaDB: a database whose per-bucket history lives in its own table (migrations 2-16)
keeps every day's breakdown, now in each service's daily row, and the old table goes; the client area reads it."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import pymysql

from bridge.config import DatabaseConfig
from bridge.whmcs.area_queries import AreaQueries
from bridge.whmcs.bucket_figures import decode
from bridge.whmcs.db import Database
from bridge.whmcs.migrations import MIGRATIONS, migrate
from rig.services import MariaDB

DAY = date(2026, 11, 30)
OLD_TABLE = "mod_s3bridge_bucket_usage_daily"


def _as_migration_16_left_it(mariadb: MariaDB, db: str) -> pymysql.connections.Connection[pymysql.cursors.DictCursor]:
    """A fresh database `db` as migration 16 left it, holding old-style history; a connection to it."""
    mariadb.create_whmcs_database(db)
    conn = mariadb.connect(db)
    migrate(conn)
    _as_before_17(conn)
    _old_history(conn)
    return conn


def _as_before_17(conn: pymysql.connections.Connection[pymysql.cursors.DictCursor]) -> None:
    """The schema as migration 16 left it: the old table (migration 2's own statement), no bucket_figures column."""
    (old,) = [s for s in next(m for m in MIGRATIONS if m.version == 2).statements if OLD_TABLE in str(s)]
    with conn.cursor() as cur:
        cur.execute("DELETE FROM mod_s3bridge_schema WHERE version = 17")
        cur.execute("ALTER TABLE mod_s3bridge_usage_daily DROP COLUMN bucket_figures")
        cur.execute(str(old))
    conn.commit()


def _old_history(conn: pymysql.connections.Connection[pymysql.cursors.DictCursor]) -> None:
    with conn.cursor() as cur:
        cur.executemany(  # service 1: two days of two buckets; service 2: a day with no service row
            "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(1, DAY - timedelta(1), 30, 3, 2), (1, DAY, 10**12 + 20, 5, 2), (3, DAY, 0, 0, 0)],
        )
        cur.executemany(
            f"INSERT INTO {OLD_TABLE} (serviceid, bucket, day, used_bytes, objects) VALUES (%s,%s,%s,%s,%s)",  # noqa: S608
            [
                (1, "u1--logs", DAY - timedelta(1), 10, 1),
                (1, "u1--data", DAY - timedelta(1), 20, 2),
                (1, "u1--logs", DAY, 20, 2),
                (1, "u1--data", DAY, 10**12, 3),
                (2, "u2--data", DAY, 7, 1),
            ],
        )
    conn.commit()


def _rows(conn: pymysql.connections.Connection[pymysql.cursors.DictCursor]) -> dict[tuple[int, date], dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute("SELECT serviceid, day, used_bytes, objects, buckets, bucket_figures FROM mod_s3bridge_usage_daily")
        return {(r["serviceid"], r["day"]): r for r in cur.fetchall()}


def test_migration_17_folds_each_days_buckets_into_the_days_row_and_drops_the_old_table(mariadb: MariaDB) -> None:
    db = "whmcs_migration_17"
    conn = _as_migration_16_left_it(mariadb, db)

    assert [m.version for m in migrate(conn)] == [17]

    rows = _rows(conn)
    assert decode(rows[(1, DAY - timedelta(1))]["bucket_figures"]) == {"u1--data": (20, 2), "u1--logs": (10, 1)}
    assert decode(rows[(1, DAY)]["bucket_figures"]) == {"u1--data": (10**12, 3), "u1--logs": (20, 2)}
    assert (rows[(1, DAY)]["used_bytes"], rows[(1, DAY)]["buckets"]) == (10**12 + 20, 2)  # the row's own figures kept
    orphan = rows[(2, DAY)]  # a day with buckets but no service row: one, summed from its buckets
    assert (orphan["used_bytes"], orphan["objects"], orphan["buckets"]) == (7, 1, 1)
    assert decode(orphan["bucket_figures"]) == {"u2--data": (7, 1)}
    assert rows[(3, DAY)]["bucket_figures"] is None  # a day without buckets
    with conn.cursor() as cur:
        cur.execute("SHOW TABLES LIKE %s", (OLD_TABLE,))
        assert cur.fetchall() == ()
    assert migrate(conn) == []  # applied once

    cfg = DatabaseConfig(database=db, user="root", password=mariadb.root_password, port=mariadb.port)

    async def latest() -> dict[str, tuple[int, int]]:
        database = Database(cfg)
        try:
            return (await AreaQueries(database).latest(1)).buckets
        finally:
            database.close()

    assert asyncio.run(latest()) == {"u1--data": (10**12, 3), "u1--logs": (20, 2)}  # the latest day's breakdown
    conn.close()


def test_migration_17_stopped_after_the_drop_completes_on_the_next_run(mariadb: MariaDB) -> None:
    """DROP TABLE commits at once: a crash before the version row is written leaves the data folded and the table
    gone, and migrate runs 17 again without failing on the missing table."""
    conn = _as_migration_16_left_it(mariadb, "whmcs_migration_17_again")
    assert [m.version for m in migrate(conn)] == [17]
    before = _rows(conn)
    with conn.cursor() as cur:
        cur.execute("DELETE FROM mod_s3bridge_schema WHERE version = 17")
    conn.commit()
    assert [m.version for m in migrate(conn)] == [17]
    assert _rows(conn) == before
    conn.close()
