"""Session fixtures: real MariaDB and MinIO started by the rig, the real daemon, the real PHP shim."""

from __future__ import annotations

import json
import os
import resource
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bridge.config import Config, parse_config
from rig.paths import REPO
from rig.services import MariaDB, MinIO, free_port, scratch_dir, stop_process, wait_until
from rig.shim import ShimResult, run_shim
from tests.support.browser import PageServer

CANARY_DB_PASSWORD = "canary-dbpass-7f3e9a1c55d2"
CANARY_HMAC = "canary-hmac-secret-0b8d44e2c7a9f6e1"


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    root = scratch_dir("mariadb")
    db = MariaDB(root=root, port=free_port(), socket=str(root / "mysqld.sock"))
    db.start()
    yield db
    db.stop()


@pytest.fixture(scope="session")
def minio() -> Iterator[MinIO]:
    server = MinIO(root=scratch_dir("minio"), port=free_port(), console_port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def whmcs_db(mariadb: MariaDB) -> str:
    """The WHMCS database (real WHMCS column definitions), migrated, with a least-privilege daemon user."""
    name = "whmcs_test"
    mariadb.create_whmcs_database(name)
    admin_cfg = make_config(mariadb, name, user="root", password=mariadb.root_password)
    subprocess.run(
        [sys.executable, "-m", "bridge", "migrate", "--config", str(write_config(admin_cfg))],
        check=True,
        capture_output=True,
    )
    mariadb.create_daemon_user(name, "s3bridge", CANARY_DB_PASSWORD)
    return name


def make_config(
    mariadb: MariaDB,
    database: str,
    *,
    user: str = "s3bridge",
    password: str = CANARY_DB_PASSWORD,
    listen: str | None = None,
    secrets_: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "daemon": {
            "listen": listen or f"127.0.0.1:{free_port()}",
            "secrets": secrets_ or [CANARY_HMAC],
            "shutdown_timeout": 10,
            "log_level": "debug",
        },
        "whmcs_db": {
            "host": "127.0.0.1",
            "port": mariadb.port,
            "user": user,
            "password": password,
            "database": database,
        },
        "backend": {"connect_timeout": 2, "read_timeout": 10},
    }


def toml_dumps(data: dict[str, Any]) -> str:
    out = []
    for section, values in data.items():
        out.append(f"[{section}]")
        for k, v in values.items():
            out.append(f"{k} = {json.dumps(v)}")
        out.append("")
    return "\n".join(out)


def write_config(data: dict[str, Any], path: Path | None = None) -> Path:
    path = path or scratch_dir("config") / "s3bridge.toml"
    path.write_text(toml_dumps(data))
    return path


@pytest.fixture(scope="session")
def daemon_config(mariadb: MariaDB, whmcs_db: str) -> dict[str, Any]:
    return make_config(mariadb, whmcs_db)


@pytest.fixture
def config(daemon_config: dict[str, Any]) -> Config:
    return parse_config(daemon_config)


@dataclass
class Daemon:
    url: str
    secret: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_daemon(cfg: dict[str, Any], *, only: str = "", open_files: tuple[int, int] | None = None) -> Daemon:
    """`s3bridge serve` in a process of its own (`only`: `--only <listener>`; `open_files`: its RLIMIT_NOFILE
    soft and hard limits, as systemd's LimitNOFILE sets them)."""
    path = write_config(cfg)
    log_path = path.parent / "daemon.log"
    out = log_path.open("ab")

    def limit_files() -> None:
        if open_files is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, open_files)

    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "serve", "--config", str(path), *(["--only", only] if only else [])],
        stdout=out, stderr=subprocess.STDOUT, cwd=REPO, preexec_fn=limit_files,
    )  # fmt: skip
    listen = cfg[only]["listen"] if only in ("api", "meter") else cfg["daemon"]["listen"]
    url = f"http://{listen}"

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as r:
                return bool(r.status == 200)
        except urllib.error.HTTPError as e:
            return e.code == 404 and only == "api"  # the [api] listener has no health route: it answers

    if not listen.startswith("unix:"):
        wait_until(healthy, 30, "s3bridge daemon", proc, log_path)
    else:
        wait_until(lambda: os.path.exists(listen[5:]), 30, "s3bridge daemon", proc, log_path)
        url = listen
    return Daemon(url=url, secret=cfg["daemon"]["secrets"][0], proc=proc, log_path=log_path)


@pytest.fixture(scope="session")
def daemon(daemon_config: dict[str, Any]) -> Iterator[Daemon]:
    d = start_daemon(daemon_config)
    yield d
    stop_process(d.proc)


@pytest.fixture
def shim(daemon: Daemon) -> Any:
    def call(function: str, params: dict[str, Any], **kw: Any) -> ShimResult:
        kw.setdefault("url", daemon.url)
        kw.setdefault("secret", daemon.secret)
        return run_shim(function, params, **kw)

    return call


def server_params(minio: MinIO, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "serverid": 1,
        "serverhostname": "127.0.0.1",
        "serverip": "127.0.0.1",
        "serverport": minio.port,
        "serversecure": "",
        "serverusername": minio.access_key,
        "serverpassword": minio.secret_key,
        "serveraccesshash": "",
        "serverhttpprefix": "http",
    }
    params.update(overrides)
    return params


def unique(prefix: str = "t") -> str:
    return f"{prefix}{int(time.time() * 1000) % 10**8}{secrets.token_hex(2)}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright (the page tests)."""
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server() -> Iterator[PageServer]:
    """Serves the pages the page tests build (and Bootstrap's CSS) on loopback."""
    s = PageServer()
    yield s
    s.close()
