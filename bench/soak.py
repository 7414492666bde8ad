"""Soak: mixed module calls at a steady rate against three daemons on one MariaDB and one MinIO, one daemon SIGKILLed
and restarted every few minutes. Checks that no effect is lost or repeated and that daemon memory stays flat.

    .venv/bin/python -m bench.soak [--minutes 30] [--rate 4] [--kill-every 180]

Each service walks CreateAccount -> (SuspendAccount -> UnsuspendAccount) x2 -> TerminateAccount; every call goes to
a random daemon and, when that daemon is down (connection refused or dropped, or 503 + Retry-After), is repeated on
another, as the shim fails over for calls that are safe to repeat. The password WHMCS would hold is the one in the last
answer applied. Every 60 s a UsageUpdate runs; a third of the services store 960 KB against a 1 MB limit and must get
exactly one warning email over the whole run. At the end:
- every live service's password (the last one handed to WHMCS) opens its bucket; suspended ones are refused;
- MinIO's users are exactly the live services' (no orphan, none missing); terminated ones have no user, no bucket;
- warning emails per service: 1 expected (0 = lost, 2+ = repeated);
- RSS of each daemon sampled every 10 s (the curve is printed per minute and written to bench/results/soak.json).
Not part of the test command.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from bench.common import write_results
from rig.paths import REPO
from rig.sample_whmcs import insert_client, insert_product, insert_service
from rig.services import MariaDB, MinIO, free_port, scratch_dir, stop_process, wait_until
from rig.signed_http import Answer, send, signed_request

STEPS = (
    "CreateAccount",
    "SuspendAccount",
    "UnsuspendAccount",
    "SuspendAccount",
    "UnsuspendAccount",
    "TerminateAccount",
)


@dataclass
class Daemon:
    config: Path
    url: str
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bridge", "serve", "--config", str(self.config)],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )

        def ready() -> bool:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as r:
                return bool(r.status == 200)

        wait_until(ready, 60, "s3bridge daemon", self.proc, self.log)

    def rss_kib(self) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return 0
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0


@dataclass
class Svc:
    serviceid: int
    clientid: int
    heavy: bool
    step: int = 0
    password: str = ""
    emails: int = 0
    busy: bool = False


@dataclass
class Tally:
    calls: Counter[str] = field(default_factory=Counter)
    failovers: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=4, help="module calls per second")
    parser.add_argument("--kill-every", type=float, default=180, help="seconds between SIGKILLs of one daemon")
    args = parser.parse_args()
    root = scratch_dir("soak")
    (root / "mariadb").mkdir()
    db = MariaDB(root=root / "mariadb", port=free_port(), socket=str(root / "mysqld.sock"))
    minio = MinIO(root=root / "minio", port=free_port(), console_port=free_port())
    daemons: list[Daemon] = []
    try:
        db.start()
        db.create_whmcs_database("whmcs")
        minio.start()
        secret = os.urandom(24).hex()
        for i in range(3):
            listen = f"127.0.0.1:{free_port()}"
            config = root / f"s3bridge-{i}.toml"
            config.write_text(
                f'[daemon]\nlisten = "{listen}"\nsecrets = ["{secret}"]\nlog_level = "warning"\n\n'
                f'[whmcs_db]\nhost = "127.0.0.1"\nport = {db.port}\nuser = "root"\n'
                f'password = "{db.root_password}"\ndatabase = "whmcs"\n'
            )
            daemons.append(Daemon(config, f"http://{listen}", root / f"daemon-{i}.log"))
        subprocess.run(
            [sys.executable, "-m", "bridge", "migrate", "--config", str(daemons[0].config)],
            check=True,
            capture_output=True,
            cwd=REPO,
        )
        conn = db.connect("whmcs")
        insert_product(conn, 1, "soak 1 MB", {2: "1", 3: "MB", 12: "on"})
        conn.close()
        for d in daemons:
            d.start()
        return soak(args, db, minio, daemons, secret)
    finally:
        for d in daemons:
            if d.proc is not None:
                stop_process(d.proc)
        minio.stop()
        db.stop()


def soak(args: argparse.Namespace, db: MariaDB, minio: MinIO, daemons: list[Daemon], secret: str) -> int:
    server = {
        "serverid": 1, "serverhostname": "127.0.0.1", "serverip": "127.0.0.1", "serverport": minio.port,
        "serversecure": "", "serverusername": minio.access_key, "serverpassword": minio.secret_key,
        "serveraccesshash": "",
    }  # fmt: skip
    tally = Tally()
    services: dict[int, Svc] = {}
    next_id = [1000]
    svc_lock = threading.Lock()

    def params(s: Svc) -> dict[str, Any]:
        p: dict[str, Any] = {**server, "serviceid": s.serviceid, "userid": s.clientid, "pid": 1, "password": s.password}
        p.update({f"configoption{n}": "" for n in range(1, 25)})
        p.update({"configoption2": "1", "configoption3": "MB", "configoption12": "on"})
        return p

    def send_with_failover(function: str, p: dict[str, Any]) -> Answer:
        """Repeat on another daemon while the chosen one is down or busy (every call here is safe to repeat)."""
        order = random.sample(daemons, len(daemons))
        for attempt in range(30):
            d = order[attempt % len(order)]
            try:
                answer = send(signed_request(d.url, secret, function, p), timeout=120)
            except (urllib.error.URLError, ConnectionError, OSError):
                answer = None
            if answer is not None and answer.status != 503:
                with tally.lock:
                    tally.calls[function] += 1
                    tally.failovers += attempt
                return answer
            time.sleep(min(float((answer.headers.get("Retry-After") if answer else None) or 0.5), 5))
        raise RuntimeError(f"{function}: no daemon answered in 30 attempts")

    def new_service() -> Svc:
        with svc_lock:
            next_id[0] += 1
            s = Svc(next_id[0], next_id[0], heavy=next_id[0] % 3 == 0, busy=True)
            services[s.serviceid] = s
        conn = db.connect("whmcs")
        insert_client(conn, s.clientid, "Soak", f"Client {s.clientid}", f"soak{s.clientid}@example.com", "english")
        insert_service(conn, s.serviceid, s.clientid, 1, 1)
        conn.close()
        return s

    def step(s: Svc) -> None:
        function = STEPS[s.step]
        answer = send_with_failover(function, params(s))
        if answer.status != 200:
            tally.errors.append(f"{function} {s.serviceid}: {answer.status} {answer.body.get('error')}")
        elif answer.password is not None:
            s.password = answer.password  # WHMCS applies the effect
        if function == "CreateAccount" and answer.status == 200 and s.heavy:
            s3(s).put_object(Bucket=f"{s.clientid}-{s.serviceid}--data", Key="big", Body=io.BytesIO(b"x" * 960 * 1024))
        s.step += 1
        s.busy = False

    def s3(s: Svc) -> Any:
        return boto3.client(
            "s3", endpoint_url=f"http://{minio.endpoint}", aws_access_key_id=f"{s.clientid}-{s.serviceid}",
            aws_secret_access_key=s.password, region_name="us-east-1",
            config=BotoConfig(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )  # fmt: skip

    def usage_update() -> None:
        answer = send_with_failover("UsageUpdate", server)
        for e in answer.body.get("effects", []):
            if e.get("command") == "SendEmail":
                services[int(e["params"]["id"])].emails += 1

    rss: list[dict[str, Any]] = []
    start = time.monotonic()
    end = start + args.minutes * 60
    next_kill = start + args.kill_every
    next_usage = start + 60
    next_sample = start
    kills = 0
    with ThreadPoolExecutor(16) as pool:
        tick = 1 / args.rate
        t = start
        while (now := time.monotonic()) < end:
            if now >= next_sample:
                rss.append({"t_s": round(now - start), "rss_kib": [d.rss_kib() for d in daemons]})
                next_sample += 10
            if now >= next_kill:
                victim = random.choice(daemons)
                assert victim.proc is not None
                victim.proc.send_signal(signal.SIGKILL)
                victim.proc.wait()
                kills += 1
                threading.Thread(target=victim.start, daemon=True).start()
                next_kill += args.kill_every
            if now >= next_usage:
                pool.submit(usage_update)
                next_usage += 60
            with svc_lock:
                ready = [s for s in services.values() if not s.busy and s.step < len(STEPS)]
                choice = random.choice(ready) if ready and random.random() < 0.8 else None
                if choice is not None:
                    choice.busy = True
            pool.submit(step, choice or new_service())
            t += tick
            time.sleep(max(0.0, t - time.monotonic()))
        pool.submit(usage_update)
    elapsed = time.monotonic() - start
    for d in daemons:  # the last one killed may still be starting
        wait_until(lambda d=d: d.rss_kib() > 0, 60, "daemon restart", d.proc, d.log)
    usage_update()
    return verify(args, minio, services, tally, rss, kills, elapsed)


def verify(
    args: argparse.Namespace,
    minio: MinIO,
    services: dict[int, Svc],
    tally: Tally,
    rss: list[dict[str, Any]],
    kills: int,
    elapsed: float,
) -> int:
    admin = MinioAdmin(
        endpoint=minio.endpoint, secure=False, credentials=StaticProvider(minio.access_key, minio.secret_key)
    )
    users = set(json.loads(admin.user_list()))
    root = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    buckets = {b.name.partition("--")[0] for b in root.list_buckets()}
    problems: list[str] = list(tally.errors)
    live = {f"{s.clientid}-{s.serviceid}": s for s in services.values() if 1 <= s.step < len(STEPS)}
    gone = {f"{s.clientid}-{s.serviceid}" for s in services.values() if s.step == len(STEPS)}
    if users != set(live):
        problems.append(
            f"MinIO users differ from live services: orphans {users - set(live)}, missing {set(live) - users}"
        )
    if gone & buckets:
        problems.append(f"terminated services still have buckets: {sorted(gone & buckets)}")
    for name, s in live.items():
        suspended = STEPS[s.step - 1] == "SuspendAccount"
        client = boto3.client(
            "s3", endpoint_url=f"http://{minio.endpoint}", aws_access_key_id=name, aws_secret_access_key=s.password,
            region_name="us-east-1", config=BotoConfig(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )  # fmt: skip
        try:
            client.head_bucket(Bucket=f"{name}--data")
            works = True
        except Exception:
            works = False
        if works == suspended:
            problems.append(f"{name}: password {'works while suspended' if works else 'does not work'}")
    heavy = [s for s in services.values() if s.heavy and s.step >= 1]
    emails = Counter(s.emails for s in heavy)
    lost = [s.serviceid for s in heavy if s.emails == 0 and s.step < len(STEPS)]
    repeated = [s.serviceid for s in services.values() if s.emails > 1]
    if repeated:
        problems.append(f"warning email repeated for services {repeated}")
    print(f"\nsoak: {elapsed / 60:.1f} min at {args.rate:g} calls/s, {kills} daemon SIGKILLs, {len(services)} services")
    print("calls:", dict(tally.calls), f"failovers: {tally.failovers}")
    print(f"warning emails per over-threshold service: {dict(emails)} (lost for live services: {lost})")
    print("\nRSS per daemon (MiB), one sample per minute (0 = being restarted)")
    for sample in rss[::6]:
        print(f"{sample['t_s']:>6} s  " + "  ".join(f"{k / 1024:7.1f}" for k in sample["rss_kib"]))
    print("\nproblems:", problems or "none")
    write_results(
        "soak",
        {
            "minutes": round(elapsed / 60, 1),
            "rate_per_s": args.rate,
            "kills": kills,
            "services": len(services),
            "calls": dict(tally.calls),
            "failovers": tally.failovers,
            "emails_per_heavy_service": dict(emails),
            "lost_emails_live_services": lost,
            "problems": problems,
            "rss_curve": rss,
        },
    )
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
