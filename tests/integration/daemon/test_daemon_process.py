"""`s3bridge serve` and `s3bridge migrate` as real processes: unix socket, graceful SIGTERM, idempotent migrate."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rig.services import MariaDB, MinIO, free_port, scratch_dir, stop_process
from rig.shim import run_shim
from tests.conftest import make_config, server_params, start_daemon, write_config
from tests.support.fake_daemon import slow_denying_storage

pytestmark = [pytest.mark.mariadb]


def schema_snapshot(mariadb: MariaDB, database: str) -> list[dict[str, Any]]:
    conn = mariadb.connect(database)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = %s AND TABLE_NAME LIKE 'mod\\_s3bridge\\_%%' ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        columns = list(cur.fetchall())
        cur.execute("SELECT version, name, applied_at FROM mod_s3bridge_schema ORDER BY version")
        columns += list(cur.fetchall())
    return columns


def test_migrate_twice_changes_nothing_the_second_time(mariadb: MariaDB) -> None:
    db = "whmcs_migrate_twice"
    mariadb.create_whmcs_database(db)
    cfg = write_config(make_config(mariadb, db, user="root", password=mariadb.root_password))
    first = subprocess.run(
        [sys.executable, "-m", "bridge", "migrate", "--config", str(cfg)], capture_output=True, text=True, check=True
    )
    assert "applied migration 1" in first.stdout
    before = schema_snapshot(mariadb, db)
    assert any(row.get("TABLE_NAME") == "mod_s3bridge_services" for row in before)
    second = subprocess.run(
        [sys.executable, "-m", "bridge", "migrate", "--config", str(cfg)], capture_output=True, text=True, check=True
    )
    assert second.stdout.strip() == "database schema is up to date; nothing to do"
    assert schema_snapshot(mariadb, db) == before


def test_migrate_leaves_the_whmcs_tables_alone(mariadb: MariaDB) -> None:
    db = "whmcs_migrate_untouched"
    mariadb.create_whmcs_database(db)
    conn = mariadb.connect(db)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (db,))
        whmcs_tables = cur.fetchone()["n"]  # type: ignore[index]
    cfg = write_config(make_config(mariadb, db, user="root", password=mariadb.root_password))
    subprocess.run([sys.executable, "-m", "bridge", "migrate", "--config", str(cfg)], check=True, capture_output=True)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME NOT LIKE 'tbl%%'",
            (db,),
        )
        new = sorted(r["TABLE_NAME"] for r in cur.fetchall())
        cur.execute(
            "SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME LIKE 'tbl%%'",
            (db,),
        )
        assert cur.fetchone()["n"] == whmcs_tables  # type: ignore[index]
    assert new
    assert all(name.startswith("mod_s3bridge_") for name in new)


@pytest.mark.minio
@pytest.mark.php
def test_daemon_on_a_unix_socket_serves_the_shim(daemon_config: dict[str, Any], minio: MinIO) -> None:
    sock = scratch_dir("sock") / "s3bridge.sock"
    cfg = {**daemon_config, "daemon": {**daemon_config["daemon"], "listen": f"unix:{sock}"}}
    d = start_daemon(cfg)
    try:
        r = run_shim("TestConnection", server_params(minio), url=f"unix:{sock}", secret=d.secret)
        assert r.returned == {"success": True, "error": ""}
    finally:
        stop_process(d.proc)


def test_sigterm_stops_accepting_and_finishes_the_call_in_flight(daemon_config: dict[str, Any]) -> None:
    """A storage server that answers after 2 s; SIGTERM arrives mid-call; the call still gets its full answer."""

    with slow_denying_storage(2) as slow_port:
        cfg = {**daemon_config, "daemon": {**daemon_config["daemon"], "listen": f"127.0.0.1:{free_port()}"}}
        d = start_daemon(cfg)
        params = {
            "serverhostname": "127.0.0.1",
            "serverport": slow_port,
            "serverusername": "u",
            "serverpassword": "p1234",
        }
        result: dict[str, Any] = {}
        caller = threading.Thread(
            target=lambda: result.update(r=run_shim("TestConnection", params, url=d.url, secret=d.secret))
        )
        caller.start()
        time.sleep(0.8)  # the call is now waiting on the slow server
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        refused = run_shim("TestConnection", params, url=d.url, secret=d.secret)
        caller.join(20)
        assert d.proc.wait(20) == 0
    # The in-flight call got the daemon's real answer, not a dropped connection.
    assert result["r"].returned["success"] is False
    assert "not allowed" in result["r"].returned["error"]
    # A call after SIGTERM finds nobody listening.
    assert "unreachable" in refused.returned["error"]
    assert '"event": "stopped"' in d.log_text()


def migrated(mariadb: MariaDB, db: str) -> Path:
    """A fresh WHMCS database `db` that `s3bridge migrate` brought up to date; the config that reaches it."""
    mariadb.create_whmcs_database(db)
    cfg = write_config(make_config(mariadb, db, user="root", password=mariadb.root_password))
    migrate_again(cfg, check=True)
    return cfg


def migrate_again(cfg: Path, *, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "migrate", "--config", str(cfg)], capture_output=True, text=True, check=check
    )


def test_migrate_completes_a_migration_interrupted_half_way(mariadb: MariaDB) -> None:
    """DDL commits at once: a crash can leave some of a migration's columns in place. Running it again finishes."""
    db = "whmcs_migrate_interrupted"
    cfg = migrated(mariadb, db)
    conn = mariadb.connect(db)
    with conn.cursor() as cur:  # as if migration 3 died after its first column
        cur.execute("DELETE FROM mod_s3bridge_schema WHERE version = 3")
        cur.execute("ALTER TABLE mod_s3bridge_services DROP COLUMN pending_access_key, DROP COLUMN backend_user_id")
        cur.execute("DROP TABLE mod_s3bridge_traffic")
    again = migrate_again(cfg, check=True)
    assert "applied migration 3" in again.stdout
    with conn.cursor() as cur:
        cur.execute("SELECT access_key, pending_access_key, backend_user_id FROM mod_s3bridge_services LIMIT 1")
        cur.execute("SELECT COUNT(*) AS n FROM mod_s3bridge_traffic")


def test_migrate_completes_a_key_migration_interrupted_half_way(mariadb: MariaDB) -> None:
    """Migration 16 adds a key to two tables (ALTER TABLE commits at once): a crash after the first leaves it in place,
    and running migrate again adds the second instead of failing on the first's duplicate name."""
    db = "whmcs_migrate_key_interrupted"
    cfg = migrated(mariadb, db)
    conn = mariadb.connect(db)
    with conn.cursor() as cur:  # as if migration 16 died after its first key
        cur.execute("DELETE FROM mod_s3bridge_schema WHERE version = 16")
        cur.execute("ALTER TABLE mod_s3bridge_traffic_daily DROP KEY day_figures")
    again = migrate_again(cfg)
    assert again.returncode == 0, again.stderr
    assert "applied migration 16" in again.stdout
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS cols"
            " FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND INDEX_NAME = 'day_figures'"
            " GROUP BY TABLE_NAME ORDER BY TABLE_NAME",
            (db,),
        )
        keys = {r["TABLE_NAME"]: r["cols"] for r in cur.fetchall()}
    conn.close()
    assert keys == {
        "mod_s3bridge_traffic_daily": "day,serviceid,bytes_in,bytes_out",
        "mod_s3bridge_usage_daily": "day,serviceid,used_bytes",
    }
