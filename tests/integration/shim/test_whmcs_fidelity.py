"""The module under a stand-in as strict as a real WHMCS (rig/whmcs_standin): issue 9's ten findings, each shown
fixed on real MinIO, MariaDB and PHP. Every test here failed against the module before the fix (run with
S3BRIDGE_SHIM_SRC=<the old module> to see it)."""

from __future__ import annotations

import base64
import html
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from bridge.domain.product_settings import SETTINGS
from rig.paths import REPO
from rig.sample_whmcs import insert_server
from rig.services import MariaDB, MinIO
from rig.shim import ShimResult, run_hook, run_shim
from tests.support.dom import Dom
from tests.support.fake_daemon import answering
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]
MB = 1024 * 1024
HOSTILE = 'x"><img src=x onerror=alert(1)>'


def db_env(mariadb: MariaDB, database: str) -> dict[str, str]:
    return {
        "STANDIN_DB_DSN": f"mysql:host=127.0.0.1;port={mariadb.port};dbname={database}",
        "STANDIN_DB_USER": "root",
        "STANDIN_DB_PASSWORD": mariadb.root_password,
    }


def add_server(mariadb: MariaDB, database: str, minio: MinIO, serverid: int, **kw: Any) -> None:
    conn = mariadb.connect(database)
    password = "standin-enc:" + base64.b64encode(kw.pop("secret", minio.secret_key).encode()).decode()
    access_key = kw.pop("access_key", minio.access_key)
    insert_server(conn, serverid, kw.pop("name", f"s{serverid}"), "127.0.0.1", minio.port, access_key, password, **kw)
    conn.close()


def set_setting(mariadb: MariaDB, database: str, setting: str, value: str) -> None:
    conn = mariadb.connect(database)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO tblconfiguration (setting, value, created_at, updated_at) VALUES (%s, %s, NOW(), NOW())"
            " ON DUPLICATE KEY UPDATE value = VALUES(value)",
            (setting, value),
        )
    conn.close()


@pytest.fixture
def make(daemon, minio: MinIO, mariadb: MariaDB, whmcs_db: str) -> Callable[..., Service]:
    serverid = next_id()
    add_server(mariadb, whmcs_db, minio, serverid)

    def build(options: dict[int, str] | None = None, **kw: Any) -> Service:
        s = Service(minio, daemon.url, daemon.secret, serverid=serverid, options={12: "on", **(options or {})}, **kw)
        s.register(mariadb, whmcs_db)
        assert s.call("CreateAccount").returned == "success"
        return s

    return build


OVERVIEW = {"status": "Active", "billingcycle": "Monthly", "nextduedate": "2026-12-01"}


def page(svc: Service, mariadb: MariaDB, database: str, session: dict[str, Any] | None = None) -> ShimResult:
    """The client's product details page: WHMCS's overview tab with the module's output, rendered by Smarty."""
    shim = {"render": True, "db_env": db_env(mariadb, database), "service": {"id": svc.serviceid, **OVERVIEW}}
    r = svc.call("ClientArea", session=session or {"uid": svc.clientid}, shim=shim)
    assert r.exception is None, r.exception
    assert r.page, r.returned
    return r


# 1. PHP versions: see tests/integration/shim/test_php_matrix.py (the shim's scenarios on 7.4, 8.0, 8.1, 8.2 and 8.3).


# 2. Stored XSS through WHMCS's entity decoding
def test_a_password_with_markup_stays_text_after_whmcs_decodes_the_template_variables(make, mariadb, whmcs_db) -> None:
    svc = make({14: "plain"}, firstname=HOSTILE)
    assert svc.call("ChangePassword", password=HOSTILE).returned == "success"
    svc.password = HOSTILE
    r = page(svc, mariadb, whmcs_db)
    dom = Dom(r.page or "")
    assert dom.tags("img") == []  # no element made of the password
    assert HOSTILE in dom.text  # shown as the text the client typed


# 3. The cron reads config.php; the admin tab says when the cron could not reach the daemon
def test_the_cron_works_from_config_php_alone(make, mariadb, whmcs_db) -> None:
    svc = make()
    r = run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret, db_env=db_env(mariadb, whmcs_db))
    assert r.returned == "success", r.returned


def test_configuration_kept_only_in_the_web_servers_environment_never_reaches_the_cron(make, mariadb, whmcs_db) -> None:
    svc = make()
    env = {"S3BRIDGE_URL": svc.url, "S3BRIDGE_SECRET": svc.secret, **db_env(mariadb, whmcs_db)}
    web = run_shim("TestConnection", svc.server_params(), url="", secret="", extra_env=env)
    assert web.returned["success"] is True  # the web server sees it (env overrides config.php)
    cron = run_shim("UsageUpdate", svc.server_params(), url="", secret="", extra_env=env)
    assert "s3bridge is not configured" in cron.returned
    assert "config.php" in cron.returned


def test_admin_tab_says_when_the_crons_last_run_could_not_reach_the_daemon(make, mariadb, whmcs_db) -> None:
    svc = make()
    env = db_env(mariadb, whmcs_db)
    failed = run_hook("AfterCronJob", url="http://127.0.0.1:1", secret="s" * 32, extra_env=env)
    assert failed.exception is None, failed.exception
    tab = svc.call("AdminServicesTabFields", session={"adminid": 1}, shim={"db_env": env}).returned
    assert "S3 Bridge cron" in tab, tab
    assert "cron could not reach the s3bridge daemon" in html.unescape(tab["S3 Bridge cron"])
    assert "unreachable at 127.0.0.1:1" in tab["S3 Bridge cron"]
    ok = run_hook("AfterCronJob", url=svc.url, secret=svc.secret, extra_env=env)
    assert ok.exception is None, ok.exception
    assert (
        "S3 Bridge cron"
        not in svc.call("AdminServicesTabFields", session={"adminid": 1}, shim={"db_env": env}).returned
    )


# 4. CSRF: client actions only through the page's form with WHMCS's token
def test_a_tokenless_get_of_a_client_action_is_refused_and_changes_nothing(make, mariadb, whmcs_db) -> None:
    svc = make()
    before = svc.password
    r = svc.call("ResetPassword", session={"uid": svc.clientid}, shim={"context": "client_button"})
    assert r.returned != "success"
    assert "security token" in r.returned
    assert not [c for c in r.local_api if c["command"] == "UpdateClientProduct"]
    svc.s3(password=before).list_buckets()  # the old password still works: nothing was rotated


def test_the_pages_form_posts_whmcs_token_and_the_action_runs(make, mariadb, whmcs_db) -> None:
    svc = make()
    before = svc.password
    token = "tok-" + "a" * 36
    r = page(svc, mariadb, whmcs_db, session={"uid": svc.clientid, "token": token})
    forms = [f for f in Dom(r.page or "").tags("form") if "a=ResetPassword" in f.get("action", "")]
    assert forms
    assert forms[0]["method"] == "post"
    hidden = [i for i in Dom(r.page or "").tags("input") if i.get("name") == "token"]
    assert hidden
    assert hidden[0]["value"] == token
    session = {"uid": svc.clientid, "token": token}
    posted = {"context": "client_button", "request": {"method": "POST", "post": {"token": token}}}
    done = svc.call("ResetPassword", session=session, shim=posted)
    assert done.returned == "success", done.returned
    assert svc.password != before
    with pytest.raises(ClientError):
        svc.s3(password=before).list_buckets()


def test_a_post_with_a_wrong_token_is_stopped_by_whmcs_check_token_before_anything_is_forwarded(make) -> None:
    svc = make()
    session = {"uid": svc.clientid, "token": "the-real-token-0123456789"}
    forged = {"context": "client_button", "request": {"method": "POST", "post": {"token": "forged"}}}
    r = svc.call("ResetPassword", session=session, shim=forged)
    assert r.exception is not None
    assert "Invalid CSRF Protection Token" in r.exception["message"]
    assert r.module_log == []
    assert r.local_api == []


def test_client_area_offers_no_tokenless_sidebar_buttons() -> None:
    r = run_shim("ClientAreaCustomButtonArray", {}, url="http://127.0.0.1:1", secret="s" * 32)
    assert r.returned == []


# 5. Emails: no stray <br> from WHMCS's nl2br
def test_builtin_email_arrives_without_stray_line_breaks(make) -> None:
    svc = make({2: "1", 3: "MB"})
    svc.s3().put_object(Bucket=f"{svc.username}--data", Key="big", Body=b"x" * (2 * MB))
    r = svc.call("RecalculateDiskSpace")
    mails = [c for c in r.local_api if c["command"] == "SendEmail"]
    assert len(mails) == 1
    body = mails[0]["delivered_body"]
    assert "<table" in body
    assert "<br" not in body  # nl2br found no newline to turn into <br>


# 6. WHMCS's own overview stays
def test_client_area_keeps_whmcs_overview_and_adds_the_modules_output(make, mariadb, whmcs_db) -> None:
    svc = make()
    r = page(svc, mariadb, whmcs_db)
    assert "tabOverviewModuleOutputTemplate" in r.returned
    dom = Dom(r.page or "")
    ids = {a.get("id") for _, a in dom.elements}
    assert {"whmcs-status", "whmcs-cancel"} <= ids
    assert "Next Due Date" in dom.text
    assert any("s3b" in a.get("class", "").split() for a in dom.tags("div"))


# 7. UsageUpdate gets no port from WHMCS
def test_usage_update_reaches_minio_on_a_non_default_port_without_a_port_in_params(
    make, mariadb, whmcs_db, minio
) -> None:
    assert minio.port != 9000
    svc = make()
    svc.s3().put_object(Bucket=f"{svc.username}--data", Key="a", Body=b"x" * MB)
    r = run_shim("UsageUpdate", svc.server_params(), url=svc.url, secret=svc.secret)
    assert r.returned == "success", r.returned
    sent = r.module_log[0]["request"]
    assert "serverport" not in sent  # WHMCS passed the seven server keys only


# 8. One huge product must not stop a server's figures
def test_a_limit_beyond_tblhostings_int_is_clamped_and_the_other_services_still_get_figures(
    make, mariadb, whmcs_db
) -> None:
    huge = make({2: "3", 3: "PB"})
    small = make({2: "1", 3: "GB"})
    small.s3().put_object(Bucket=f"{small.username}--data", Key="a", Body=b"x" * MB)
    deadline = time.monotonic() + 60
    while True:
        r = run_shim("UsageUpdate", small.server_params(), url=small.url, secret=small.secret)
        assert r.returned == "success", r.returned
        conn = mariadb.connect(whmcs_db)
        with conn.cursor() as cur:
            cur.execute("SELECT id, diskusage, disklimit FROM tblhosting WHERE id IN (%s, %s)",
                        (huge.serviceid, small.serviceid))  # fmt: skip
            rows = {row["id"]: row for row in cur.fetchall()}
        conn.close()
        if rows[small.serviceid]["diskusage"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rows[small.serviceid]["diskusage"] == 1
    assert rows[small.serviceid]["disklimit"] == 1024
    assert rows[huge.serviceid]["disklimit"] == 2**31 - 1
    assert huge.serviceid in json.loads(json.dumps(r.module_log[0]["response"]))["result"]["clamped"]
    tab = huge.call("AdminServicesTabFields", session={"adminid": 1}).returned
    assert any("at most 2147483647 MB" in html.unescape(v) for v in tab.values()), tab


# 9. Language '' is WHMCS's system language
def test_a_client_with_the_default_language_sees_the_system_language(make, mariadb, whmcs_db) -> None:
    set_setting(mariadb, whmcs_db, "Language", "german")
    try:
        svc = make(language="")
        r = page(svc, mariadb, whmcs_db)
        roots = [a for a in Dom(r.page or "").tags("div") if "s3b" in a.get("class", "").split()]
        assert roots[0]["lang"] == "de"
        full = make({2: "1", 3: "MB"}, language="")  # and the emails the cron sends
        full.s3().put_object(Bucket=f"{full.username}--data", Key="big", Body=b"x" * (2 * MB))
        mails = [c["values"] for c in full.call("RecalculateDiskSpace").local_api if c["command"] == "SendEmail"]
        assert mails
        assert mails[0]["customsubject"].startswith("Uploads pausiert")
    finally:
        set_setting(mariadb, whmcs_db, "Language", "english")


# 10. Smaller ones
def test_php_receives_serversecure_as_bool_and_serverport_as_int(make) -> None:
    svc = make()
    r = svc.call("TestConnection")
    assert r.returned == {"success": True, "error": ""}
    sent = r.module_log[0]["request"]
    assert sent["serversecure"] is False
    assert isinstance(sent["serverport"], int)


def test_cron_hook_decodes_the_html_encoded_server_record_as_whmcs_does(daemon, minio, mariadb, whmcs_db) -> None:
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
    admin.user_add("ops&admins", "ops-admins-secret-1234")
    admin.policy_set("consoleAdmin", user="ops&admins")
    serverid = next_id()
    add_server(mariadb, whmcs_db, minio, serverid, access_key="ops&admins", secret="ops-admins-secret-1234",
               name="Ops & Co")  # fmt: skip
    svc = Service(minio, daemon.url, daemon.secret, serverid=serverid)
    svc.register(mariadb, whmcs_db)
    assert (
        svc.call("CreateAccount", serverusername="ops&admins", serverpassword="ops-admins-secret-1234").returned
        == "success"
    )
    r = run_hook("AfterCronJob", url=daemon.url, secret=daemon.secret, extra_env=db_env(mariadb, whmcs_db))
    mine = [e for e in r.module_log if e["request"].get("serverid") == serverid]
    assert mine
    assert mine[0]["request"]["serverusername"] == "ops&admins"
    assert "rejected" not in json.dumps(mine[0]["response"]), mine[0]["response"]


def test_config_option_descriptions_render_as_the_text_of_the_daemons_settings() -> None:
    r = run_shim("ConfigOptions", {}, url="http://127.0.0.1:1", secret="s" * 32)
    for s in SETTINGS:
        shown = Dom(r.returned[s.label]["Description"])  # WHMCS prints it as raw HTML
        assert shown.elements == [], s.label
        assert shown.text == s.description, s.label


@pytest.mark.parametrize("helper", ["forward", "simple", "buttons", "allowed_params", "plain", "log", "server_params"])
def test_internal_helpers_cannot_be_run_through_the_admin_url(helper: str) -> None:
    r = run_shim(helper, {"serviceid": 1}, url="http://127.0.0.1:1", secret="s" * 32, context="admin_ac")
    assert r.exception == {**r.exception, "message": "WHMCS: Function Not Found"}, r.exception


def test_readme_says_usage_update_needs_the_update_usage_statistics_setting() -> None:
    readme = (REPO / "README.md").read_text()
    assert "Update usage statistics" in readme
    assert "config.php" in readme
    assert "7.4" in readme


# The daemon names the secrets; effects are allow-listed
def test_generated_passwords_are_masked_in_the_module_log_because_the_daemon_names_them(make) -> None:
    svc = make()
    r = svc.call("ResetPassword")
    assert r.returned == "success"
    assert svc.password
    assert svc.password not in json.dumps([e["masked"] for e in r.module_log])
    assert svc.password in r.module_log[0]["replace_vars"]


@pytest.mark.parametrize(
    ("effect", "refusal"),
    [
        ({"type": "localapi", "command": "DeleteClient", "params": {"clientid": 7}}, "not an effect this module"),
        (
            {"type": "localapi", "command": "UpdateClientProduct", "params": {"serviceid": 99}},
            "while handling service 5",
        ),
    ],
)
def test_the_shim_carries_out_only_allow_listed_effects_on_the_service_at_hand(effect, refusal) -> None:
    with answering({"ok": True, "result": None, "effects": [effect]}) as url:  # a mistaken or compromised daemon
        r = run_shim("SuspendAccount", {"serviceid": 5}, url=url, secret="s" * 32)
    assert refusal in r.returned
    assert r.local_api == []
