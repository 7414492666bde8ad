"""Traffic metering: audit ingest throughput and daemon memory, and how fast a crossed limit is enforced.

    .venv/bin/python -m bench.metering                      # 3 x 100k events, 1M total, 20 + 20 enforcement trials
    .venv/bin/python -m bench.metering --events 50000 --trials 5 --scanner-trials 5   # quicker

1. Ingest: real daemon, real MariaDB, 1,000 services. Entries shaped like the real server's (from the sample captured
   on MinIO, ~1.3 KB each, headers included), posted to the audit listener as MinIO does with `batch_size=100`
   (4 connections), each POST answered only after its events are committed. Events/s per run (median of runs),
   then on to 1,000,000 events: the daemon's RSS before and after (bounded: nothing per event is kept in memory).
   Against, in the same run: MinIO's default `batch_size=1` (one entry per POST, 16 connections, as MinIO's webhook
   workers) into the same daemon, and the naive ingest: one transaction per event (dedupe insert, counter upsert).
   All counted events are checked against what was sent, and a resent batch must add nothing.
2. Enforcement: product limit 4 MB; a tenant writes 3 MB, then the 2 MB write that crosses, then 1 KB PUTs every
   50 ms until one is refused: delay from the crossing write's answer to the refusal. Metered: the audit stream
   decides. Scanner-only (same MinIO, a server id without metering): the cron's EnforceLimits is called every second
   (the real cron runs every 5 minutes, so real delays are longer by up to 300 s) and waits for MinIO's scanner.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import aiohttp
import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from bench.common import write_results

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
from bridge.domain.audit_events import dedupe_key
from bridge.domain.audit_token import audit_token
from rig.paths import MINIO_AUDIT_SAMPLE
from rig.sample_whmcs import insert_client, insert_product, insert_service
from rig.stack import Stack, running_stack

SAMPLE = MINIO_AUDIT_SAMPLE
INGEST_SERVER = 500
METERED_SERVER = 600
SCANNER_SERVER = 601
MB = 1024 * 1024


# -- ingest ---------------------------------------------------------------------------------------------------------
def entry_template() -> str:
    """A real GetObject entry from the sample, with markers where each event differs."""
    for line in SAMPLE.read_text().splitlines():
        e = json.loads(line)
        if e["api"]["name"] == "GetObject" and e["api"]["statusCode"] == 200:
            e["requestID"], e["time"] = "@RID@", "@TIME@"
            e["api"]["bucket"], e["api"]["tx"] = "@BUCKET@", 424242
            e["responseHeader"]["X-Amz-Request-Id"] = "@RID@"
            return json.dumps(e, separators=(",", ":")).replace("424242", "@TX@")
    raise SystemExit("no GetObject entry in the sample")


class Events:
    """Unique events, round-robin over the services' buckets (the template cut once, joined per event)."""

    def __init__(self, usernames: list[str]) -> None:
        self.template = entry_template()
        self.buckets = [f"{u}--data" for u in usernames]
        self.n = 0
        t = self.template
        a, rest = t.split("@TIME@")
        self.parts = [a, *rest.split("@BUCKET@")]
        self.parts = [p for part in self.parts for p in part.split("@TX@")]
        self.parts = [p for part in self.parts for p in part.split("@RID@")]
        self.order = [m for m in _markers(t)]

    def body(self, count: int) -> bytes:
        lines = []
        buckets, nb, parts, order = self.buckets, len(self.buckets), self.parts, self.order
        for i in range(self.n, self.n + count):
            values = {
                "@RID@": f"{i:016X}",
                "@TIME@": f"2026-11-25T12:{i // 60_000_000 % 60:02d}:{i // 1_000_000 % 60:02d}.{i % 1_000_000:06d}000Z",
                "@BUCKET@": buckets[i % nb],
                "@TX@": str(1000 + i % 5000),
            }
            out = [parts[0]]
            for m, p in zip(order, parts[1:], strict=True):
                out += (values[m], p)
            lines.append("".join(out))
        self.n += count
        return ("\n".join(lines) + "\n").encode()


def _markers(t: str) -> list[str]:
    found: list[str] = []
    i = 0
    while True:
        hits = [(t.find(m, i), m) for m in ("@RID@", "@TIME@", "@BUCKET@", "@TX@") if t.find(m, i) >= 0]
        if not hits:
            return found
        pos, m = min(hits)
        found.append(m)
        i = pos + len(m)


async def post_all(url: str, token: str, bodies: list[bytes], concurrency: int) -> float:
    """Post every body (each answered after its commit); seconds taken."""
    it = iter(bodies)
    async with aiohttp.ClientSession(headers={"Authorization": token}) as http:

        async def worker() -> None:
            for body in it:
                async with http.post(url, data=body) as r:
                    if r.status != 200:
                        raise RuntimeError(f"audit post answered {r.status}: {await r.text()}")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (machine load does not inflate it, unlike wall time)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def counted(stack: Stack, server: int) -> int:
    conn = stack.db.connect("whmcs")
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(d.req_read + d.req_write + d.req_list + d.req_delete + d.req_other), 0) AS n"
            " FROM mod_s3bridge_traffic_daily d JOIN mod_s3bridge_services s ON s.serviceid = d.serviceid"
            " WHERE s.serverid = %s",
            (server,),
        )
        row = cur.fetchone()
        n = int(row["n"]) if row else 0
    conn.close()
    return n


def naive_ingest(stack: Stack, events: Events, n: int, services: dict[str, int]) -> float:
    """One transaction per event: dedupe insert, then the counter upsert. Returns events/s."""
    conn = stack.db.connect("whmcs")
    bodies = [events.body(1) for _ in range(n)]
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        for body in bodies:
            e = json.loads(body)
            sid = services[e["api"]["bucket"].partition("--")[0]]
            key = dedupe_key(e["requestID"], e["time"])
            if cur.execute(
                "INSERT IGNORE INTO mod_s3bridge_audit_seen (serverid, event_key, batch) VALUES (%s, %s, 0)",
                (INGEST_SERVER + 1, key),
            ):
                cur.execute(
                    "INSERT INTO mod_s3bridge_traffic_daily (serviceid, day, bytes_out, req_read) VALUES"
                    " (%s, %s, %s, 1) ON DUPLICATE KEY UPDATE bytes_out = bytes_out + VALUES(bytes_out),"
                    " req_read = req_read + 1",
                    (sid, e["time"][:10], e["api"]["tx"]),
                )
            conn.commit()
    took = time.perf_counter() - t0
    conn.close()
    return n / took


def bench_ingest(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    usernames = [f"m{i}" for i in range(1000)]
    conn = stack.db.connect("whmcs")
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state)"
            " VALUES (%s, %s, %s, 'minio', %s, 'active')",
            [(900_000 + i, 900_000 + i, INGEST_SERVER, u) for i, u in enumerate(usernames)],
        )
    conn.commit()
    conn.close()
    url = f"http://{stack.meter_listen}/v1/audit/{INGEST_SERVER}"
    token = audit_token(stack.secret, INGEST_SERVER)
    events = Events(usernames)
    batch = 100

    def run(n: int, per_post: int, concurrency: int) -> float:
        """Bodies made before the clock starts (MinIO makes them, not the daemon), then posted."""
        bodies = [events.body(per_post) for _ in range(n // per_post)]
        return n / asyncio.run(post_all(url, token, bodies, concurrency))

    run(20_000, batch, 4)  # warm-up: connections, pool, caches
    rss_before = rss_kib(stack.daemon_pid)
    db_pid = stack.db.proc.pid if stack.db.proc else 0
    rates, per_cpu = [], []
    for _ in range(args.runs):
        c0, m0 = cpu_s(stack.daemon_pid), cpu_s(db_pid)
        rates.append(run(args.events, batch, 4))
        c1, m1 = cpu_s(stack.daemon_pid), cpu_s(db_pid)
        per_cpu.append((args.events / max(c1 - c0, 1e-9), args.events / max(m1 - m0, 1e-9)))
    print(f"ingest runs (events/s, batch_size={batch}): {[round(r) for r in rates]}", flush=True)
    print(f"events per CPU second (daemon, MariaDB): {[(round(a), round(b)) for a, b in per_cpu]}", flush=True)
    while events.n < args.total:
        run(min(100_000, args.total - events.n), batch, 4)
    rss_after = rss_kib(stack.daemon_pid)
    sent = events.n
    single = run(args.single_events, 1, 16)
    sent = events.n
    time.sleep(0.5)
    total = counted(stack, INGEST_SERVER)
    events.n -= batch  # one batch again: the same ids
    again = events.body(batch)
    asyncio.run(post_all(url, token, [again], 1))
    assert counted(stack, INGEST_SERVER) == total, "a resent batch was counted twice"
    assert total == sent, f"counted {total} of {sent} events"
    naive = naive_ingest(stack, events, args.naive_events, {u: 900_000 + i for i, u in enumerate(usernames)})
    return {
        "events_per_run": args.events,
        "runs": [round(r) for r in rates],
        "median_events_per_s": round(statistics.median(rates)),
        "median_events_per_daemon_cpu_s": round(statistics.median(a for a, _ in per_cpu)),
        "median_events_per_mariadb_cpu_s": round(statistics.median(b for _, b in per_cpu)),
        "load_average_1m_at_end": round(os.getloadavg()[0], 1),
        "minio_batch_size_1_events_per_s": round(single),
        "naive_per_event_transaction_events_per_s": round(naive),
        "ratio_bridge_over_naive": round(statistics.median(rates) / naive, 1),
        "events_total": sent,
        "counted": total,
        "daemon_rss_mib_after_warmup": round(rss_before / 1024, 1),
        "daemon_rss_mib_after_total": round(rss_after / 1024, 1),
        "daemon_peak_rss_mib": round(rss_kib(stack.daemon_pid, "VmHWM") / 1024, 1),
    }


# -- enforcement ----------------------------------------------------------------------------------------------------
def service_params(stack: Stack, serverid: int, sid: int, username: str = "", password: str = "") -> dict[str, Any]:
    p: dict[str, Any] = {
        **stack.server_params(serverid),
        "serviceid": sid, "userid": sid, "pid": sid, "domain": "", "username": username, "password": password,
        "serveraccesshash": "", "clientsdetails": {"id": sid, "firstname": "Bench", "lastname": "Client",
                                                   "email": f"b{sid}@example.com", "language": "english"},
    }  # fmt: skip
    options = {2: "4", 3: "MB", 12: "on"}
    for n in range(1, 25):
        p[f"configoption{n}"] = options.get(n, "")
    return p


def tenant(stack: Stack, serverid: int, sid: int) -> tuple[str, S3Client]:
    conn = stack.db.connect("whmcs")
    insert_client(conn, sid, "Bench", "Client", f"b{sid}@example.com", "english")
    insert_product(conn, sid, "bench 4 MB", {2: "4", 3: "MB", 12: "on"})
    insert_service(conn, sid, sid, sid, serverid)
    conn.close()
    answer = stack.signed_post("CreateAccount", service_params(stack, serverid, sid))
    creds = next(e["params"] for e in answer["effects"] if e.get("command") == "UpdateClientProduct")
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://{stack.minio.endpoint}",
        aws_access_key_id=creds["serviceusername"],
        aws_secret_access_key=creds["servicepassword"],
        region_name="us-east-1",
        config=BotoConfig(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
    )
    return f"{creds['serviceusername']}--data", s3


def refused(s3: S3Client, bucket: str, key: str) -> bool:
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=b"k" * 1024)
    except ClientError as e:
        if e.response["Error"]["Code"] != "AccessDenied":
            raise
        return True
    return False


def cross(s3: S3Client, bucket: str) -> float:
    s3.put_object(Bucket=bucket, Key="base", Body=b"b" * (3 * MB))
    s3.put_object(Bucket=bucket, Key="crossing", Body=b"c" * (2 * MB))
    return time.perf_counter()


def metered_trial(stack: Stack, sid: int, timeout: float) -> float | None:
    bucket, s3 = tenant(stack, METERED_SERVER, sid)
    t0 = cross(s3, bucket)
    i = 0
    while time.perf_counter() - t0 < timeout:
        if refused(s3, bucket, f"p{i}"):
            return time.perf_counter() - t0
        i += 1
        time.sleep(0.05)
    return None


def scanner_trials(stack: Stack, n: int, timeout: float) -> list[float | None]:
    tenants = [tenant(stack, SCANNER_SERVER, 700_000 + i) for i in range(n)]
    with ThreadPoolExecutor(8) as pool:
        starts = list(pool.map(lambda t: cross(t[1], t[0]), tenants))
    delays: list[float | None] = [None] * n
    i = 0
    while any(d is None for d in delays) and time.perf_counter() - min(starts) < timeout:
        stack.signed_post("EnforceLimits", stack.server_params(SCANNER_SERVER))  # the cron, every second
        for k, (bucket, s3) in enumerate(tenants):
            if delays[k] is None and refused(s3, bucket, f"p{i}"):
                delays[k] = time.perf_counter() - starts[k]
        i += 1
        time.sleep(1)
    return delays


def stats(delays: list[float | None], timeout: float) -> dict[str, Any]:
    done = sorted(d for d in delays if d is not None)
    out: dict[str, Any] = {"trials": len(delays), "refused": len(done), "timeout_s": timeout}
    if done:
        out["median_s"] = round(statistics.median(done), 3)
        out["p95_s"] = round(done[max(0, int(len(done) * 0.95 + 0.5) - 1)], 3)
        out["max_s"] = round(done[-1], 3)
    return out


def bench_enforcement(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    answer = stack.signed_post("EnableMetering", {**stack.server_params(METERED_SERVER), "serveraccesshash": ""})
    print(answer["result"]["message"], flush=True)
    metered = [metered_trial(stack, 800_000 + i, args.timeout) for i in range(args.trials)]
    print(f"metered delays (s): {[round(d, 2) if d else None for d in metered]}", flush=True)
    scanner = scanner_trials(stack, args.scanner_trials, args.scanner_timeout)
    print(f"scanner-only delays (s): {[round(d, 1) if d else None for d in scanner]}", flush=True)
    m, s = stats(metered, args.timeout), stats(scanner, args.scanner_timeout)
    ratio = round(s["median_s"] / m["median_s"], 1) if "median_s" in m and "median_s" in s else None
    return {"metered": m, "scanner_only_cron_every_1s": s, "ratio_scanner_over_metered_median": ratio}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000, help="events per timed ingest run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--total", type=int, default=1_000_000, help="events before the RSS reading")
    parser.add_argument("--single-events", type=int, default=20_000, help="events posted one per POST")
    parser.add_argument("--naive-events", type=int, default=5_000)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--scanner-trials", type=int, default=20)
    parser.add_argument("--scanner-timeout", type=float, default=600)
    parser.add_argument("--scanner-speed", default="default", help="MINIO_SCANNER_SPEED of the bench's MinIO")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-enforcement", action="store_true")
    args = parser.parse_args()

    env = {"MINIO_SCANNER_SPEED": args.scanner_speed}
    with running_stack("bench-metering", meter=True, minio_env=env) as stack:
        ingest = {} if args.skip_ingest else bench_ingest(stack, args)
        enforcement = {} if args.skip_enforcement else bench_enforcement(stack, args)
    result = {"ingest": ingest, "enforcement": enforcement, "scanner_speed": args.scanner_speed}
    if ingest:
        print("\nAudit ingest (real daemon + MariaDB, 1,000 services, ~1.3 KB entries)")
        print(f"  bridge, batch_size=100 posts: median {ingest['median_events_per_s']:,} events/s {ingest['runs']}")
        print(f"  CPU cost: {ingest['median_events_per_daemon_cpu_s']:,} events per daemon CPU second,"
              f" {ingest['median_events_per_mariadb_cpu_s']:,} per MariaDB CPU second"
              f" (load average {ingest['load_average_1m_at_end']} on {os.cpu_count()} cores)")  # fmt: skip
        print(f"  bridge, batch_size=1 posts (MinIO's default): {ingest['minio_batch_size_1_events_per_s']:,} events/s")
        print(f"  naive, one transaction per event: {ingest['naive_per_event_transaction_events_per_s']:,} events/s"
              f"  (bridge/naive x{ingest['ratio_bridge_over_naive']})")  # fmt: skip
        print(f"  daemon RSS after warm-up {ingest['daemon_rss_mib_after_warmup']} MiB, after"
              f" {ingest['events_total']:,} events {ingest['daemon_rss_mib_after_total']} MiB"
              f" (peak {ingest['daemon_peak_rss_mib']} MiB)")  # fmt: skip
    if not enforcement:
        return _write(result)
    m, s = enforcement["metered"], enforcement["scanner_only_cron_every_1s"]
    print(f"\nEnforcement delay, crossing write -> first refused PUT (MINIO_SCANNER_SPEED={args.scanner_speed})")
    print(f"{'path':<34} {'trials':>6} {'refused':>7} {'median s':>9} {'p95 s':>7}")
    for name, x in (("metered (audit stream)", m), ("scanner-only (cron every 1 s)", s)):
        print(f"{name:<34} {x['trials']:>6} {x['refused']:>7} {x.get('median_s', '-'):>9} {x.get('p95_s', '-'):>7}")
    print(f"scanner-only / metered (medians): x{enforcement['ratio_scanner_over_metered_median']}")
    return _write(result)


def _write(result: dict[str, Any]) -> int:
    write_results("metering", result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
