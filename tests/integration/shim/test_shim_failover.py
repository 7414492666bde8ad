"""The real shim with several daemon URLs: it moves to the next daemon when one cannot be reached, and honours a
daemon's 503 + Retry-After (bounded queue full) for calls safe to repeat."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from rig.services import MinIO, free_port, stop_process
from rig.shim import run_shim
from tests.conftest import Daemon, server_params, start_daemon
from tests.support.daemons import call
from tests.support.fake_daemon import slow_denying_storage

pytestmark = [pytest.mark.php, pytest.mark.mariadb]


@pytest.mark.minio
def test_a_daemon_that_cannot_be_reached_is_skipped_for_the_next_url(daemon: Daemon, minio: MinIO) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    r = run_shim("TestConnection", server_params(minio), url=f"{dead},{daemon.url}", secret=daemon.secret)
    assert r.returned == {"success": True, "error": ""}
    only_dead = run_shim("TestConnection", server_params(minio), url=dead, secret=daemon.secret)
    assert only_dead.returned["error"] == f"s3bridge daemon unreachable at {dead[7:]}: connection refused"


@pytest.fixture
def slow_server() -> Iterator[int]:
    with slow_denying_storage(3) as port:  # every admin call takes 3 s, then AccessDenied
        yield port


def test_a_full_daemon_answers_503_with_retry_after_and_the_shim_waits_then_takes_the_next(
    daemon_config: dict[str, Any], daemon: Daemon, slow_server: int
) -> None:
    cfg = {
        **daemon_config,
        "daemon": {**daemon_config["daemon"], "listen": f"127.0.0.1:{free_port()}"},
        "backend": {**daemon_config["backend"], "max_concurrency": 1, "max_queued": 1, "retry_after": 1},
    }
    small = start_daemon(cfg)
    params = {"serverhostname": "127.0.0.1", "serverport": slow_server, "serverusername": "u", "serverpassword": "p1"}
    try:
        busy = [threading.Thread(target=call, args=(small, "TestConnection", params)) for _ in range(2)]
        for t in busy:  # one running, one waiting: the queue for this storage server is full
            t.start()
        time.sleep(0.5)
        refused = call(small, "TestConnection", params)
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
        assert refused.body["error"]["code"] == "overloaded"
        t0 = time.monotonic()
        r = run_shim("TestConnection", params, url=f"{small.url},{daemon.url}", secret=daemon.secret)
        waited = time.monotonic() - t0
        # The real answer, from the second daemon: the storage server's refusal, not the first daemon's 503.
        assert "not allowed" in r.returned["error"], r.returned
        assert waited >= 1  # Retry-After was honoured before moving on
        for t in busy:
            t.join(30)
    finally:
        stop_process(small.proc)
