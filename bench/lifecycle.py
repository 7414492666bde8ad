"""Lifecycle latency: each module function through the daemon and through the PHP shim, against the same MinIO admin
work done directly with minio-py, in one run on one real MinIO; and the daemon's peak RSS under 20 concurrent
CreateAccount calls.

    .venv/bin/python -m bench.lifecycle [--services 50] [--concurrent 20]

Per function, median and p95 over N services (each service goes through the whole lifecycle once per path):
  direct   minio-py MinioAdmin in-process, the admin calls the daemon makes for that function (the naive floor: no
           WHMCS, no records, no checks)
  daemon   a signed HTTP call to /v1/module/<Function> (what the shim's curl sends)
  shim     the real PHP shim in the WHMCS stand-in (Debian's PHP 8.2, one PHP process per call, as a CLI stand-in)
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from minio import MinioAdmin
from minio.credentials.providers import StaticProvider

from bench.common import report, summary
from rig.sample_whmcs import insert_client, insert_product, insert_server, insert_service
from rig.shim import run_shim
from rig.stack import Stack, running_stack

FUNCTIONS = (
    "CreateAccount",
    "ChangePassword",
    "SuspendAccount",
    "UnsuspendAccount",
    "ChangePackage",
    "TerminateAccount",
)
STANDARD = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"],
            "Resource": ["arn:aws:s3:::{u}--*", "arn:aws:s3:::{u}--*/*"]}]}  # fmt: skip
LIMITED = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket",
           "s3:DeleteObject"], "Resource": ["arn:aws:s3:::{u}--*", "arn:aws:s3:::{u}--*/*"]}]}  # fmt: skip


def policy(template: dict[str, Any], user: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(json.dumps(template).replace("{u}", user))
    return doc


def direct_steps(admin: MinioAdmin, user: str) -> dict[str, Callable[[], Any]]:
    """The MinIO admin work of each function, done directly (what the daemon's MinIO driver calls)."""

    def create() -> None:
        admin.policy_add(f"s3bridge-{user}", policy=policy(STANDARD, user))
        admin.policy_add(f"s3bridge-{user}-limited", policy=policy(LIMITED, user))
        admin.user_add(user, "Direct-secret-" + user)
        admin.policy_set(f"s3bridge-{user}", user=user)

    def package() -> None:
        admin.policy_add(f"s3bridge-{user}", policy=policy(STANDARD, user))
        admin.policy_add(f"s3bridge-{user}-limited", policy=policy(LIMITED, user))
        admin.policy_set(f"s3bridge-{user}", user=user)

    def terminate() -> None:
        admin.user_remove(user)
        admin.policy_remove(f"s3bridge-{user}")
        admin.policy_remove(f"s3bridge-{user}-limited")

    return {
        "CreateAccount": create,
        "ChangePassword": lambda: admin.user_add(user, "Direct-other-" + user),
        "SuspendAccount": lambda: admin.user_disable(user),
        "UnsuspendAccount": lambda: admin.user_enable(user),
        "ChangePackage": package,
        "TerminateAccount": terminate,
    }


def register(stack: Stack, serviceids: list[int], serverid: int) -> None:
    conn = stack.db.connect("whmcs")
    insert_server(conn, serverid, "bench", "127.0.0.1", stack.minio.port, stack.minio.access_key)
    for sid in serviceids:
        insert_client(conn, sid, "Bench", "Client", f"c{sid}@example.com", "english")
        insert_product(conn, sid, f"plan {sid}", {2: "10", 3: "GB"})
        insert_service(conn, sid, sid, sid, serverid)
    conn.close()


def service_params(stack: Stack, sid: int, serverid: int, **extra: Any) -> dict[str, Any]:
    p: dict[str, Any] = {**stack.server_params(serverid), "serviceid": sid, "userid": sid, "pid": sid, "username": "",
                         "password": "", "clientsdetails": {"id": sid, "language": "english"}}  # fmt: skip
    p.update({f"configoption{n}": "" for n in range(1, 25)})
    p.update(configoption2="10", configoption3="GB")
    p.update(extra)
    return p


Caller = Callable[[str, dict[str, Any]], dict[str, Any]]


def lifecycle(call: Caller, stack: Stack, sid: int, serverid: int) -> dict[str, float]:
    """One service through every function via `call`; returns ms per function. WHMCS keeps the credentials the
    CreateAccount effect stores, and passes them back on each later call."""
    times: dict[str, float] = {}
    creds: dict[str, Any] = {}
    for fn in FUNCTIONS:
        extra = dict(creds)
        if fn == "ChangePassword":
            extra["password"] = f"Changed-pass-{sid}-x"
        if fn == "ChangePackage":
            extra["configoption2"] = "20"
        t0 = time.perf_counter()
        effects = call(fn, service_params(stack, sid, serverid, **extra))
        times[fn] = (time.perf_counter() - t0) * 1000
        for e in effects.get("effects", []):
            if e.get("command") == "UpdateClientProduct":
                creds["username"] = e["params"].get("serviceusername", creds.get("username", ""))
                creds["password"] = e["params"].get("servicepassword", creds.get("password", ""))
        if fn == "ChangePassword":
            creds["password"] = extra["password"]
    return times


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in open(f"/proc/{pid}/status").read().splitlines():  # noqa: SIM115 - procfs, read at once
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    n = args.services

    with running_stack("bench-lifecycle") as stack:
        credentials = StaticProvider(stack.minio.access_key, stack.minio.secret_key)
        admin = MinioAdmin(endpoint=stack.minio.endpoint, credentials=credentials, secure=False)
        samples: dict[str, dict[str, list[float]]] = {
            p: {f: [] for f in FUNCTIONS} for p in ("direct", "daemon", "shim")
        }

        for i in range(n):  # direct
            steps = direct_steps(admin, f"direct-{i}")
            for fn in FUNCTIONS:
                t0 = time.perf_counter()
                steps[fn]()
                samples["direct"][fn].append((time.perf_counter() - t0) * 1000)

        def via_daemon(fn: str, params: dict[str, Any]) -> dict[str, Any]:
            return stack.signed_post(fn, params)

        def via_shim(fn: str, params: dict[str, Any]) -> dict[str, Any]:
            r = run_shim(fn, params, url=stack.url, secret=stack.secret, module_debug=False)
            assert r.returned == "success", (fn, r.returned)
            return {"effects": [{"command": c["command"], "params": c["values"]} for c in r.local_api]}

        callers: tuple[tuple[str, Caller, int], ...] = (("daemon", via_daemon, 100_000), ("shim", via_shim, 200_000))
        for path, call, base in callers:
            ids = list(range(base, base + n))
            register(stack, ids, serverid=base)
            for sid in ids:
                for fn, ms in lifecycle(call, stack, sid, base).items():
                    samples[path][fn].append(ms)

        # peak RSS of the daemon under concurrent creates (sampled every 5 ms)
        ids = list(range(300_000, 300_000 + args.concurrent))
        register(stack, ids, serverid=300_000)
        baseline = rss_kib(stack.daemon_pid)
        peak = [baseline]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                try:
                    peak[0] = max(peak[0], rss_kib(stack.daemon_pid))
                except OSError:  # the daemon is gone (a failed run is tearing the stack down)
                    return
                time.sleep(0.005)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.perf_counter()
        try:
            with ThreadPoolExecutor(args.concurrent) as pool:
                list(pool.map(lambda sid: stack.signed_post("CreateAccount", service_params(stack, sid, 300_000)), ids))
        finally:
            done.set()
            sampler.join()
        wall = (time.perf_counter() - t0) * 1000

        rows: dict[str, dict[str, float]] = {}
        ratios: dict[str, Any] = {}
        for fn in FUNCTIONS:
            for path in ("direct", "daemon", "shim"):
                rows[f"{fn} {path}"] = summary(samples[path][fn])
            direct = rows[f"{fn} direct"]["median_ms"]
            ratios[fn] = {
                "daemon_vs_direct": round(rows[f"{fn} daemon"]["median_ms"] / direct, 2),
                "shim_vs_direct": round(rows[f"{fn} shim"]["median_ms"] / direct, 2),
            }
        extra = {
            "ratios_median": ratios,
            "services_per_path": n,
            "concurrent_creates": args.concurrent,
            "concurrent_creates_wall_ms": round(wall, 1),
            "daemon_rss_before_mib": round(baseline / 1024, 1),
            "daemon_rss_peak_mib": round(peak[0] / 1024, 1),
            "daemon_rss_hwm_mib": round(rss_kib(stack.daemon_pid, "VmHWM") / 1024, 1),
        }
        report("lifecycle", rows, extra)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
