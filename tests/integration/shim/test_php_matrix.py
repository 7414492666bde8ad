"""The shim's scenarios on every PHP version WHMCS supports: 7.4, 8.0, 8.1 and 8.3 (npm's @php-wasm under node) and
Debian's 8.2, each against the real daemon, MinIO and MariaDB, through the strict WHMCS stand-in.

What a version cannot do here is said, not skipped: under php-wasm a refused TCP connection reaches curl as "send
failure: socket not connected" (its socket layer), so the refused-connection sentence is checked on 8.2 only; php-wasm
has no unix sockets, so the daemon on a unix socket (tests/integration/daemon/test_daemon_process.py) runs on 8.2
only; and php-wasm-cli does not pass on PHP's exit status (the stand-in's JSON says how the call ended).
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from rig.paths import SHIM_DIR, STANDIN
from rig.services import MariaDB, MinIO, free_port
from rig.shim import NATIVE_PHP, PHP_VERSIONS, php_command, run_api, run_hook, run_shim
from tests.support.dom import Dom
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
HOSTILE = '"><img src=x onerror=1>{$smarty.now}'  # 36 characters: a valid MinIO password


PARSE_ALL = """
foreach (array_slice($argv, 1) as $f) {
    try { token_get_all(file_get_contents($f), TOKEN_PARSE); echo "ok $f\n"; }
    catch (ParseError $e) { echo "PARSE ERROR $f:{$e->getLine()}: {$e->getMessage()}\n"; }
}
"""


@pytest.mark.parametrize("php", PHP_VERSIONS)
def test_every_module_and_stand_in_file_parses(php: str, tmp_path) -> None:
    """WHMCS loads every server module to list them: one file that does not parse breaks all modules."""
    command, env = php_command(php)
    files = [str(f) for f in (*sorted(SHIM_DIR.rglob("*.php")), *sorted(STANDIN.parent.glob("*.php")))]
    script = tmp_path / "parse.php"
    script.write_text("<?php" + PARSE_ALL)
    out = subprocess.run([*command, str(script), *files], capture_output=True, env={**os.environ, **env}, check=False)
    lines = out.stdout.decode().splitlines()
    assert lines == [f"ok {f}" for f in files], (php, out.stdout.decode(), out.stderr.decode())


@pytest.fixture
def db_env(mariadb: MariaDB, whmcs_db: str) -> dict[str, str]:
    return {
        "STANDIN_DB_DSN": f"mysql:host=127.0.0.1;port={mariadb.port};dbname={whmcs_db}",
        "STANDIN_DB_USER": "root",
        "STANDIN_DB_PASSWORD": mariadb.root_password,
    }


@pytest.fixture
def service(daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str) -> Callable[[str], Service]:
    def make(php: str) -> Service:
        svc = Service(minio, daemon.url, daemon.secret, serverid=next_id(), firstname=HOSTILE,
                      options={2: "1", 3: "GB", 12: "on", 14: "plain"})  # fmt: skip
        svc.register(mariadb, whmcs_db)
        return svc

    return make


@pytest.mark.parametrize("php", PHP_VERSIONS)
def test_the_whole_lifecycle_runs_on_this_php(php: str, service, db_env, minio) -> None:
    """Create, test, change password, suspend, unsuspend, change package, the client page rendered by Smarty, a client
    action posted with WHMCS's token, the daily UsageUpdate and the cron hook (PDO to MariaDB), the admin tab,
    terminate: every answer WHMCS needs, on this PHP version."""
    svc = service(php)
    shim: dict[str, Any] = {"php": php, "db_env": db_env}

    def call(function: str, **kw: Any) -> Any:
        r = svc.call(function, shim={**shim, **kw.pop("shim", {})}, **kw)
        assert r.exception is None, (php, function, r.exception)
        assert [e for e in r.php_errors if e["type"] not in (8192, 16384)] == [], (php, function, r.php_errors)
        return r

    assert call("CreateAccount").returned == "success"
    assert call("TestConnection").returned == {"success": True, "error": ""}
    assert call("ChangePassword", password=HOSTILE).returned == "success"
    svc.password = HOSTILE
    assert call("SuspendAccount").returned == "success"
    assert call("UnsuspendAccount").returned == "success"
    svc.options[2] = "2"
    assert call("ChangePackage").returned == "success"

    token = f"token-for-{php}-0123456789abcdef"
    session = {"uid": svc.clientid, "token": token}
    page = call(
        "ClientArea", session=session, shim={"render": True, "service": {"id": svc.serviceid, "status": "Active"}}
    )
    tags = Dom(page.page or "")
    assert [t for t, _ in tags.elements if t in ("img", "script") and _.get("src") == "x"] == []
    assert HOSTILE in tags.text  # the password, as text, Smarty tag included
    assert any(a.get("name") == "token" and a.get("value") == token for t, a in tags.elements if t == "input")

    posted = {"context": "client_button", "request": {"method": "POST", "post": {"token": token}}}
    before = svc.password
    assert call("ResetPassword", session=session, shim=posted).returned == "success"
    assert svc.password != before
    refused = call("ResetPassword", session=session, shim={"context": "client_button"})
    assert "security token" in refused.returned

    usage = run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret, php=php, db_env=db_env)
    assert usage.returned == "success", (php, usage.returned)
    hook = run_hook("AfterCronJob", url=svc.url, secret=svc.secret, extra_env=db_env, php=php)
    assert hook.exception is None, (php, hook.exception)
    mine = [e for e in hook.module_log if e["request"].get("serverid") == svc.serverid]
    assert mine, (php, hook.module_log[:1])
    assert "error" not in mine[0]["response"], (php, mine[0]["response"])

    tab = call("AdminServicesTabFields", session={"adminid": 1}).returned
    assert any(svc.username in v for v in tab.values()), tab
    assert call("TerminateAccount").returned == "success"


@pytest.mark.parametrize("php", PHP_VERSIONS)
def test_an_unreachable_daemon_is_one_sentence_naming_its_address(php: str, minio: MinIO) -> None:
    port = free_port()
    params = {"serverhostname": "127.0.0.1", "serverusername": "a", "serverpassword": "b", "serverport": minio.port}
    r = run_shim("TestConnection", params, url=f"http://127.0.0.1:{port}", secret="s" * 32, php=php)
    assert r.returned["success"] is False
    assert r.returned["error"].startswith(f"s3bridge daemon unreachable at 127.0.0.1:{port}: "), r.returned
    if php == NATIVE_PHP:
        assert r.returned["error"].endswith(": connection refused")


ORDER_COMMANDS = ["AddOrder", "AcceptOrder", "UpdateClientProduct"]  # localAPI acting on the stand-in database


@pytest.mark.parametrize("php", PHP_VERSIONS)
def test_the_panel_order_path_runs_on_this_php(php: str, daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str,
                                                db_env: dict[str, str]) -> None:  # fmt: skip
    """Issue 20's order flow with every shim call on this PHP: the client orders a plan from the panel (a form post
    with WHMCS's token; AddOrder writes the Pending order, its service and its first invoice, and the cart is kept),
    the admin accepts it (AcceptOrder runs the module's CreateAccount, which makes the named bucket), and WHMCS's
    metrics task collects the new tenant. php-wasm runs no web server, so the client area's and api.php's requests
    run as the stand-in's CLI requests with the same session, form and database (rig/whmcs_standin/standin.php)."""
    svc = Service(minio, daemon.url, daemon.secret, serverid=next_id(), options={1: "minio", 2: "1", 3: "GB",
                                                                                  23: "banktransfer"})  # fmt: skip
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount", shim={"php": php}).returned == "success"

    def sql(statement: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return mariadb.sql(whmcs_db, statement, args)

    sql("UPDATE tblhosting SET username = %s WHERE id = %s", (svc.username, svc.serviceid))
    # WHMCS puts an ordered service on a server of the product's server group: this test's server
    sql("INSERT INTO tblservergroups (id, name, filltype) VALUES (%s, 'orders', 1)", (svc.serverid,))
    sql("INSERT INTO tblservergroupsrel (groupid, serverid) VALUES (%s, %s)", (svc.serverid, svc.serverid))
    sql("UPDATE tblproducts SET paytype = 'recurring', servergroup = %s WHERE id = %s", (svc.serverid, svc.serviceid))
    sql("INSERT INTO tblpricing (type, currency, relid, msetupfee, qsetupfee, ssetupfee, asetupfee, bsetupfee,"
        " tsetupfee, monthly, quarterly, semiannually, annually, biennially, triennially)"
        " VALUES ('product', 1, %s, 0, 0, 0, 0, 0, 0, 4.25, -1, -1, -1, -1, -1)", (svc.serviceid,))  # fmt: skip
    sql("ALTER TABLE tblhosting AUTO_INCREMENT = 1600000000")  # orders' service ids far from the tests' own

    token = f"order-token-{php}-0123456789abcdef"
    cart = {"products": [{"pid": 7, "domain": "example.com"}]}
    form = {"token": token, "s3action": "create_order", "plan_id": str(svc.serviceid), "bucket_name": "ordered"}
    r = svc.call("Panel", session={"uid": svc.clientid, "token": token, "cart": cart},
                 shim={"php": php, "db_env": db_env, "context": "client_button", "localapi_db": ORDER_COMMANDS,
                       "request": {"method": "POST", "post": form}})  # fmt: skip
    assert r.exception is None, (php, r.exception)
    assert [e for e in r.php_errors if e["type"] not in (8192, 16384)] == [], (php, r.php_errors)
    assert "Pending" in Dom(r.returned["vars"]["s3bridge_html"]["text"]).text
    assert [c["answer"]["result"] for c in r.local_api] == ["success"], r.local_api
    assert r.session["cart"] == cart  # WHMCS's AddOrder emptied it; the shim put it back
    new = sql("SELECT id, orderid, domain, domainstatus FROM tblhosting WHERE packageid = %s AND id <> %s",
              (svc.serviceid, svc.serviceid))  # fmt: skip
    assert [(n["domain"], n["domainstatus"]) for n in new] == [("", "Pending")], new
    lines = sql("SELECT type, relid, amount FROM tblinvoiceitems WHERE relid = %s", (new[0]["id"],))
    assert [(ln["type"], str(ln["amount"])) for ln in lines] == [("Hosting", "4.25")]

    accepted = run_api("AcceptOrder", {"orderid": str(new[0]["orderid"]), "autosetup": "1"}, url=daemon.url,
                       secret=daemon.secret, db_env=db_env, localapi_db=ORDER_COMMANDS, php=php)  # fmt: skip
    assert accepted.exception is None, (php, accepted.exception)
    assert accepted.returned == {"result": "success"}, (php, accepted.returned)
    assert [e["action"] for e in accepted.module_log] == ["createaccount"]
    row = sql("SELECT username, password, domainstatus FROM tblhosting WHERE id = %s", (new[0]["id"],))[0]
    assert row["domainstatus"] == "Active"
    password = base64.b64decode(row["password"].removeprefix("standin-enc:")).decode()
    buckets = svc.s3(row["username"], password).list_buckets()["Buckets"]
    assert f"{row['username']}--ordered" in [b["Name"] for b in buckets]

    params = {**svc.server_params(), "serverport": minio.port}
    metrics = run_shim("MetricProvider", params, url=daemon.url, secret=daemon.secret, context="cron",
                       tenant=row["username"], php=php)  # fmt: skip
    assert metrics.exception is None, (php, metrics.exception)
    assert metrics.returned["stats"][row["username"]]["disk_space"]["value"] == 0.0
