"""The self-service panel's test stack: the real daemon with its `[api]` bearer listener and `[whmcs_api]` pointing
at the stand-in api.php (PHP's built-in server over the same stand-in database), and helpers for both ways in.

The shim's way is driven at the daemon (signed `POST /v1/module/Panel`, as the shim sends it) in the contract
tests; the PHP shim's own forms are covered by the page tests.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from bridge.web.signing import HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, sign
from rig.panel_sites import Site, client_area, encrypted, whmcs_api
from rig.paths import REPO
from rig.sample_whmcs import insert_server
from rig.services import MariaDB, MinIO, free_port, stop_process
from tests.conftest import CANARY_HMAC, Daemon, make_config, start_daemon, write_config
from tests.support.whmcs_role import Service, next_id

API_IDENTIFIER = "standin-identifier-5f1c"
API_SECRET = "canary-whmcs-api-secret-9d2e7b"  # must never appear in a log
API_ACCESS_KEY = "canary-whmcs-access-key-51c0"  # WHMCS's $api_access_key: past API IP Access Restriction


@dataclass
class Answer:
    status: int
    body: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.body.get("result") == "OK"


def shim_panel(daemon: Daemon, svc: Service, action: str, args: dict[str, Any] | None = None, *, csrf: bool = True,
               client: int | None = None, **extra: Any) -> tuple[Answer, list[dict[str, Any]]]:  # fmt: skip
    """`Panel` as the shim sends it from `svc`'s client area (WHMCS session = `client`, default the owner); `extra`
    are more $params the shim adds (e.g. bridge_return_url)."""
    params = svc.params(
        bridge_client_id=svc.clientid if client is None else client,
        bridge_panel_action=action,
        bridge_panel_args=args or {},
        bridge_csrf="checked" if csrf else "",
        **extra,
    )
    body = json.dumps({"params": params}).encode()
    path = "/v1/module/Panel"
    ts, nonce = str(int(time.time())), secrets.token_hex(16)
    headers = {HEADER_TIMESTAMP: ts, HEADER_NONCE: nonce, "Content-Type": "application/json",
               HEADER_SIGNATURE: sign(daemon.secret, "POST", path, ts, nonce, body)}  # fmt: skip
    req = urllib.request.Request(daemon.url + path, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        data = json.loads(r.read())
    assert data["ok"], data
    result = data["result"]
    return Answer(int(result["status"]), result["envelope"]), data["effects"]


@dataclass
class PanelStack:
    daemon: Daemon
    api_url: str
    php: subprocess.Popen[bytes] | None  # api.php's web server (None: rig/panel_sites.py's CLI front)
    mariadb: MariaDB
    database: str
    minio: MinIO
    serverid: int
    accounts: list[Service] = field(default_factory=list)

    # -- WHMCS rows -------------------------------------------------------------------------------------------

    def sql(self, statement: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return self.mariadb.sql(self.database, statement, args)

    def service(self, options: dict[int, str] | None = None, *, clientid: int | None = None) -> Service:
        """A created account: WHMCS's rows, CreateAccount through the real shim, and tblhosting's username and
        (encrypted) password written as WHMCS's UpdateClientProduct would."""
        svc = Service(self.minio, self.daemon.url, self.daemon.secret, serverid=self.serverid,
                      options={1: "minio", 2: "1", 3: "GB", **(options or {})})  # fmt: skip
        if clientid is not None:
            svc.clientid = clientid
        svc.register(self.mariadb, self.database)
        r = svc.call("CreateAccount")
        assert r.returned == "success", r.returned
        self.sql("UPDATE tblhosting SET username = %s, password = %s WHERE id = %s",
                 (svc.username, encrypted(svc.password), svc.serviceid))  # fmt: skip
        self.accounts.append(svc)
        return svc

    # -- the shim's way ---------------------------------------------------------------------------------------

    def shim(self, svc: Service, action: str, args: dict[str, Any] | None = None, *, csrf: bool = True,
             client: int | None = None, **extra: Any) -> tuple[Answer, list[dict[str, Any]]]:  # fmt: skip
        return shim_panel(self.daemon, svc, action, args, csrf=csrf, client=client, **extra)

    def client_token(self, svc: Service) -> str:
        answer, _ = self.shim(svc, "create_token", {"name": "tests"})
        assert answer.ok, answer.body
        return str(answer.body["token"])

    def admin_token(self) -> str:
        cfg = self.daemon_config_path
        out = subprocess.run(
            [str(REPO / ".venv/bin/python"), "-m", "bridge", "token", "create", "--admin", "--name", "tests",
             "--config", str(cfg)],
            check=True, capture_output=True, text=True, cwd=REPO,
        )  # fmt: skip
        return out.stdout.strip()

    daemon_config_path: Any = None

    # -- the bearer way ---------------------------------------------------------------------------------------

    def api(self, token: str | None, action: str, params: dict[str, Any] | None = None, *, method: str = "POST",
            as_json: bool = True, path: str | None = None,
            headers: dict[str, str] | None = None) -> Answer:  # fmt: skip
        url = self.api_url + (path if path is not None else f"/s3/{action}")
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        data = None
        if method == "GET":
            url += "?" + urllib.parse.urlencode(params or {}, doseq=True)
        elif as_json:
            data = json.dumps(params or {}, default=str).encode()
            hdrs["Content-Type"] = "application/json"
        else:
            data = urllib.parse.urlencode(params or {}, doseq=True).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return Answer(r.status, json.loads(r.read()))
        except urllib.error.HTTPError as e:
            return Answer(e.code, json.loads(e.read()))


def start_panel_stack(mariadb: MariaDB, database: str, minio: MinIO) -> Iterator[PanelStack]:
    php_port, api_port = free_port(), free_port()
    serverid = next_id()
    conn = mariadb.connect(database)
    insert_server(conn, serverid, "panel", "127.0.0.1", minio.port, minio.access_key,
                  password=encrypted(minio.secret_key))  # fmt: skip
    with conn.cursor() as cur:  # orders placed through the stand-in api.php get ids far from the tests' own
        cur.execute("ALTER TABLE tblhosting AUTO_INCREMENT = 1500000000")
    conn.commit()
    conn.close()
    cfg = make_config(mariadb, database)
    cfg["api"] = {"listen": f"127.0.0.1:{api_port}", "search_budget": 1.0}
    cfg["whmcs_api"] = {"url": f"http://127.0.0.1:{php_port}/api.php", "identifier": API_IDENTIFIER,
                        "secret": API_SECRET, "accesskey": API_ACCESS_KEY}  # fmt: skip
    daemon = start_daemon(cfg)
    try:
        with whmcs_api(mariadb, database, daemon.url, CANARY_HMAC, API_IDENTIFIER, API_SECRET, php_port,
                       access_key=API_ACCESS_KEY) as php:  # fmt: skip
            stack = PanelStack(daemon, f"http://127.0.0.1:{api_port}", php.proc, mariadb, database, minio, serverid)
            stack.daemon_config_path = write_config(cfg)
            yield stack
    finally:
        stop_process(daemon.proc)


def start_client_area(stack: PanelStack) -> Iterator[Site]:
    with client_area(stack.mariadb, stack.database, stack.daemon.url, stack.daemon.secret) as site:
        yield site


NOT_FOUND = {"code": -1, "message": "S3 account not found for this customer"}
