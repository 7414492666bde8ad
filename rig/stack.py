"""The whole product on one machine: MariaDB with the WHMCS tables, MinIO, and the daemon, migrated and listening.

Shared by the demo and the benchmarks (the tests use their own session fixtures in tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import json
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rig.paths import REPO
from rig.services import MariaDB, MinIO, free_port, scratch_dir, stop_process, wait_until
from rig.signed_http import signed_request


@dataclass
class Stack:
    root: Path
    db: MariaDB
    minio: MinIO
    url: str
    secret: str
    config: Path
    daemon_log: Path
    daemon_pid: int
    api_url: str = ""  # the panel API's bearer-token listener, when the stack was started with api=True
    meter_listen: str = ""  # the audit listener, when started with meter=True
    metrics_url: str = ""  # Prometheus's /metrics, when started with fleet=True

    def server_params(self, serverid: int = 1) -> dict[str, Any]:
        return {
            "serverid": serverid,
            "serverhostname": "127.0.0.1",
            "serverport": self.minio.port,
            "serversecure": "",
            "serverusername": self.minio.access_key,
            "serverpassword": self.minio.secret_key,
        }

    def signed_post(self, function: str, params: dict[str, Any]) -> dict[str, Any]:
        """A module call over the signed channel, as the shim's curl makes it (without PHP)."""
        req = signed_request(self.url, self.secret, function, params)
        try:
            with urllib.request.urlopen(req, timeout=600) as r:
                answer: dict[str, Any] = json.loads(r.read())
        except urllib.error.HTTPError as e:  # the daemon's JSON error names the problem
            raise RuntimeError(f"{function}: HTTP {e.code}: {e.read().decode(errors='replace')}") from None
        if not answer.get("ok"):
            raise RuntimeError(answer)
        return answer


@contextlib.contextmanager
def running_stack(
    prefix: str,
    *,
    log_level: str = "warning",
    api: bool = False,
    meter: bool = False,
    minio_env: dict[str, str] | None = None,
    fleet: bool = False,
) -> Iterator[Stack]:
    root = scratch_dir(prefix)
    (root / "mariadb").mkdir()
    db = MariaDB(root=root / "mariadb", port=free_port(), socket=str(root / "mysqld.sock"))
    minio = MinIO(root=root / "minio", port=free_port(), console_port=free_port(), extra_env=dict(minio_env or {}))
    daemon: subprocess.Popen[bytes] | None = None
    try:
        db.start()
        db.create_whmcs_database("whmcs")
        minio.start()
        secret = secrets.token_hex(24)
        listen = f"127.0.0.1:{free_port()}"
        config = root / "s3bridge.toml"
        config.write_text(
            f'[daemon]\nlisten = "{listen}"\nsecrets = ["{secret}"]\nlog_level = "{log_level}"\n\n'
            f'[whmcs_db]\nhost = "127.0.0.1"\nport = {db.port}\nuser = "root"\n'
            f'password = "{db.root_password}"\ndatabase = "whmcs"\n'
        )
        api_listen = f"127.0.0.1:{free_port()}" if api else ""
        if api:
            with config.open("a") as f:
                f.write(f'\n[api]\nlisten = "{api_listen}"\n')
        meter_listen = f"127.0.0.1:{free_port()}" if meter else ""
        if meter:
            with config.open("a") as f:
                f.write(f'\n[meter]\nlisten = "{meter_listen}"\nqueue_dir = "{root / "audit-queue"}"\n')
        metrics_listen = f"127.0.0.1:{free_port()}" if fleet else ""
        if fleet:
            with config.open("a") as f:
                f.write(f'\n[fleet]\nmetrics_listen = "{metrics_listen}"\n')
        config.chmod(0o600)
        subprocess.run(
            [sys.executable, "-m", "bridge", "migrate", "--config", str(config)],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        daemon_log = root / "daemon.log"
        with daemon_log.open("ab") as out:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "bridge", "serve", "--config", str(config)],
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        url = f"http://{listen}"

        def ready() -> bool:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as r:
                return bool(r.status == 200)

        wait_until(ready, 30, "s3bridge daemon", daemon, daemon_log)
        yield Stack(
            root,
            db,
            minio,
            url,
            secret,
            config,
            daemon_log,
            daemon.pid,
            f"http://{api_listen}" if api else "",
            meter_listen=meter_listen,
            metrics_url=f"http://{metrics_listen}/metrics" if fleet else "",
        )
    finally:
        if daemon is not None:
            stop_process(daemon)
        minio.stop()
        db.stop()
