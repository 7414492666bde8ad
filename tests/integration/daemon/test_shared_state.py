"""Several daemons on one WHMCS database: replays refused across daemons and restarts, pending secrets sealed in the
database, per-service named locks, and 20 concurrent creates for one service spread over three daemons."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from bridge.config import Config
from bridge.domain.sealing import SecretBox
from bridge.errors import Busy
from bridge.web.admission import Admission
from bridge.whmcs.db import Database
from bridge.whmcs.nonce_store import SharedNonces
from bridge.whmcs.pending_store import PURPOSE, PendingSecrets
from bridge.whmcs.service_locks import ServiceLocks
from rig.services import MariaDB, MinIO, stop_process
from tests.conftest import Daemon, server_params, start_daemon
from tests.support.daemons import call, send, signed_request, start_daemons
from tests.support.whmcs_role import Service

pytestmark = [pytest.mark.mariadb]


@pytest.fixture(scope="module")
def three(daemon_config: dict[str, Any]) -> Iterator[list[Daemon]]:
    daemons = start_daemons(daemon_config, 3)
    yield daemons
    for d in daemons:
        stop_process(d.proc)


@pytest.mark.minio
def test_a_replay_is_refused_by_another_daemon(three: list[Daemon], minio: MinIO) -> None:
    request = signed_request(three[0].url, three[0].secret, "TestConnection", server_params(minio))
    assert send(request).status == 200
    for other in three[1:]:
        replay = signed_request(other.url, other.secret, "TestConnection", {})
        replay.full_url, replay.data, replay.headers = (
            other.url + "/v1/module/TestConnection",
            request.data,
            dict(request.headers),
        )
        answer = send(replay)
        assert answer.status == 401
        assert answer.body["error"]["code"] == "replayed_nonce"


@pytest.mark.minio
def test_a_replay_is_refused_after_the_daemon_restarts(daemon_config: dict[str, Any], minio: MinIO) -> None:
    [d] = start_daemons(daemon_config, 1)
    cfg = {**daemon_config, "daemon": {**daemon_config["daemon"], "listen": d.url.removeprefix("http://")}}
    request = signed_request(d.url, d.secret, "TestConnection", server_params(minio))
    try:
        assert send(request).status == 200
        stop_process(d.proc)
        d = start_daemon(cfg)
        answer = send(request)
        assert answer.status == 401
        assert answer.body["error"]["code"] == "replayed_nonce"
    finally:
        stop_process(d.proc)


async def test_nonces_older_than_twice_the_window_are_pruned(config: Config, mariadb: MariaDB, whmcs_db: str) -> None:
    db = Database(config.whmcs_db)
    try:
        nonces = SharedNonces(db, window=300)
        assert await nonces.first_use("a" * 32, 1_000)
        assert not await nonces.first_use("a" * 32, 1_010)  # a replay, same daemon
        assert await SharedNonces(db, window=300).first_use("b" * 32, 1_000 + 601)  # another daemon, later: prunes
        conn = mariadb.connect(whmcs_db)
        with conn.cursor() as cur:
            cur.execute("SELECT nonce FROM mod_s3bridge_nonces WHERE nonce IN (%s, %s)", ("a" * 32, "b" * 32))
            assert [r["nonce"] for r in cur.fetchall()] == ["b" * 32]
        conn.close()
    finally:
        db.close()


async def test_pending_secrets_are_sealed_at_rest_bound_to_their_service_and_expire(
    config: Config, mariadb: MariaDB, whmcs_db: str
) -> None:
    db = Database(config.whmcs_db)
    now = [1_000.0]
    box = SecretBox.from_config(["state-key-0123456789abcdef0123456789"], PURPOSE)
    pending = PendingSecrets(db, box, ttl=60, clock=lambda: now[0])
    try:
        await pending.put(9_000_001, "Pl41n-s3cret-value")
        conn = mariadb.connect(whmcs_db)
        with conn.cursor() as cur:
            cur.execute("SELECT sealed FROM mod_s3bridge_pending WHERE serviceid = 9000001")
            sealed = bytes(cur.fetchone()["sealed"])  # type: ignore[index]
            assert b"Pl41n-s3cret-value" not in sealed
            # moved to another service's row, it does not open
            cur.execute("REPLACE INTO mod_s3bridge_pending VALUES (9000002, %s, 99999999999)", (sealed,))
        assert await pending.get(9_000_002) is None
        # another daemon with the same key reads it; one with another key does not
        assert await PendingSecrets(db, box, clock=lambda: now[0]).get(9_000_001) == "Pl41n-s3cret-value"
        other_key = SecretBox.from_config(["another-key-0123456789abcdef0123456"], PURPOSE)
        assert await PendingSecrets(db, other_key, clock=lambda: now[0]).get(9_000_001) is None
        # rotation: a box listing the new key first and the old one after still opens it
        rotated = SecretBox.from_config(
            ["another-key-0123456789abcdef0123456", "state-key-0123456789abcdef0123456789"], PURPOSE
        )
        assert await PendingSecrets(db, rotated, clock=lambda: now[0]).get(9_000_001) == "Pl41n-s3cret-value"
        await pending.settle(9_000_001, "not-the-one")
        assert await pending.get(9_000_001) == "Pl41n-s3cret-value"
        await pending.settle(9_000_001, "Pl41n-s3cret-value")  # WHMCS holds it now
        assert await pending.get(9_000_001) is None
        await pending.put(9_000_003, "another-s3cret")
        now[0] += 61
        assert await pending.get(9_000_003) is None
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) AS n FROM mod_s3bridge_pending WHERE serviceid = 9000003")
            assert cur.fetchone() == {"n": 0}  # expired rows are deleted, not only hidden
        conn.close()
    finally:
        db.close()


async def test_named_locks_serialize_one_service_across_lock_holders_and_time_out_with_busy(config: Config) -> None:
    """Two ServiceLocks (as two daemons would have) on one database: the second waits for the first."""
    a = ServiceLocks(config.whmcs_db, wait_s=1, retry_after=3)
    b = ServiceLocks(config.whmcs_db, wait_s=1, retry_after=3)
    order: list[str] = []
    try:

        async def hold(locks: ServiceLocks, tag: str, seconds: float, held: asyncio.Event | None = None) -> None:
            async with locks.hold(4242):
                order.append(f"{tag}+")
                if held is not None:
                    held.set()
                await asyncio.sleep(seconds)
                order.append(f"{tag}-")

        a_holds = asyncio.Event()
        first = asyncio.create_task(hold(a, "a", 0.5, a_holds))
        await a_holds.wait()
        await hold(b, "b", 0)
        await first
        assert order == ["a+", "a-", "b+", "b-"]

        a_holds.clear()
        slow = asyncio.create_task(hold(a, "a", 2.5, a_holds))
        await a_holds.wait()
        with pytest.raises(Busy) as e:
            await hold(b, "b", 0)
        assert e.value.retry_after == 3
        assert "service 4242 is busy" in e.value.message
        await slow
        async with b.hold(7), a.hold(8):  # other services never wait
            pass
    finally:
        a.close()
        b.close()


async def test_admission_bounds_running_and_waiting_calls_and_forgets_idle_servers() -> None:
    gate = Admission(max_running=1, max_queued=1, retry_after=2)
    release = asyncio.Event()

    async def work() -> str:
        async with gate.admit("s1"):
            await release.wait()
        return "done"

    running = asyncio.create_task(work())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(work())
    await asyncio.sleep(0)
    with pytest.raises(Busy) as e:
        await work()
    assert e.value.retry_after == 2
    assert e.value.code == "overloaded"
    async with gate.admit("s2"):  # another storage server has its own bound
        pass
    release.set()
    assert list(await asyncio.gather(running, waiting)) == ["done", "done"]
    assert len(gate) == 0


@pytest.mark.minio
def test_twenty_concurrent_creates_for_one_service_over_three_daemons_make_one_account_and_one_password(
    three: list[Daemon], minio: MinIO, mariadb: MariaDB, whmcs_db: str
) -> None:
    svc = Service(minio, three[0].url, three[0].secret, options={12: "on"})
    svc.register(mariadb, whmcs_db)
    params = svc.params()
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda i: call(three[i % 3], "CreateAccount", params), range(20)))
    assert [a.status for a in answers] == [200] * 20, [a.body for a in answers if a.status != 200]
    passwords = {a.password for a in answers}
    assert len(passwords) == 1, "every answer hands WHMCS the same password, whichever it applies last"
    [password] = passwords
    assert password
    username = f"{svc.clientid}-{svc.serviceid}"
    admin = MinioAdmin(
        endpoint=minio.endpoint, secure=False, credentials=StaticProvider(minio.access_key, minio.secret_key)
    )
    assert [u for u in json.loads(admin.user_list()) if u == username] == [username]
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{minio.endpoint}",
        aws_access_key_id=username,
        aws_secret_access_key=password,
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    s3.put_object(Bucket=f"{username}--data", Key="k", Body=b"works")
    conn = mariadb.connect(whmcs_db)
    with conn.cursor() as cur:
        cur.execute("SELECT state FROM mod_s3bridge_services WHERE serviceid = %s", (svc.serviceid,))
        assert list(cur.fetchall()) == [{"state": "active"}]
    conn.close()
    # WHMCS stores the password; its next call carries it, and the pending secret is settled.
    svc.password = password
    again = call(three[1], "CreateAccount", svc.params())
    assert again.status == 200
    assert again.password is None  # WHMCS already holds a working one: nothing to change
    assert not any(password in d.log_text() for d in three)


def test_sigkill_does_not_leave_a_service_locked(daemon_config: dict[str, Any]) -> None:
    """The database releases a named lock with its connection: a daemon killed while holding one blocks nobody."""
    import subprocess
    import sys

    from rig.paths import REPO
    from tests.conftest import write_config

    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LOCK, str(write_config(daemon_config))],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == b"held"
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)

        async def take() -> None:
            from bridge.config import load_config

            cfg = load_config(write_config(daemon_config))
            locks = ServiceLocks(cfg.whmcs_db, wait_s=5, retry_after=1)
            try:
                async with locks.hold(31337):
                    pass
            finally:
                locks.close()

        asyncio.run(take())
    finally:
        if holder.poll() is None:
            holder.kill()


_HOLD_LOCK = """
import asyncio, sys, time
from bridge.config import load_config
from bridge.whmcs.service_locks import ServiceLocks

async def main():
    locks = ServiceLocks(load_config(sys.argv[1]).whmcs_db, wait_s=5, retry_after=1)
    async with locks.hold(31337):
        print("held", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""
