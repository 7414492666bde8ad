"""Reconcile on real MinIO (its own server, so only this module's accounts are on it) and on the ostor gateway
emulator (a stand-in: no Virtuozzo cluster runs here), through the real daemon and `s3bridge reconcile`; WHMCS's side
through the real shim and MariaDB. Each drift kind is made by hand on storage or in WHMCS's tables, found, and
repaired (or refused without the typed name and the grace period), and nothing of another service is touched."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.paths import REPO
from rig.sample_whmcs import insert_server
from rig.services import MariaDB, MinIO, free_port, scratch_dir
from rig.shim import run_hook
from tests.conftest import write_config
from tests.support.ostor_gateway import Gateway
from tests.support.whmcs_role import Service, next_id

pytestmark = [pytest.mark.minio, pytest.mark.php, pytest.mark.mariadb]


@pytest.fixture(scope="module")
def own_minio() -> Iterator[MinIO]:
    server = MinIO(root=scratch_dir("minio-reconcile"), port=free_port(), console_port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cli_config(daemon_config: dict[str, Any]) -> Path:
    """The daemon's own config (its address and secret): what `s3bridge reconcile` reads."""
    return write_config(daemon_config, scratch_dir("config-reconcile") / "s3bridge.toml")


def reconcile(config: Path, serverid: int, *args: str) -> tuple[int, dict[str, Any]]:
    p = subprocess.run(
        [sys.executable, "-m", "bridge", "reconcile", "--config", str(config), "--server", str(serverid), "--json",
         *args],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert p.stdout, p.stderr
    return p.returncode, json.loads(p.stdout)


def found(result: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["kind"], f["subject"]) for f in result["findings"]}


def outcome(result: dict[str, Any], kind: str, subject: str) -> tuple[str, str]:
    f = next(f for f in result["findings"] if (f["kind"], f["subject"]) == (kind, subject))
    return f.get("outcome", ""), f.get("detail", "")


def sql(mariadb: MariaDB, db: str, statement: str, *args: Any) -> list[dict[str, Any]]:
    conn = mariadb.connect(db)
    with conn.cursor() as cur:
        cur.execute(statement, args)
        rows = list(cur.fetchall())
    conn.close()
    return rows


def age_findings(mariadb: MariaDB, db: str, serverid: int, hours: int) -> None:
    """Pretend the findings were first seen `hours` ago (the grace period is 72 hours by default)."""
    sql(mariadb, db, "UPDATE mod_s3bridge_drift SET first_seen = first_seen - INTERVAL %s HOUR WHERE serverid = %s",
        hours, serverid)  # fmt: skip


# -- MinIO ------------------------------------------------------------------------------------------------------


def test_each_drift_kind_on_minio_is_found_repaired_or_refused_and_no_other_service_is_touched(
    daemon, own_minio: MinIO, mariadb: MariaDB, whmcs_db: str, cli_config: Path
) -> None:
    admin = MinioAdmin(
        endpoint=own_minio.endpoint,
        credentials=StaticProvider(own_minio.access_key, own_minio.secret_key),
        secure=False,
    )
    root = Minio(own_minio.endpoint, access_key=own_minio.access_key, secret_key=own_minio.secret_key, secure=False)
    serverid = next_id()

    def service() -> Service:
        s = Service(own_minio, daemon.url, daemon.secret, serverid=serverid, options={12: "on"})
        s.register(mariadb, whmcs_db)
        assert s.call("CreateAccount").returned == "success"
        s.s3().put_object(Bucket=f"{s.username}--data", Key="k", Body=b"keep me")
        return s

    bystander, suspended, policy, missing, orphan = (service() for _ in range(5))
    sql(mariadb, whmcs_db, "UPDATE tblhosting SET domainstatus = 'Suspended' WHERE id = %s", suspended.serviceid)
    admin.policy_set(f"s3bridge-{policy.username}-limited", user=policy.username)
    admin.user_remove(missing.username)
    sql(mariadb, whmcs_db, "UPDATE tblhosting SET domainstatus = 'Terminated' WHERE id = %s", orphan.serviceid)
    stray = f"stray-{next_id()}"
    root.make_bucket(stray)
    root.put_object(stray, "x", io.BytesIO(b"x"), 1)

    code, result = reconcile(cli_config, serverid)
    assert code == 2, result  # a suspended service can still write: critical
    assert found(result) == {
        ("state_mismatch", suspended.username),
        ("policy_mismatch", policy.username),
        ("missing_user", missing.username),
        ("orphan_user", orphan.username),
        ("stray_bucket", stray),
    }
    assert result["findings"][0]["kind"] == "state_mismatch"  # the urgent one first
    assert (result["services"], result["accounts"]) == (5, 4)

    code, result = reconcile(cli_config, serverid, "--fix", "safe")
    assert code == 1, result  # orphan, missing and stray need a person
    assert outcome(result, "state_mismatch", suspended.username)[0] == "repaired"
    assert outcome(result, "policy_mismatch", policy.username)[0] == "repaired"
    assert json.loads(admin.user_info(suspended.username))["status"] == "disabled"
    assert json.loads(admin.user_info(policy.username))["policyName"] == f"s3bridge-{policy.username}"
    assert json.loads(admin.user_info(orphan.username))["status"] == "enabled"  # not deleted without a name
    assert [o.object_name for o in root.list_objects(f"{orphan.username}--data")] == ["k"]
    audited = sql(mariadb, whmcs_db, "SELECT action, outcome FROM mod_s3bridge_audit WHERE serviceid = %s",
                  suspended.serviceid)  # fmt: skip
    assert {"action": "Reconcile:state_mismatch", "outcome": "repaired"} in audited

    code, result = reconcile(cli_config, serverid, "--delete", orphan.username, "--delete", bystander.username)
    how, why = outcome(result, "orphan_user", orphan.username)
    assert how == "refused"
    assert "grace period" in why
    assert result["refused_deletes"] == [
        f"'{bystander.username}' is not an orphan on server {serverid}: nothing deleted"
    ]
    assert [o.object_name for o in root.list_objects(f"{orphan.username}--data")] == ["k"]

    age_findings(mariadb, whmcs_db, serverid, 73)
    code, result = reconcile(cli_config, serverid, "--delete", orphan.username)
    assert outcome(result, "orphan_user", orphan.username)[0] == "repaired", result
    assert orphan.username not in json.loads(admin.user_list())
    assert not root.bucket_exists(f"{orphan.username}--data")

    code, result = reconcile(cli_config, serverid)
    assert found(result) == {("missing_user", missing.username), ("stray_bucket", stray)}
    # nothing of another service was touched: the bystander still reads and writes its data
    assert bystander.s3().get_object(Bucket=f"{bystander.username}--data", Key="k")["Body"].read() == b"keep me"
    assert json.loads(admin.user_info(bystander.username))["status"] == "enabled"
    assert root.bucket_exists(stray)  # strays are never deleted by reconcile
    left = sql(mariadb, whmcs_db, "SELECT kind FROM mod_s3bridge_drift WHERE serverid = %s", serverid)
    assert sorted(r["kind"] for r in left) == ["missing_user", "stray_bucket"]


def remove_for_good(root: Minio, bucket: str) -> None:
    """Delete an empty bucket on a MinIO that has just started, and see that it stays deleted. For a moment after it
    answers, MinIO is still loading each bucket's metadata, and that load heals every bucket it listed at start with
    `HealBucket(Recreate: true)` (cmd/bucket-metadata-sys.go, concurrentLoad: 25 to 125 ms apart): a bucket deleted
    before its turn comes back, empty. Seen in this test's flaky runs: the deleted bucket existed again after the
    reconcile and was rightly reported as a stray."""
    absent_since = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if root.bucket_exists(bucket):
            root.remove_bucket(bucket)
            absent_since = time.monotonic()
        elif absent_since is not None and time.monotonic() - absent_since > 3:
            return
        time.sleep(0.25)
    raise AssertionError(f"MinIO kept recreating bucket {bucket} for 30 s after it started")


def test_a_bucket_deleted_since_minios_last_scan_is_no_stray_and_one_made_since_is_one(
    daemon, mariadb: MariaDB, whmcs_db: str, cli_config: Path
) -> None:
    """MinIO's DataUsageInfo is the scanner's last pass, about a second old at the fastest speed: a bucket deleted a
    moment ago is still in it, one made a moment ago is not yet (the cause of a flaky run of the test above). Here the
    scanner passes once and is then slowed to a pass per 30 minutes (a restart with MINIO_SCANNER_SPEED=slowest), so
    its figures stay stale for the whole test."""
    server = MinIO(root=scratch_dir("minio-stale-scan"), port=free_port(), console_port=free_port())
    server.start()
    try:
        admin = MinioAdmin(
            endpoint=server.endpoint, credentials=StaticProvider(server.access_key, server.secret_key), secure=False
        )
        root = Minio(server.endpoint, access_key=server.access_key, secret_key=server.secret_key, secure=False)
        serverid = next_id()

        def scanned() -> set[str]:
            return set(json.loads(admin.get_data_usage_info() or "{}").get("bucketsUsageInfo") or {})

        def service() -> Service:
            s = Service(server, daemon.url, daemon.secret, serverid=serverid, options={12: "on"})
            s.register(mariadb, whmcs_db)
            assert s.call("CreateAccount").returned == "success"
            s.s3().put_object(Bucket=f"{s.username}--data", Key="k", Body=b"keep me")
            return s

        gone, kept = service(), service()
        deadline = time.monotonic() + 60
        while f"{gone.username}--data" not in scanned():
            assert time.monotonic() < deadline, "MinIO's scanner did not pass within 60 s"
            time.sleep(0.2)
        server.stop()
        server.extra_env["MINIO_SCANNER_SPEED"] = "slowest"
        server.start()

        sql(mariadb, whmcs_db, "UPDATE tblhosting SET domainstatus = 'Terminated' WHERE id = %s", gone.serviceid)
        root.remove_object(f"{gone.username}--data", "k")
        remove_for_good(root, f"{gone.username}--data")
        admin.user_remove(gone.username)
        fresh = f"stray-{next_id()}"
        root.make_bucket(fresh)
        seen = scanned()  # the scanner's figures are stale
        assert f"{gone.username}--data" in seen
        assert fresh not in seen

        code, result = reconcile(cli_config, serverid)
        assert found(result) == {("stray_bucket", fresh)}, result
        assert code == 1
        assert kept.s3().get_object(Bucket=f"{kept.username}--data", Key="k")["Body"].read() == b"keep me"
    finally:
        server.stop()


def test_reconcile_of_a_server_the_daemon_has_not_seen_says_so_and_exits_unknown(cli_config: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "bridge", "reconcile", "--config", str(cli_config), "--server", str(next_id())],
        capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert p.returncode == 3
    assert "has not called this daemon since it started" in p.stderr


# -- ostor (emulator) -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    g = Gateway()
    yield g
    g.stop()


def test_each_drift_kind_on_ostor_is_found_and_repaired_or_refused(
    daemon, gateway: Gateway, mariadb: MariaDB, whmcs_db: str, cli_config: Path
) -> None:
    serverid = next_id()

    def service() -> Service:
        s = Service(gateway, daemon.url, daemon.secret, serverid=serverid, accesshash="backend=ostor",  # type: ignore[arg-type]
                    options={1: "ostor", 12: "on"})  # fmt: skip
        s.register(mariadb, whmcs_db)
        assert s.call("CreateAccount").returned == "success"
        return s

    def buckets_of(name: str) -> list[str]:
        owner = user(name).user_id
        return sorted(b.name for b in gateway.emulator.state.buckets.values() if b.owner_id == owner)

    def user(name: str) -> Any:
        return next((u for u in gateway.emulator.state.users.values() if u.email == f"{name}@s3bridge.invalid"), None)

    bystander, suspended, orphan = (service() for _ in range(3))
    rows = sql(mariadb, whmcs_db, "SELECT serviceid, username FROM mod_s3bridge_services WHERE serverid = %s", serverid)
    records = {r["serviceid"]: r["username"] for r in rows}
    sql(mariadb, whmcs_db, "UPDATE tblhosting SET domainstatus = 'Suspended' WHERE id = %s", suspended.serviceid)
    sql(mariadb, whmcs_db, "UPDATE tblhosting SET domainstatus = 'Terminated' WHERE id = %s", orphan.serviceid)
    sus_user, orph_user, by_user = records[suspended.serviceid], records[orphan.serviceid], records[bystander.serviceid]
    (kept,) = buckets_of(by_user)
    bystander.s3().put_object(Bucket=kept, Key="k", Body=b"keep me")
    assert buckets_of(orph_user)

    code, result = reconcile(cli_config, serverid)
    assert code == 2, result
    assert found(result) == {("state_mismatch", sus_user), ("orphan_user", orph_user)}

    code, result = reconcile(cli_config, serverid, "--fix", "safe", "--delete", orph_user)
    assert outcome(result, "state_mismatch", sus_user)[0] == "repaired"
    assert outcome(result, "orphan_user", orph_user)[0] == "refused"
    assert user(sus_user).state == "disabled"
    assert user(orph_user) is not None

    age_findings(mariadb, whmcs_db, serverid, 73)
    code, result = reconcile(cli_config, serverid, "--delete", orph_user)
    assert code == 0 or outcome(result, "orphan_user", orph_user)[0] == "repaired", result
    assert user(orph_user) is None
    assert not [b for b in gateway.emulator.state.buckets if b.startswith(orph_user)]
    assert user(by_user).state == "enabled"
    assert bystander.s3().get_object(Bucket=kept, Key="k")["Body"].read() == b"keep me"
    code, result = reconcile(cli_config, serverid)
    assert (code, found(result)) == (0, set())


# -- WHMCS's daily cron ---------------------------------------------------------------------------------------------


def test_whmcs_daily_cron_reconciles_each_server_as_config_php_says_and_the_admin_tab_counts_the_findings(
    daemon, own_minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    """The cron's tblservers is a database of its own holding only this server, so the hook reaches no other."""
    serverid = next_id()
    svc = Service(own_minio, daemon.url, daemon.secret, serverid=serverid)
    svc.register(mariadb, whmcs_db)
    assert svc.call("CreateAccount").returned == "success"
    sql(mariadb, whmcs_db, "UPDATE tblhosting SET domainstatus = 'Suspended' WHERE id = %s", svc.serviceid)
    cron_db = f"whmcs_cron_{serverid}"
    mariadb.create_whmcs_database(cron_db)
    conn = mariadb.connect(cron_db)
    secret = "standin-enc:" + base64.b64encode(own_minio.secret_key.encode()).decode()
    insert_server(conn, serverid, "storage", "127.0.0.1", own_minio.port, own_minio.access_key, secret)
    conn.close()
    env = {"STANDIN_DB_DSN": f"mysql:host=127.0.0.1;port={mariadb.port};dbname={cron_db}",
           "STANDIN_DB_USER": "root", "STANDIN_DB_PASSWORD": mariadb.root_password}  # fmt: skip
    keys = StaticProvider(own_minio.access_key, own_minio.secret_key)
    admin = MinioAdmin(endpoint=own_minio.endpoint, credentials=keys, secure=False)

    def run(**config: str) -> list[dict[str, Any]]:
        r = run_hook("DailyCronJob", url="", secret="", extra_env=env,
                     config={"url": daemon.url, "secret": daemon.secret, **config})  # fmt: skip
        assert r.exception is None, r.exception
        return sql(mariadb, whmcs_db, "SELECT findings FROM mod_s3bridge_reconcile_runs WHERE serverid = %s", serverid)

    def kinds() -> list[tuple[str, str]]:
        rows = sql(mariadb, whmcs_db, "SELECT kind, subject FROM mod_s3bridge_drift WHERE serverid = %s", serverid)
        return [(r["kind"], r["subject"]) for r in rows]

    assert run(reconcile="off") == []  # turned off: nothing ran
    # Daily by default; reported, not repaired. (This module's earlier services on the same MinIO are orphans
    # here: another server id.)
    (first,) = run()
    found = first["findings"]
    assert ("state_mismatch", svc.username) in kinds()
    assert found == len(kinds())
    assert json.loads(admin.user_info(svc.username))["status"] == "enabled"
    tab = json.dumps(svc.call("AdminServicesTabFields").returned)
    assert f"{found} finding{'s' if found != 1 else ''} on this server" in tab
    assert run(reconcile_fix="safe") == [{"findings": found - 1}]  # the safe repair; orphans wait for a person
    assert ("state_mismatch", svc.username) not in kinds()
    assert json.loads(admin.user_info(svc.username))["status"] == "disabled"
