"""The daemon's database user has exactly the least privilege DESIGN.md asks for."""

from __future__ import annotations

import pymysql
import pytest

from bridge.whmcs.grants import grant_statements, own_tables
from rig.services import MariaDB
from tests.conftest import CANARY_DB_PASSWORD

pytestmark = pytest.mark.mariadb


@pytest.fixture
def as_daemon(mariadb: MariaDB, whmcs_db: str):
    conn = mariadb.connect(whmcs_db, user="s3bridge", password=CANARY_DB_PASSWORD)
    yield conn
    conn.close()


def test_daemon_user_reads_whmcs_tables_and_updates_only_usage_columns(as_daemon) -> None:
    with as_daemon.cursor() as cur:
        cur.execute("SELECT COUNT(*) AS n FROM tblhosting")
        cur.execute("UPDATE tblhosting SET diskusage = 1, disklimit = 2, lastupdate = NOW() WHERE id = -1")
        cur.execute("INSERT INTO mod_s3bridge_audit (request_id, action, outcome, detail) VALUES ('t','t','t','t')")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE tblhosting SET domainstatus = 'Terminated' WHERE id = -1",
        "UPDATE tblhosting SET password = '' WHERE id = -1",
        "DELETE FROM tblhosting WHERE id = -1",
        "DELETE FROM tblnotes WHERE id = -1",
        "UPDATE tblclients SET email = '' WHERE id = -1",
        "SELECT * FROM tblemails LIMIT 1",
        "DROP TABLE tblhosting",
        "CREATE TABLE not_ours (id INT)",
    ],
)
def test_daemon_user_is_refused_everything_else(as_daemon, statement: str) -> None:
    with as_daemon.cursor() as cur, pytest.raises(pymysql.err.OperationalError) as e:
        cur.execute(statement)
    assert e.value.args[0] in {1142, 1143, 1044}  # table / column / database access denied


def test_grant_statements_refuse_names_that_could_inject_sql() -> None:
    with pytest.raises(ValueError, match="user name"):
        grant_statements("whmcs", "x'@'%' WITH GRANT OPTION; --", "localhost")


def test_every_table_the_daemon_user_is_granted_exists_once_migrated(mariadb: MariaDB, whmcs_db: str) -> None:
    """A table a later migration dropped (17: the per-bucket history) gets no grant left behind on its name."""
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (whmcs_db,))
        present = {r["TABLE_NAME"] for r in cur.fetchall()}
    conn.close()
    assert [t for t in own_tables() if t not in present] == []
    assert "mod_s3bridge_usage_daily" in own_tables()
