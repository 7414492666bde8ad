"""Hostile customers (issue 18, item 7): what the daemon's database user may read, and what a customer may undo.

On real MariaDB with the grants `s3bridge grants` prints (the rig creates the daemon's user with them, so the whole
suite runs under them): the daemon cannot read a client's password hash, `authdata`, security answer, card data or
gateway ids. Through the panel, on real MinIO: only cancellation requests the panel filed can be withdrawn; a closed
client's tokens are refused; error bodies show no internal address.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from bridge.whmcs.grants import CLIENT_COLUMNS, grant_statements
from rig.paths import REPO
from rig.sample_whmcs import insert_server
from rig.services import MariaDB, free_port, stop_process
from tests.conftest import CANARY_DB_PASSWORD, make_config, start_daemon
from tests.support.panel_rig import PanelStack

pytestmark = [pytest.mark.mariadb]
SECRET_COLUMNS = ("password", "authdata", "securityqans", "gatewayid", "cardnum", "bankacct", "pwresetkey")


@pytest.fixture
def as_daemon(mariadb: MariaDB, whmcs_db: str) -> Iterator[Any]:
    conn = mariadb.connect(whmcs_db, user="s3bridge", password=CANARY_DB_PASSWORD)
    yield conn
    conn.close()


@pytest.fixture
def a_client(mariadb: MariaDB, whmcs_db: str) -> int:
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) + 1000 AS id FROM tblclients")
        clientid = int(cur.fetchone()["id"])  # type: ignore[index]
        cur.execute(
            "INSERT INTO tblclients (id, firstname, lastname, companyname, email, address1, address2, city, state,"
            " postcode, country, phonenumber, password, authmodule, authdata, currency, defaultgateway, credit,"
            " taxexempt, latefeeoveride, overideduenotices, separateinvoices, disableautocc, datecreated, notes,"
            " billingcid, securityqid, securityqans, groupid, cardlastfour, cardnum, startdate, expdate, issuenumber,"
            " bankname, banktype, bankcode, bankacct, gatewayid, ip, host, language, pwresetkey, emailoptout,"
            " overrideautoclose) VALUES (%s, 'Eve', 'Target', '', 'eve@example.com', '', '', '', '', '', '', '',"
            " '$2y$10$hashhashhashhashhashhashhashhashhashhashhashhashhash', '', 'totp-seed', 1, 'banktransfer', 0,"
            " 0, 0, 0, 0, 0, '2026-01-01', '', 0, 1, 'my first pet', 0, '', '', '', '', '', '', '', '', '',"
            " 'cus_stripe_123', '', '', '', '', 0, 0)",
            (clientid,),
        )
    conn.commit()
    conn.close()
    return clientid


@pytest.mark.parametrize("column", SECRET_COLUMNS)
def test_the_daemon_cannot_read_a_clients_secrets(as_daemon: Any, a_client: int, column: str) -> None:
    with as_daemon.cursor() as cur, pytest.raises(pymysql.err.OperationalError) as e:
        cur.execute(f"SELECT {column} FROM tblclients WHERE id = %s", (a_client,))  # noqa: S608 - a fixed list
    assert e.value.args[0] == 1143  # SELECT command denied ... for column


def test_the_daemon_reads_what_it_shows_and_nothing_by_star(as_daemon: Any, a_client: int) -> None:
    with as_daemon.cursor() as cur:
        cur.execute(f"SELECT {', '.join(CLIENT_COLUMNS)} FROM tblclients WHERE id = %s", (a_client,))  # noqa: S608
        row = cur.fetchone()
        assert (row["firstname"], row["email"], row["status"]) == ("Eve", "eve@example.com", "Active")
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("SELECT * FROM tblclients WHERE id = %s", (a_client,))
    assert e.value.args[0] in (1142, 1143)  # SELECT command denied (on the table, or for a column)
    assert not set(SECRET_COLUMNS) & set(CLIENT_COLUMNS)


def test_the_daemon_reads_only_its_own_modules_servers(as_daemon: Any, mariadb: MariaDB, whmcs_db: str) -> None:
    """MySQL has no row-level rights: the daemon reads tblservers through the view `migrate` makes, which holds this
    module's rows only; a cPanel server's password in the same table stays out of reach."""
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(id), 0) + 1000 AS id FROM tblservers")
        other = int(cur.fetchone()["id"])  # type: ignore[index]
    insert_server(conn, other, "web01", "10.0.0.9", 2087, "root", password="cpanel-root-secret")
    insert_server(conn, other + 1, "s3", "10.0.0.10", 9000, "minioadmin")  # one of this module's
    with conn.cursor() as cur:
        cur.execute("UPDATE tblservers SET type = 'cpanel' WHERE id = %s", (other,))
    conn.commit()
    conn.close()
    with as_daemon.cursor() as cur:
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("SELECT password FROM tblservers WHERE id = %s", (other,))
        assert e.value.args[0] == 1142  # SELECT command denied ... for table
        cur.execute("SELECT id FROM mod_s3bridge_servers WHERE id = %s", (other,))
        assert list(cur.fetchall()) == []
        cur.execute("SELECT hostname FROM mod_s3bridge_servers WHERE id = %s", (other + 1,))
        assert list(cur.fetchall()) == [{"hostname": "10.0.0.10"}]  # the module's own servers are there
        with pytest.raises(pymysql.err.OperationalError) as e:
            cur.execute("UPDATE mod_s3bridge_servers SET hostname = 'x' WHERE id = %s", (other,))
        assert e.value.args[0] == 1142


def test_s3bridge_grants_prints_the_column_grants(tmp_path: Path) -> None:
    config = tmp_path / "s3bridge.toml"
    config.write_text(
        '[daemon]\nlisten = "127.0.0.1:1"\nsecrets = ["0123456789abcdef0123456789abcdef"]\n'
        '[whmcs_db]\nhost = "127.0.0.1"\nuser = "s3bridge"\npassword = "x"\ndatabase = "whmcs"\n'
    )
    out = subprocess.run([str(REPO / ".venv/bin/python"), "-m", "bridge", "grants", "--config", str(config)],
                         capture_output=True, text=True, check=True, cwd=REPO).stdout  # fmt: skip
    lines = [line.rstrip(";") for line in out.splitlines() if "tblclients" in line]
    assert lines == [f"GRANT SELECT ({', '.join(CLIENT_COLUMNS)}) ON `whmcs`.`tblclients` TO 's3bridge'@'localhost'"]
    assert lines[0] in grant_statements("whmcs", "s3bridge", "localhost")


# -- the panel -----------------------------------------------------------------------------------------------------


@pytest.mark.minio
@pytest.mark.php
def test_a_client_cannot_withdraw_a_cancellation_the_provider_filed(stack: PanelStack) -> None:
    svc = stack.service()
    token = stack.client_token(svc)
    stack.sql("INSERT INTO tblcancelrequests (date, relid, reason, type) VALUES (NOW(), %s, %s, 'Immediate')",
              (svc.serviceid, "Chargeback: terminate"))  # fmt: skip
    refused = stack.api(token, "cancel_payment_account_deletion", {"s3uid": svc.username})
    assert refused.status == 403
    assert refused.body["message"].startswith("the pending cancellation request was not filed from the panel")
    assert stack.sql("SELECT reason FROM tblcancelrequests WHERE relid = %s", (svc.serviceid,)) == [
        {"reason": "Chargeback: terminate"}
    ]
    # one the client filed from the panel is theirs to withdraw
    stack.sql("DELETE FROM tblcancelrequests WHERE relid = %s", (svc.serviceid,))
    assert stack.api(token, "delete_payment_account", {"s3uid": svc.username, "reason": "moving"}).status == 200
    assert stack.api(token, "cancel_payment_account_deletion", {"s3uid": svc.username}).status == 200
    assert stack.sql("SELECT id FROM tblcancelrequests WHERE relid = %s", (svc.serviceid,)) == []


@pytest.mark.minio
@pytest.mark.php
def test_a_closed_clients_tokens_are_refused(stack: PanelStack) -> None:
    svc = stack.service()
    token = stack.client_token(svc)
    assert stack.api(token, "get_buckets", {"s3uid": svc.username}).status == 200
    stack.sql("UPDATE tblclients SET status = 'Closed' WHERE id = %s", (svc.clientid,))
    refused = stack.api(token, "get_buckets", {"s3uid": svc.username})
    assert (refused.status, refused.body) == (401, {"code": -1, "message": "invalid or revoked token"})
    stack.sql("UPDATE tblclients SET status = 'Active' WHERE id = %s", (svc.clientid,))
    assert stack.api(token, "get_buckets", {"s3uid": svc.username}).status == 200


@pytest.mark.minio
@pytest.mark.php
def test_a_whmcs_api_failure_reaches_the_customer_without_whmcs_address(
    stack: PanelStack, mariadb: MariaDB, whmcs_db: str
) -> None:
    """A daemon whose [whmcs_api] is down: the sentence says WHMCS's API failed, not where it lives (an internal
    URL the provider does not publish); the daemon's log keeps it for the admin."""
    svc = stack.service({23: "banktransfer"})
    token = stack.client_token(svc)
    cfg = make_config(mariadb, whmcs_db)
    cfg["api"] = {"listen": f"127.0.0.1:{free_port()}"}
    hidden_url = f"http://127.0.0.1:{free_port()}/internal/includes/api.php"
    cfg["whmcs_api"] = {"url": hidden_url, "identifier": "i", "secret": "canary-api-secret-0d9c"}
    daemon = start_daemon(cfg)
    try:
        other = dataclasses.replace(stack, api_url=f"http://{cfg['api']['listen']}")
        failed = other.api(token, "create_order", {"plan_id": svc.serviceid, "bucket_name": "more"})
        assert failed.status == 502, failed.body
        assert "is unreachable (AddOrder)" in failed.body["message"]
        assert "Your order was not placed" in failed.body["message"]
        # nothing waits for an order WHMCS never placed (a later order would have taken the name)
        assert stack.sql("SELECT id FROM mod_s3bridge_orders WHERE clientid = %s", (svc.clientid,)) == []
        assert "/internal/" not in str(failed.body)
        assert "127.0.0.1" not in str(failed.body)
        assert hidden_url in daemon.log_text()
    finally:
        stop_process(daemon.proc)
