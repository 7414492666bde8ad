"""Run the product locally: MariaDB with a sample WHMCS database, MinIO, the daemon, and the real PHP shim.

`scripts/demo.sh` runs this after `scripts/setup.sh`. It prints each step and what WHMCS would have seen, then keeps
everything running until Ctrl-C (or exits at once with --once).
"""

from __future__ import annotations

import argparse
import contextlib
import http.cookiejar
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

from rig.panel_sites import Site, client_area, encrypted
from rig.paths import REPO
from rig.sample_whmcs import load_sample
from rig.services import stop_process
from rig.shim import run_shim
from rig.stack import running_stack

BOLD, DIM, OFF = "\033[1m", "\033[2m", "\033[0m"


def step(text: str) -> None:
    print(f"\n{BOLD}== {text}{OFF}", flush=True)


def show(label: str, value: Any) -> None:
    print(f"   {label}: {json.dumps(value) if not isinstance(value, str) else value}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="stop everything after the walk-through")
    args = parser.parse_args(argv)

    step("Starting MariaDB (WHMCS tables), MinIO (built from source), s3bridge migrate + serve")
    with running_stack("demo", log_level="info", meter=True) as stack:
        db, minio, url, secret = stack.db, stack.minio, stack.url, stack.secret
        show("MariaDB", f"127.0.0.1:{db.port} (data in {db.root})")
        show("MinIO", f"http://{minio.endpoint}")
        show("s3bridge daemon", f"{url}  (ready: database reachable; log {stack.daemon_log})")
        load_sample(db, "whmcs", "127.0.0.1", minio.port, minio.access_key)
        show("sample WHMCS data", "client #7 Ada Lovelace, server #1 'Local MinIO', product #1, service #55")
        server = stack.server_params()
        step("WHMCS -> s3bridge_TestConnection (real PHP shim in the WHMCS stand-in)")
        r = run_shim("TestConnection", server, url=url, secret=secret)
        show("returned to WHMCS", r.returned)
        step("WHMCS -> s3bridge_TestConnection with a wrong secret key")
        r = run_shim("TestConnection", {**server, "serverpassword": "wrong"}, url=url, secret=secret)
        show("returned to WHMCS", r.returned)
        show("module log (as WHMCS stores it)", r.module_log[0]["masked"]["response"].strip()[:300])

        service = {
            **server,
            "serviceid": 55,
            "userid": 7,
            "pid": 1,
            "username": "",
            "password": "",
            "configoption2": "10",
            "configoption3": "GB",
            "configoption12": "on",
            "clientsdetails": {"id": 7, "firstname": "Ada", "lastname": "Lovelace", "language": "english"},
        }
        step("WHMCS -> s3bridge_CreateAccount for service #55 (client #7)")
        r = run_shim("CreateAccount", service, url=url, secret=secret)
        show("returned to WHMCS", r.returned)
        stored = next(c["values"] for c in r.local_api if c["command"] == "UpdateClientProduct")
        show("localAPI UpdateClientProduct", {k: ("********" if "password" in k else v) for k, v in stored.items()})
        service.update(username=stored["serviceusername"], password=stored["servicepassword"])
        bucket = f"{stored['serviceusername']}--data"
        s3 = _s3(minio.endpoint, stored["serviceusername"], stored["servicepassword"])
        s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"hello from the customer")
        show("customer uploads with boto3", f"s3://{bucket}/hello.txt")
        show("customer lists buckets", [b["Name"] for b in s3.list_buckets()["Buckets"]])
        step("WHMCS -> s3bridge_EnableMetering (MinIO's audit webhook -> the daemon's audit listener)")
        r = run_shim("EnableMetering", service, url=url, secret=secret)
        show("returned to WHMCS", r.returned)
        s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read()
        s3.put_object(Bucket=bucket, Key="metered.bin", Body=b"m" * 1_000_000)
        show("customer uploads 1,000,000 bytes and downloads hello.txt", "waiting for MinIO's audit batch")
        show("traffic of service #55 today", _traffic_once_counted(db, 55))
        for fn in ("SuspendAccount", "UnsuspendAccount", "SetLimitedPolicy", "UpdatePolicy"):
            step(f"WHMCS -> s3bridge_{fn}")
            r = run_shim(fn, service, url=url, secret=secret)
            show("returned to WHMCS", r.returned)
            show("daemon says", _message(r))

        ostor_walkthrough(url, secret)

        step("The customer's client area (stand-in WHMCS client area, real shim, all storage tabs)")
        with panel_site(stack, stored) as site:
            show("client area", f"{site.login(7)}  (logs client #7 in and opens service #55)")
            for tab in ("overview", "buckets", "files", "keys", "usage"):
                show(f"tab {tab}", f"{site.service_page(55, s3tab=tab)}  -> {_tab_check(site, tab)}")
            fleet_walkthrough(stack)
            if not args.once:
                wait_for_ctrl_c(stack)
                return 0

        if args.once:
            step("WHMCS -> s3bridge_TerminateAccount")
            r = run_shim("TerminateAccount", service, url=url, secret=secret)
            show("returned to WHMCS", r.returned)
            show("daemon says", _message(r))
            return 0
        return 0


def _message(r: Any) -> str:
    """The daemon's sentence for the call (from the module log WHMCS keeps), not PHP's print_r of the answer."""
    try:
        answer = r.module_log[0]["response"]  # the daemon's answer as the shim logged it (only its sentence is shown)
    except (KeyError, IndexError, TypeError):
        return str(r.returned)
    result = answer.get("result") if isinstance(answer, dict) else None
    return str(result.get("message", r.returned)) if isinstance(result, dict) else str(r.returned)


def fleet_walkthrough(stack: Any) -> None:
    """One drift of each urgent kind, found and repaired: service #55 suspended in WHMCS while its account still
    works, and a user left on MinIO by nobody's service. Then the console's pages, served on a local port."""
    from minio import MinioAdmin
    from minio.credentials.providers import StaticProvider

    step("The operator's view: WHMCS and the storage disagree")
    conn = stack.db.connect("whmcs")
    with conn.cursor() as cur:
        cur.execute("UPDATE tblhosting SET domainstatus = 'Suspended' WHERE id = 55")
    conn.close()
    keys = StaticProvider(stack.minio.access_key, stack.minio.secret_key)
    admin = MinioAdmin(endpoint=stack.minio.endpoint, credentials=keys, secure=False)
    admin.user_add("7-99", "left-behind-secret-123")
    admin.policy_add("s3bridge-7-99", policy={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::7-99--*"]}]})  # fmt: skip
    admin.policy_set("s3bridge-7-99", user="7-99")
    show("made by hand", "service #55 set to Suspended in WHMCS only; user 7-99 added on MinIO, held by no service")
    for args in ([], ["--fix", "safe"]):
        step("s3bridge reconcile --server 1 " + " ".join(args))
        command = [sys.executable, "-m", "bridge", "reconcile", "--config", str(stack.config), "--server", "1", *args]
        r = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
        for line in r.stdout.strip().splitlines():
            print(f"   {line}", flush=True)
        show("exit code", f"{r.returncode} (0 clean, 1 drift, 2 a suspended service can still write)")
    show("user 7-55 on MinIO now", json.loads(admin.user_info("7-55"))["status"])
    site = _console_site(stack)
    step("The fleet console (WHMCS addon s3bridge_fleet through the real shim; pages rendered by the daemon)")
    for name in ("servers", "accounts", "drift"):
        show(f"page {name}", f"{site}/{name}.html")


def _console_site(stack: Any) -> str:
    """The addon's three pages as WHMCS's admin area shows them, written to files and served on loopback."""
    import functools
    import http.server

    from rig.shim import run_addon

    folder = stack.root / "console"
    folder.mkdir(exist_ok=True)
    for name in ("servers", "accounts", "drift"):
        r = run_addon("s3bridge_fleet", url=stack.url, secret=stack.secret,
                      request={"get": {"module": "s3bridge_fleet", "page": name}})  # fmt: skip
        links = (r.page or "").replace("addonmodules.php?module=s3bridge_fleet&amp;page=", "")
        links = re.sub(r'href="(servers|accounts|drift)"', r'href="\1.html"', links)
        (folder / f"{name}.html").write_text(
            '<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,'
            f' initial-scale=1"><title>S3 fleet</title></head><body>{links}</body></html>'
        )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}"


def wait_for_ctrl_c(stack: Any) -> None:
    step("Everything is running. Ctrl-C stops it.")
    show("daemon", f"{stack.url}  (the module's config.php: 'url' => '{stack.url}', 'secret' as in {stack.config})")
    show("MinIO", f"http://{stack.minio.endpoint}  access key {stack.minio.access_key}")
    show("MariaDB", f"mariadb -h127.0.0.1 -P{stack.db.port} -uroot -p  (password in {stack.config})")
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    print(f"\n{DIM}stopping...{OFF}", flush=True)


@contextlib.contextmanager
def panel_site(stack: Any, stored: dict[str, Any]) -> Iterator[Site]:
    """WHMCS keeps the server password (encrypted) and the service's credentials; the stand-in reads them back."""
    conn = stack.db.connect("whmcs")
    with conn.cursor() as cur:
        cur.execute("UPDATE tblservers SET password = %s WHERE id = 1", (encrypted(stack.minio.secret_key),))
        cur.execute("UPDATE tblhosting SET username = %s, password = %s WHERE id = 55",
                    (stored["serviceusername"], encrypted(stored["servicepassword"])))  # fmt: skip
    conn.commit()
    conn.close()
    with client_area(stack.db, "whmcs", stack.url, stack.secret) as site:
        yield site


def _tab_check(site: Site, tab: str) -> str:
    """Open the tab as the logged-in customer would (a session cookie) and say whether it rendered."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    opener.open(site.login(7), timeout=60).read()
    html = opener.open(site.service_page(55, s3tab=tab), timeout=60).read().decode()
    return "ok" if f'data-s3b-tab="{tab}"' in html else "NOT RENDERED"


def ostor_walkthrough(url: str, secret: str) -> None:
    """The same product on a Virtuozzo ostor gateway: here the emulator (a stand-in; no cluster runs here)."""
    step("Virtuozzo ostor: starting the gateway emulator (a stand-in for a real cluster)")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rig.ostor_emulator", "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        gateway = json.loads(proc.stdout.readline())
        host, port = gateway["url"].removeprefix("http://").rsplit(":", 1)
        service = {
            "serviceid": 56,
            "userid": 7,
            "pid": 2,
            "serverid": 2,
            "username": "",
            "password": "",
            "serverhostname": host,
            "serverport": int(port),
            "serversecure": "",
            "serverusername": gateway["access_key"],
            "serverpassword": gateway["secret_key"],
            "serveraccesshash": "backend=ostor",
            "configoption1": "ostor",
            "configoption2": "5",
            "configoption3": "GB",
            "configoption12": "on",
            "configoption19": "100,50,20,10,10",
            "clientsdetails": {"id": 7, "firstname": "Ada", "lastname": "Lovelace", "language": "english"},
        }
        show("gateway", f"{gateway['url']} (server Access Hash: backend=ostor)")
        for fn in ("CreateAccount", "ShowLimits", "ResetPassword", "TerminateAccount"):
            step(f"WHMCS -> s3bridge_{fn} (ostor)")
            r = run_shim(fn, service, url=url, secret=secret)
            show("returned to WHMCS", r.returned)
            for c in r.local_api:
                if c["command"] == "UpdateClientProduct":
                    show(
                        "localAPI UpdateClientProduct",
                        {k: ("********" if "password" in k else v) for k, v in c["values"].items()},
                    )
                    service.update(username=c["values"]["serviceusername"], password=c["values"]["servicepassword"])
            show("daemon says", _message(r))
    finally:
        stop_process(proc)


def _traffic_once_counted(db: Any, serviceid: int, timeout: float = 15) -> dict[str, int]:
    """mod_s3bridge_traffic_daily once the upload shows (MinIO posts each second; its queue is polled every 3 s)."""
    deadline = time.monotonic() + timeout
    row: dict[str, int] = {}
    while time.monotonic() < deadline:
        conn = db.connect("whmcs")
        with conn.cursor() as cur:
            cur.execute(
                "SELECT bytes_in, bytes_out, req_read, req_write, req_list FROM mod_s3bridge_traffic_daily"
                " WHERE serviceid = %s ORDER BY day DESC LIMIT 1",
                (serviceid,),
            )
            row = cur.fetchone() or {}
        conn.close()
        if row.get("bytes_in", 0) >= 1_000_000:
            break
        time.sleep(0.5)
    return {k: int(v) for k, v in row.items()}


def _s3(endpoint: str, access_key: str, secret_key: str) -> Any:
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3",
        endpoint_url=f"http://{endpoint}",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name="us-east-1",
        config=BotoConfig(s3={"addressing_style": "path"}),
    )


if __name__ == "__main__":
    raise SystemExit(main())
