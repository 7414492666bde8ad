"""Start and stop the real services the tests and the demo need: MariaDB and MinIO, on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql

from bridge.whmcs.grants import grant_statements
from rig import minio_release
from rig.paths import CACHE, SCHEMA_SQL


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(
    check: object, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting:\n{tail}")
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:  # noqa: S110 - not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not become ready within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def stop_process_group(proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
    """Stop a process started with start_new_session=True and everything it forked (PHP's built-in server's workers
    outlive their parent otherwise)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    stop_process(proc, timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@dataclass
class MariaDB:
    root: Path
    port: int
    socket: str
    proc: subprocess.Popen[bytes] | None = None
    root_password: str = field(default_factory=lambda: "root-" + secrets.token_hex(8))
    options: tuple[str, ...] = ()  # more mariadbd options, e.g. a binary log as some WHMCS hosts keep one

    def connect(
        self,
        database: str | None = None,
        user: str = "root",
        password: str | None = None,
    ) -> pymysql.connections.Connection[pymysql.cursors.DictCursor]:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.port,
            user=user,
            password=self.root_password if password is None else password,
            database=database,
            autocommit=True,
            cursorclass=pymysql.cursors.DictCursor,
            charset="utf8mb4",
        )

    def sql(self, database: str, statement: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Run one statement in `database` on a connection of its own; the rows it selects (committed)."""
        conn = self.connect(database)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, args)
                rows = list(cur.fetchall())
            conn.commit()
            return rows
        finally:
            conn.close()

    def one(self, database: str, statement: str, args: tuple[Any, ...] = ()) -> dict[str, Any]:
        """The row `statement` selects in `database` (the first, if more): for tests reading what the daemon wrote."""
        rows = self.sql(database, statement, args)
        assert rows, f"no row for {statement} {args}"
        return rows[0]

    def start(self) -> None:
        data = self.root / "data"
        log = self.root / "mariadb.log"
        initialized = data.exists() and any(data.iterdir())
        if not data.exists():
            data.mkdir(parents=True)
            subprocess.run(
                [
                    "mariadb-install-db",
                    "--no-defaults",
                    f"--datadir={data}",
                    "--user=root",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                check=True,
                capture_output=True,
            )
        self.proc = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={data}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--user=root",
                f"--log-error={log}",
                f"--pid-file={self.root}/mariadb.pid",
                f"--tmpdir={self.root}",  # not /tmp: other jobs' /tmp cleaners must not pull files from under it
                "--innodb-buffer-pool-size=128M",
                "--skip-log-bin",
                "--max-connections=500",
                "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci",
                *self.options,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def up() -> bool:
            if initialized:  # a restart: root already has its password
                self.connect().close()
                return True
            conn = pymysql.connect(unix_socket=self.socket, user="root", password="")
            with conn.cursor() as cur:
                cur.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (self.root_password,))
                cur.execute("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY %s", (self.root_password,))
                cur.execute("GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION")
            conn.close()
            return True

        wait_until(up, 60, "MariaDB", self.proc, log)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, 60)

    def restart(self) -> None:
        """Stop and start again on the same data, port and password (clients' connections drop)."""
        self.stop()
        self.start()

    def create_whmcs_database(self, name: str) -> None:
        """A fresh database with WHMCS's real tables (rig/whmcs_schema.sql, whmcs_schema_invoices.sql: generated
        from a real dump) and the stand-in's order tables (whmcs_schema_orders.sql)."""
        extra = ("whmcs_schema_invoices.sql", "whmcs_schema_orders.sql")
        sql = ";\n".join([SCHEMA_SQL.read_text(), *((SCHEMA_SQL.parent / name).read_text() for name in extra)])
        conn = self.connect()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci")
            cur.execute(f"USE `{name}`")
            for statement in _split_sql(sql):
                cur.execute(statement)
        conn.close()

    def create_daemon_user(self, database: str, user: str, password: str) -> None:
        """The daemon's least-privilege user, with exactly the grants `s3bridge grants` prints."""
        conn = self.connect(database)
        with conn.cursor() as cur:
            for host in ("127.0.0.1", "localhost"):
                cur.execute("CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (user, host, password))
                for statement in grant_statements(database, user, host):
                    cur.execute(statement)
        conn.close()


def _split_sql(sql: str) -> list[str]:
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip()]


def minio_binary() -> Path:
    name, _ = minio_release.selected()
    path = CACHE / "minio" / name / "minio"
    if not path.exists():
        raise RuntimeError(f"MinIO {name} is not built yet: run scripts/setup.sh (expected {path})")
    return path


@dataclass
class MinIO:
    root: Path
    port: int
    console_port: int
    access_key: str = "rigadmin"
    secret_key: str = field(default_factory=lambda: "rig-" + secrets.token_hex(12))
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    certs_dir: Path | None = None

    @property
    def secure(self) -> bool:
        return self.certs_dir is not None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        log = self.root / "minio.log"
        env = {
            **os.environ,
            "MINIO_ROOT_USER": self.access_key,
            "MINIO_ROOT_PASSWORD": self.secret_key,
            "MINIO_SCANNER_SPEED": "fastest",
            "MINIO_BROWSER": "off",
            "MINIO_UPDATE": "off",
            "MINIO_PROMETHEUS_AUTH_TYPE": "public",
            **self.extra_env,
        }
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(minio_binary()),
                    "server",
                    str(data),
                    "--address",
                    self.endpoint,
                    "--console-address",
                    f"127.0.0.1:{self.console_port}",
                    "--quiet",
                    *(["--certs-dir", str(self.certs_dir)] if self.certs_dir else []),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def live() -> bool:
            scheme = "https" if self.secure else "http"
            context = ssl._create_unverified_context() if self.secure else None  # noqa: S323 - readiness probe only
            with urllib.request.urlopen(
                f"{scheme}://{self.endpoint}/minio/health/ready",
                timeout=1,
                context=context,
            ) as r:
                return bool(r.status == 200)

        wait_until(live, 60, "MinIO", self.proc, log)
        # "ready" can come before the admin API is initialized (503 XMinioServerNotInitialized): wait for it too.
        from minio import MinioAdmin
        from minio.credentials.providers import StaticProvider

        admin = MinioAdmin(
            endpoint=self.endpoint,
            credentials=StaticProvider(self.access_key, self.secret_key),
            secure=self.secure,
            cert_check=not self.secure,
        )
        with warnings.catch_warnings():  # the TLS test server's self-signed certificate, on purpose
            warnings.simplefilter("ignore")
            wait_until(lambda: bool(admin.info()), 60, "MinIO admin API", self.proc, log)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@contextlib.contextmanager
def running(service: MariaDB | MinIO) -> Iterator[MariaDB | MinIO]:
    service.start()
    try:
        yield service
    finally:
        service.stop()


def scratch_dir(prefix: str) -> Path:
    base = Path(os.environ.get("S3BRIDGE_RIG_TMP") or tempfile.gettempdir())
    path = base / f"s3bridge-{prefix}-{os.getpid()}-{secrets.token_hex(3)}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
