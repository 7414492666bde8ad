"""The listeners against hostile clients, on the real daemon: a head or body that never finishes is cut off, a
listener holds at most its cap of connections, `[api]` checks the token before it reads a body, deep JSON is a 400
(never a 500), `[api]` and `[meter]` run in processes of their own, and 2,000 slow connections on `[api]` leave the
shim's signed calls fast (issue 18, item 3)."""

from __future__ import annotations

import ipaddress
import json
import re
import resource
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bridge.web.signing import signed_headers
from rig.paths import REPO
from rig.services import MariaDB, MinIO, free_port, stop_process
from rig.shim import run_shim
from rig.signed_http import send
from tests.conftest import Daemon, make_config, server_params, start_daemon, write_config

pytestmark = pytest.mark.mariadb

UNIT = REPO / "systemd" / "s3bridge.service"
EXAMPLE = REPO / "systemd" / "s3bridge.toml.example"
HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
API_CAP = 8
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
GET_FILES = b"GET /s3/get_files HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@dataclass
class Exchange:
    got: bytes  # what came back
    first: float | None  # seconds until the first byte of it (None: nothing)
    closed: float | None  # seconds until the daemon closed the connection (None: still open)


def exchange(port: int, data: bytes, wait: float) -> Exchange:
    """Send `data` on a new connection and read until the daemon closes it or `wait` seconds pass."""
    start = time.monotonic()
    seen = Exchange(b"", None, None)
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as s:
        s.sendall(data)
        s.settimeout(0.1)
        while time.monotonic() - start < wait:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                seen.closed = time.monotonic() - start
                return seen
            if seen.first is None:
                seen.first = time.monotonic() - start
            seen.got += chunk
    return seen


def admin_token(cfg: dict[str, Any]) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "bridge", "token", "create", "--admin", "--config", str(write_config(cfg))],
        capture_output=True, text=True, check=True, cwd=REPO,
    )  # fmt: skip
    return out.stdout.strip()


@pytest.fixture(scope="module")
def stack(mariadb: MariaDB, whmcs_db: str) -> Iterator[tuple[Daemon, dict[str, Any], str]]:
    """A daemon with short deadlines and a small `[api]` cap; its config; an admin token."""
    cfg = make_config(mariadb, whmcs_db)
    short = {"header_timeout": HEAD_TIMEOUT, "body_timeout": BODY_TIMEOUT}
    cfg["daemon"] |= short
    cfg["api"] = {"listen": f"127.0.0.1:{free_port()}", "max_connections": API_CAP, **short}
    d = start_daemon(cfg)
    yield d, cfg, admin_token(cfg)
    stop_process(d.proc)


def port_of(cfg: dict[str, Any], section: str) -> int:
    return int(cfg[section]["listen"].rsplit(":", 1)[1])


def test_a_request_head_that_never_finishes_gets_408_and_is_closed(stack: tuple[Daemon, dict[str, Any], str]) -> None:
    _, cfg, _ = stack
    for section in ("api", "daemon"):
        seen = exchange(port_of(cfg, section), b"POST /s3/get_files HTTP/1.1\r\nHost: x\r\nX-Slow: a", 6)
        assert seen.got.startswith(b"HTTP/1.1 408"), (section, seen)
        assert seen.closed is not None, (section, seen)
        assert seen.closed < HEAD_TIMEOUT + 1, (section, seen)


def test_the_head_deadline_starts_again_after_each_answer_on_a_kept_alive_connection(
    stack: tuple[Daemon, dict[str, Any], str],
) -> None:
    _, cfg, _ = stack
    with socket.create_connection(("127.0.0.1", port_of(cfg, "daemon")), timeout=6) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = s.recv(65536)
        assert first.startswith(b"HTTP/1.1 200"), first
        time.sleep(HEAD_TIMEOUT * 0.7)  # well inside the first head's deadline, had it not been re-armed
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # an unfinished second head
        start = time.monotonic()
        second = s.recv(65536)
        assert second.startswith(b"HTTP/1.1 408"), second
        assert time.monotonic() - start < HEAD_TIMEOUT + 2


def test_a_body_that_never_finishes_gets_408_naming_the_deadline(stack: tuple[Daemon, dict[str, Any], str]) -> None:
    _, cfg, _ = stack
    head = b"POST /v1/module/TestConnection HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    seen = exchange(port_of(cfg, "daemon"), head + b'Content-Length: 1000\r\n\r\n{"params":', 8)
    assert seen.got.startswith(b"HTTP/1.1 408"), seen
    assert json.loads(seen.got.split(b"\r\n\r\n", 1)[1])["error"]["code"] == "body_timeout"
    assert seen.closed is not None, seen
    assert seen.closed < BODY_TIMEOUT + 3, seen  # the answer, then at most the daemon's short linger


def test_api_refuses_a_body_without_a_valid_token_before_reading_it(stack: tuple[Daemon, dict[str, Any], str]) -> None:
    _, cfg, _ = stack
    head = b"POST /s3/get_files HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500000\r\n"
    for auth in (b"", b"Authorization: Bearer s3b_a_000000000000_" + b"A" * 43 + b"\r\n"):
        seen = exchange(port_of(cfg, "api"), head + auth + b"\r\n", 5)  # the body is never sent
        assert seen.got.startswith(b"HTTP/1.1 401"), (auth, seen)
        assert seen.first is not None, seen
        assert seen.first < BODY_TIMEOUT / 2, (auth, seen)  # answered at once, not after waiting for the body


def signed_raw(d: Daemon, function: str, body: bytes) -> urllib.request.Request:
    """A signed module call whose body is `body` as given (not built from params)."""
    path = f"/v1/module/{function}"
    headers = signed_headers(d.secret, path, body, timestamp=int(time.time()), nonce=secrets.token_hex(16))
    return urllib.request.Request(d.url + path, data=body, method="POST", headers=headers)


def test_deeply_nested_json_is_a_400_naming_the_limit_and_no_traceback(
    stack: tuple[Daemon, dict[str, Any], str],
) -> None:
    d, cfg, token = stack
    deep = "[" * 100_000 + "]" * 100_000
    answer = send(signed_raw(d, "TestConnection", f'{{"params": {{"x": {deep}}}}}'.encode()), 30)
    assert answer.status == 400, answer
    assert answer.body["error"]["code"] == "bad_json"
    assert "nested deeper than 32" in answer.body["error"]["message"]

    seen = exchange(
        port_of(cfg, "api"),
        b"POST /s3/get_files HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n"
        + f"Authorization: Bearer {token}\r\nContent-Length: {len(deep)}\r\n\r\n".encode()
        + deep.encode(),
        10,
    )
    assert seen.got.startswith(b"HTTP/1.1 400"), seen.got[:300]
    assert b"nested deeper than 32" in seen.got
    assert "Traceback" not in d.log_text()


def test_a_listener_serves_at_most_its_cap_and_the_shim_keeps_answering(
    stack: tuple[Daemon, dict[str, Any], str],
) -> None:
    _, cfg, _ = stack
    api = port_of(cfg, "api")
    held = [socket.create_connection(("127.0.0.1", api), timeout=5) for _ in range(API_CAP)]
    waiting = socket.create_connection(("127.0.0.1", api), timeout=5)  # one past the cap
    try:
        waiting.sendall(GET_FILES)
        waiting.settimeout(HEAD_TIMEOUT / 2)
        with pytest.raises(TimeoutError):  # not served (nor read: it waits in the kernel's backlog)
            waiting.recv(100)
        shim = exchange(port_of(cfg, "daemon"), HEALTH, 5)
        assert shim.got.startswith(b"HTTP/1.1 200"), shim
        assert shim.first is not None, shim
        assert shim.first < 1, shim
    finally:
        for s in held:
            s.close()
    waiting.settimeout(5)
    answer = waiting.recv(100)  # room again: the waiting connection is served
    waiting.close()
    assert answer.startswith(b"HTTP/1.1 401"), answer


def test_api_and_meter_run_in_processes_of_their_own(mariadb: MariaDB, whmcs_db: str) -> None:
    cfg = make_config(mariadb, whmcs_db)
    cfg["api"] = {"listen": f"127.0.0.1:{free_port()}"}
    cfg["meter"] = {"listen": f"127.0.0.1:{free_port()}"}
    for only, answers in (("api", b"HTTP/1.1 401"), ("meter", b"HTTP/1.1 200")):
        d = start_daemon(cfg, only=only)
        try:
            seen = exchange(port_of(cfg, only), GET_FILES if only == "api" else HEALTH, 5)
            assert seen.got.startswith(answers), (only, seen)
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection(("127.0.0.1", port_of(cfg, "daemon")), timeout=2).close()
        finally:
            stop_process(d.proc)
    del cfg["meter"]
    run = subprocess.run(
        [sys.executable, "-m", "bridge", "serve", "--only", "meter", "--config", str(write_config(cfg))],
        capture_output=True, text=True, timeout=30, cwd=REPO,
    )  # fmt: skip
    assert run.returncode == 2, run
    assert "--only meter: the config has no [meter] listen" in run.stderr


def test_the_unit_raises_the_open_file_limit_and_the_example_binds_meter_privately() -> None:
    soft, _ = unit_open_files()
    assert soft >= 65536, "the unit needs LimitNOFILE: systemd's default of 1,024 files is not enough"
    listens = re.findall(r'^#?\s*listen = "([^"]+)"', EXAMPLE.read_text(), re.M)
    assert len(listens) >= 3, listens
    for value in listens:
        host = value.rsplit(":", 1)[0]
        if not value.startswith("unix:"):
            assert ipaddress.ip_address(host).is_private, f"the example binds {value}: not loopback or private"


def unit_open_files() -> tuple[int, int]:
    """The open-file limits the unit gives the daemon (systemd's default 1024:524288 when it sets none)."""
    found = re.search(r"^LimitNOFILE=(\d+)(?::(\d+))?$", UNIT.read_text(), re.M)
    if found is None:
        return 1024, 524288
    soft = int(found.group(1))
    return soft, int(found.group(2) or soft)


class SlowClients:
    """`n` connections on `port` that send a request head one header line at a time and never finish it;
    a connection the daemon closes is opened again (half a second later, as a patient attacker would)."""

    def __init__(self, port: int, n: int) -> None:
        self.port, self.n = port, n
        self.stop = threading.Event()
        self.opened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import asyncio

        async def one() -> None:
            while not self.stop.is_set():
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                    self.opened += 1
                    writer.write(b"POST /s3/get_files HTTP/1.1\r\nHost: x\r\n")
                    while not self.stop.is_set():
                        await asyncio.sleep(1)
                        writer.write(b"X-Slow: a\r\n")
                        await writer.drain()
                except OSError:
                    pass
                await asyncio.sleep(0.5)

        async def main() -> None:
            tasks = [asyncio.create_task(one()) for _ in range(self.n)]
            await asyncio.to_thread(self.stop.wait)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run(main())


def test_2000_slow_connections_on_api_leave_the_shims_signed_calls_under_1_s_p95(
    mariadb: MariaDB, whmcs_db: str, minio: MinIO
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:  # the test's own 2,000 connections
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    cfg = make_config(mariadb, whmcs_db)  # the shipped listener defaults
    cfg["api"] = {"listen": f"127.0.0.1:{free_port()}"}
    ceiling = resource.getrlimit(resource.RLIMIT_NOFILE)[1]  # this machine may not allow the unit's figure
    d = start_daemon(cfg, open_files=(min(unit_open_files()[0], ceiling), min(unit_open_files()[1], ceiling)))
    slow = SlowClients(port_of(cfg, "api"), 2000)
    slow.thread.start()
    try:
        deadline = time.monotonic() + 30
        while slow.opened < 2000 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert slow.opened >= 2000, f"only {slow.opened} slow connections opened"
        took = []
        for _ in range(20):  # TestConnection: the whole chain, shim -> daemon -> MinIO's admin API
            start = time.monotonic()
            r = run_shim("TestConnection", server_params(minio), url=d.url, secret=d.secret, timeout=30)
            took.append(time.monotonic() - start)
            assert r.returned == {"success": True, "error": ""}, r.returned
        took.sort()
        p95 = took[int(len(took) * 0.95) - 1]
        print(f"shim TestConnection with {slow.opened} slow connections opened on [api]: p95 {p95:.3f} s,"
              f" median {took[len(took) // 2]:.3f} s, max {took[-1]:.3f} s")  # fmt: skip
        assert p95 < 1.0, f"shim calls with 2,000 slow connections on [api]: p95 {p95:.2f} s ({took})"
    finally:
        slow.stop.set()
        slow.thread.join(10)
        stop_process(d.proc)
