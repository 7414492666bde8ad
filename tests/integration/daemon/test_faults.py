"""Faults with real processes on loopback: three daemons on one MariaDB; one is SIGKILLed in the middle of
CreateAccount, TerminateAccount and UsageUpdate; MariaDB restarts in the middle of a call; MinIO turns slow (a TCP relay
adding latency) or answers 503. After each, the next call converges: one account, no orphan, no lost figure, no second
email."""

from __future__ import annotations

import http.client
import io
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from rig.paths import REPO
from rig.services import MariaDB, MinIO, free_port, scratch_dir, stop_process
from tests.conftest import CANARY_DB_PASSWORD, Daemon, make_config, start_daemon, write_config
from tests.support.daemons import Answer, call, start_daemons
from tests.support.tcp_proxy import FaultRelay, TriggerProxy
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.mariadb, pytest.mark.minio]

DATABASE = "whmcs_faults"
LOST = (urllib.error.URLError, ConnectionError, http.client.HTTPException, TimeoutError)


@dataclass
class Rig:
    db: MariaDB
    minio: MinIO
    config: dict[str, Any]
    daemons: list[Daemon]

    def revive(self) -> None:
        """Start again every daemon that was killed, on its own address."""
        for i, d in enumerate(self.daemons):
            if d.proc.poll() is not None:
                listen = d.url.removeprefix("http://")
                self.daemons[i] = start_daemon({**self.config, "daemon": {**self.config["daemon"], "listen": listen}})

    def service(self, **options: str) -> Service:
        svc = Service(self.minio, self.daemons[0].url, self.daemons[0].secret, options={12: "on"})
        svc.options.update({int(k.removeprefix("o")): v for k, v in options.items()})
        svc.register(self.db, DATABASE)
        return svc

    def record(self, serviceid: int) -> dict[str, Any] | None:
        conn = self.db.connect(DATABASE)
        with conn.cursor() as cur:
            cur.execute("SELECT username, state FROM mod_s3bridge_services WHERE serviceid = %s", (serviceid,))
            row = cur.fetchone()
        conn.close()
        return row

    def admin(self) -> MinioAdmin:
        return MinioAdmin(
            endpoint=self.minio.endpoint,
            secure=False,
            credentials=StaticProvider(self.minio.access_key, self.minio.secret_key),
        )

    def buckets(self, prefix: str) -> list[str]:
        root = Minio(self.minio.endpoint, self.minio.access_key, self.minio.secret_key, secure=False)
        return sorted(b.name for b in root.list_buckets() if b.name.startswith(prefix))


@pytest.fixture(scope="module")
def rig(minio: MinIO) -> Iterator[Rig]:
    root = scratch_dir("mariadb-faults")
    db = MariaDB(root=root, port=free_port(), socket=str(root / "mysqld.sock"))
    db.start()
    daemons: list[Daemon] = []
    try:
        db.create_whmcs_database(DATABASE)
        admin_cfg = write_config(make_config(db, DATABASE, user="root", password=db.root_password))
        subprocess.run(
            [sys.executable, "-m", "bridge", "migrate", "--config", str(admin_cfg)],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        db.create_daemon_user(DATABASE, "s3bridge", CANARY_DB_PASSWORD)
        config = make_config(db, DATABASE)
        config["daemon"]["lock_wait"] = 60
        daemons = start_daemons(config, 3)
        rig = Rig(db, minio, config, daemons)
        yield rig
        daemons = rig.daemons
    finally:
        for d in daemons:
            stop_process(d.proc)
        db.stop()


def killed_mid_call(rig: Rig, victim: Daemon, function: str, params: dict[str, Any], *, at: bytes) -> None:
    """The call whose daemon dies under it: `victim` reaches MinIO through a relay that SIGKILLs it once the request
    holding `at` has succeeded upstream; the caller sees the connection drop, no answer."""
    with TriggerProxy(rig.minio.port, at, sigkill(victim)) as proxy:
        proxy.armed = True
        with pytest.raises(LOST):
            call(victim, function, {**params, "serverport": proxy.port}, timeout=60)
        assert victim.proc.wait(10) == -signal.SIGKILL
        assert proxy.fired.is_set()


def sigkill(d: Daemon) -> Any:
    return lambda: os.kill(d.proc.pid, signal.SIGKILL)


def assert_one_working_account(rig: Rig, svc: Service, answer: Answer) -> None:
    username = f"{svc.clientid}-{svc.serviceid}"
    assert answer.status == 200, answer.body
    assert rig.record(svc.serviceid) == {"username": username, "state": "active"}
    assert [u for u in json.loads(rig.admin().user_list()) if u.endswith(f"-{svc.serviceid}")] == [username]
    assert rig.buckets(username) == [f"{username}--data"]
    svc.username, svc.password = username, answer.password or svc.password
    svc.s3().put_object(Bucket=f"{username}--data", Key="proof", Body=b"ok")


def test_sigkill_mid_create_account_the_next_call_on_another_daemon_completes_it(rig: Rig) -> None:
    rig.revive()
    svc = rig.service()
    victim, other = rig.daemons[0], rig.daemons[1]
    killed_mid_call(rig, victim, "CreateAccount", svc.params(), at=b"/minio/admin/v3/add-user")
    assert rig.record(svc.serviceid) == {"username": f"{svc.clientid}-{svc.serviceid}", "state": "creating"}
    t0 = time.monotonic()
    answer = call(other, "CreateAccount", svc.params())
    assert time.monotonic() - t0 < 30  # the dead daemon's lock went with its connection
    assert_one_working_account(rig, svc, answer)


def test_sigkill_mid_terminate_the_next_call_deletes_the_rest_and_nothing_else(rig: Rig) -> None:
    rig.revive()
    svc = rig.service()
    keep = rig.service()  # a neighbour that must not be touched
    for s in (svc, keep):
        assert_one_working_account(rig, s, call(rig.daemons[2], "CreateAccount", s.params()))
    username = svc.username
    for i in range(5):
        svc.s3().put_object(Bucket=f"{username}--data", Key=f"k{i}", Body=b"x" * 10)
    victim, other = rig.daemons[0], rig.daemons[1]
    killed_mid_call(rig, victim, "TerminateAccount", svc.params(), at=b"?delete")  # objects gone, bucket and user not
    assert rig.record(svc.serviceid) == {"username": username, "state": "terminating"}
    answer = call(other, "TerminateAccount", svc.params())
    assert answer.status == 200, answer.body
    assert rig.record(svc.serviceid) == {"username": username, "state": "terminated"}
    assert username not in json.loads(rig.admin().user_list())
    assert rig.buckets(username) == []
    again = call(rig.daemons[2], "TerminateAccount", svc.params())
    assert "nothing to delete" in again.body["result"]["message"]
    assert keep.s3().get_object(Bucket=f"{keep.username}--data", Key="proof")["Body"].read() == b"ok"


def _scanned(rig: Rig, bucket: str, size: int, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = json.loads(rig.admin().get_data_usage_info()).get("bucketsUsageInfo") or {}
        if (info.get(bucket) or {}).get("size", 0) >= size:
            return
        time.sleep(1)
    raise AssertionError(f"MinIO's scanner did not see {bucket} at {size} bytes in {timeout} s")


def _hosting(rig: Rig, serviceid: int) -> dict[str, Any]:
    return rig.db.one(DATABASE, "SELECT diskusage, disklimit FROM tblhosting WHERE id = %s", (serviceid,))


def test_sigkill_mid_usage_update_the_next_run_writes_every_figure_and_sends_the_email_once(rig: Rig) -> None:
    rig.revive()
    svc = rig.service(o2="1", o3="MB")  # 1 MB limit: 960 KB crosses the 90 % warning line
    assert_one_working_account(rig, svc, call(rig.daemons[0], "CreateAccount", svc.params()))
    svc.s3().put_object(Bucket=f"{svc.username}--data", Key="big", Body=io.BytesIO(b"x" * 960 * 1024))
    _scanned(rig, f"{svc.username}--data", 960 * 1024)
    server = svc.server_params()
    victim, other = rig.daemons[0], rig.daemons[1]
    killed_mid_call(rig, victim, "UsageUpdate", server, at=b"/minio/admin/v3/datausageinfo")
    answer = call(other, "UsageUpdate", server)
    assert answer.status == 200, answer.body
    mine = [e for e in answer.body["effects"] if e.get("params", {}).get("id") == svc.serviceid]
    assert len(mine) == 1, answer.body["effects"]  # the warning email, once
    assert _hosting(rig, svc.serviceid) == {"diskusage": 1, "disklimit": 1}
    again = call(rig.daemons[2], "UsageUpdate", server)
    assert [e for e in again.body["effects"] if e.get("params", {}).get("id") == svc.serviceid] == []


def test_mariadb_restarting_mid_create_fails_clearly_and_the_next_call_converges(rig: Rig) -> None:
    rig.revive()
    svc = rig.service()
    with TriggerProxy(rig.minio.port, b"/minio/admin/v3/add-user", rig.db.restart) as proxy:
        proxy.armed = True
        first = call(rig.daemons[0], "CreateAccount", svc.params(serverport=proxy.port))
        assert proxy.fired.is_set()
        if first.status != 200:  # the database went away under the call: a sentence, not a stack trace
            assert first.status == 503, first.body
            assert first.body["error"]["code"] == "database_unavailable"
            assert "WHMCS database" in first.body["error"]["message"]
        answer = call(rig.daemons[1], "CreateAccount", svc.params())
        assert_one_working_account(rig, svc, answer)
        assert call(rig.daemons[0], "TestConnection", svc.server_params()).status == 200  # pools reconnected


def test_slow_minio_the_caller_gives_up_and_the_next_call_gets_the_same_working_password(rig: Rig) -> None:
    rig.revive()
    svc = rig.service()
    with FaultRelay(rig.minio.port) as relay:
        relay.delay = 0.4
        with pytest.raises(LOST):  # the shim's total timeout passes; the daemon carries on
            call(rig.daemons[0], "CreateAccount", svc.params(serverport=relay.port), timeout=2)
        answer = call(rig.daemons[1], "CreateAccount", svc.params())  # waits for the first to finish
        assert_one_working_account(rig, svc, answer)


def test_minio_answering_503_fails_clearly_leaves_nothing_and_the_next_call_converges(rig: Rig) -> None:
    rig.revive()
    svc = rig.service()
    with FaultRelay(rig.minio.port) as relay:
        relay.unavailable = True
        first = call(rig.daemons[0], "CreateAccount", svc.params(serverport=relay.port))
        assert first.status == 502, first.body
        assert f"127.0.0.1:{relay.port}" in first.body["error"]["message"]
        assert f"{svc.clientid}-{svc.serviceid}" not in json.loads(rig.admin().user_list())
        answer = call(rig.daemons[2], "CreateAccount", svc.params())
        assert_one_working_account(rig, svc, answer)
