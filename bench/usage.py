"""UsageUpdate at scale: the bridge's cycle against MinIO's own DataUsageInfo call, a fair linear collector and the
naive per-service listing, in the same run.

    .venv/bin/python -m bench.usage [--sizes 1000,3000,10000] [--runs 5] [--fair-runs 3] [--naive-runs 3]
                                    [--naive-max 1000] [--profile] [--scanner-speed default]
                                    [--history-days 365]

For each N: N provisioned services (records, tblhosting rows, a product with a 1 MB limit for 5 % of them and
10 GB for the rest), 2 buckets each with 3 small objects, on one real MinIO and one real MariaDB. MinIO is then
restarted with its scanner at --scanner-speed (MinIO's own default unless asked: see `scanner_speed`) and its first
pass after the restart is let end. The first run applies the limited policy to the 5 % over their limit (real MinIO
users exist for those) and a second settles the decisions; that day's history rows are copied to each of the
--history-days days before it (default: the product's retention, 365 days: what a year in production leaves in the
daily tables). Then rounds interleave, so a change of load on a shared machine falls on each alike:
- MinIO: the DataUsageInfo admin call alone, decoded by the bridge's own decoder (only each bucket's size and
  object count: bridge/backends/minio/usage_info.py): the floor of any scanner-based collector.
- bridge: the daemon's UsageUpdate for the server over the signed channel when nothing changed (checked: nothing
  written, no history, no policy change).
- new day: the day's first UsageUpdate: today's history rows inserted for every service (the bench makes the
  stored history a day old and deletes today's rows before each run) and, with a full retention window stored, the
  day that has just left the window deleted (the bench puts it back before each run: 3 rows per service).
- fair (--fair-runs times, after the rounds: its listings keep MinIO busy a while): a linear collector written the
  plain way: one ListBuckets, then ListObjects of every bucket on 16 threads, sums per service by the bucket
  namespace, one batched UPDATE of tblhosting.
- naive (after the rounds, up to --naive-max services): per service, list the server's buckets, keep its own, list
  every object of each and sum, then one UPDATE of tblhosting per service: what per-account modules do.
Each run's wall time and the CPU time of the daemon, MariaDB, MinIO and this process (MinIO's includes its
background scanner while the run lasts). The bridge and the fair collector must agree. With --profile, the steady
and new-day cycles run again in this process under cProfile (all threads) and the top lines are printed. Peak RSS
of the daemon (VmHWM) and of this process. Load average, CPU count and commit beside the table (bench.common).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import os
import resource
import secrets
import statistics
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from bench.common import conditions, load_average, write_results
from bridge.backends.minio.usage_info import decode_usage_info
from bridge.domain.product_settings import setting
from rig.sample_whmcs import insert_client, insert_product, insert_service
from rig.services import MariaDB, MinIO
from rig.stack import Stack, running_stack

MB = 1024 * 1024
T = TypeVar("T")
RETENTION_DAYS = int(setting(10).default)  # the bench products' usage history retention: the product default
HISTORY_TABLES = (  # each bucket's figures are in its service's daily row (migration 17)
    ("mod_s3bridge_usage_daily", ("serviceid", "day", "used_bytes", "objects", "buckets", "bucket_figures")),
)


def minio_admin(minio: MinIO) -> MinioAdmin:
    return MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )


def populate(db: MariaDB, database: str, minio: MinIO, n: int, serverid: int, base_id: int) -> dict[int, str]:
    """N services on `serverid`: WHMCS rows, our records, 2 buckets x 3 objects; users for the 5 % over limit."""
    s3 = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    admin = minio_admin(minio)
    conn = db.connect(database)
    over = set(range(0, n, 20))  # 5 %
    insert_product(conn, base_id, "bench small", {2: "1", 3: "MB"})
    insert_product(conn, base_id + 1, "bench big", {2: "10", 3: "GB"})
    services: dict[int, str] = {}
    rows = []
    for i in range(n):
        sid = base_id + 10 + i
        name = f"b{serverid}-{i}"
        services[sid] = name
        insert_client(conn, sid, "Bench", f"Client {i}", f"bench{sid}@example.com", "english")
        insert_service(conn, sid, sid, base_id if i in over else base_id + 1, serverid)
        rows.append((sid, sid, serverid, "minio", name, "active", "standard", ""))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state,"
            " policy, grp) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    conn.close()

    def make(i_name: tuple[int, str]) -> None:
        i, name = i_name
        for suffix in ("data", "logs"):
            bucket = f"{name}--{suffix}"
            s3.make_bucket(bucket)
            size = 400 * 1024 if i in over else 1000  # the over-limit ones hold 2 x 3 x 400 KiB > 1 MB
            for k in range(3):
                s3.put_object(bucket, f"obj{k}", io.BytesIO(b"x" * size), size)
        if i in over:
            admin.user_add(name, "bench-" + secrets.token_hex(8))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(make, enumerate(services.values())))
    expected = 2 * n
    deadline = time.monotonic() + 300 + n / 10  # 20,000 buckets took more than 300 s under load
    while time.monotonic() < deadline:  # let the scanner see everything before timing (not part of the timing)
        info = json.loads(admin.get_data_usage_info())
        counts = info.get("bucketsUsageInfo") or {}
        mine = [b for name, b in counts.items() if name.startswith(f"b{serverid}-")]
        if len(mine) == expected and all(b.get("objectsCount") == 3 for b in mine):
            break
        time.sleep(1)
    return services


def naive(db: MariaDB, database: str, minio: MinIO, services: dict[int, str]) -> dict[int, int]:
    s3 = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    conn = db.connect(database)
    totals: dict[int, int] = {}
    for sid, name in services.items():
        own = [b.name for b in s3.list_buckets() if b.name.startswith(name + "--")]
        total = sum(o.size or 0 for b in own for o in s3.list_objects(b, recursive=True))
        totals[sid] = total
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE tblhosting SET diskusage = %s, lastupdate = NOW() WHERE id = %s", (-(-total // MB), sid)
            )
    conn.close()
    return totals


def fair(db: MariaDB, database: str, minio: MinIO, services: dict[int, str]) -> dict[int, int]:
    """One ListBuckets, ListObjects per bucket on 16 threads, one batched UPDATE (a CASE per 1,000 services)."""
    s3 = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    by_name = {name: sid for sid, name in services.items()}
    mine = [
        (b.name, by_name[b.name.partition("--")[0]]) for b in s3.list_buckets() if b.name.partition("--")[0] in by_name
    ]

    def size(bucket: str) -> int:
        return sum(o.size or 0 for o in s3.list_objects(bucket, recursive=True))

    totals = dict.fromkeys(services, 0)
    with ThreadPoolExecutor(16) as pool:
        for (_, sid), n in zip(mine, pool.map(size, [b for b, _ in mine]), strict=True):
            totals[sid] += n
    conn = db.connect(database)
    items = list(totals.items())
    with conn.cursor() as cur:
        for start in range(0, len(items), 1000):
            chunk = items[start : start + 1000]
            case = " ".join(["WHEN %s THEN %s"] * len(chunk))
            args = [x for sid, total in chunk for x in (sid, -(-total // MB))]
            cur.execute(
                f"UPDATE tblhosting SET diskusage = CASE id {case} END, lastupdate = NOW()"  # noqa: S608
                f" WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                [*args, *(sid for sid, _ in chunk)],
            )
    conn.close()
    return totals


def cpu_ms(pid: int) -> float:
    """CPU time a process has used so far, all its threads, in ms (the scheduler's nanoseconds per thread, from
    /proc/<pid>/task/*/schedstat: finer than clock ticks, and not stretched by waiting on a loaded machine)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(stat.read_text().split()[0])
    return total / 1e6


@dataclass
class Samples:
    """Wall time and the CPU time each process spent, per run of one thing."""

    pids: dict[str, int]
    wall: list[float] = field(default_factory=list)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def run(self, fn: Callable[[], T]) -> T:
        before = {name: cpu_ms(pid) for name, pid in self.pids.items()}
        t0 = time.perf_counter()
        out = fn()
        self.wall.append((time.perf_counter() - t0) * 1000)
        for name, pid in self.pids.items():
            self.cpu.setdefault(name, []).append(cpu_ms(pid) - before[name])
        return out

    def median(self) -> float:
        return round(statistics.median(self.wall), 1)

    def cpu_medians(self) -> dict[str, float]:
        return {name: round(statistics.median(v), 1) for name, v in self.cpu.items()}


def vm_hwm_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def scanner_speed(minio: MinIO, speed: str) -> None:
    """Restart MinIO on the same data with its scanner at `speed` (MINIO_SCANNER_SPEED overrides the scanner's
    config, so it takes a restart). The scanner's last figures are kept on disk: DataUsageInfo answers them at once.

    The rig runs MinIO at `fastest` (a new pass every second, no pause: about 0.65 of a core at 2,000 buckets, idle)
    so tests see figures within seconds. MinIO's default (`default`: pauses twice as long as each step takes, a pass
    a minute) is what a storage server runs, and on a server of its own: here MinIO shares the bench's 2 cores with
    the daemon and MariaDB, so a scanner that never pauses slows both sides of the comparison."""
    if minio.extra_env.get("MINIO_SCANNER_SPEED", "fastest") == speed:
        return
    minio.stop()
    minio.extra_env["MINIO_SCANNER_SPEED"] = speed
    started = datetime.now(UTC)
    minio.start()
    if speed == "fastest":
        return
    # A restarted MinIO begins with a scanner pass: let it end (up to 90 s) so that it does not fall on the timing.
    admin = minio_admin(minio)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        _, scanned = decode_usage_info(admin.get_data_usage_info())
        if scanned is not None and scanned > started:
            return
        time.sleep(1)


def copy_history(db: MariaDB, serverid: int, source: date, days: Iterable[date]) -> None:
    """The server's services' history rows of `source` (with their bucket breakdown) copied to each of `days`."""
    conn = db.connect("whmcs")
    with conn.cursor() as cur:
        for table, columns in HISTORY_TABLES:
            picked = ", ".join("%s" if c == "day" else f"d.{c}" for c in columns)
            for day in days:
                cur.execute(
                    f"INSERT IGNORE INTO {table} ({', '.join(columns)}) SELECT {picked} FROM {table} d"  # noqa: S608
                    " JOIN mod_s3bridge_services s ON s.serviceid = d.serviceid WHERE s.serverid = %s AND d.day = %s",
                    (day, serverid, source),
                )
    conn.close()


def new_day(db: MariaDB, serverid: int, history_days: int) -> None:
    """As if the last run was yesterday's: today's history rows are not there yet (the run inserts them). With a
    full retention window of history stored, the day that has just left the window is there too, as it is every
    morning in production, for the run's retention to delete."""
    today = datetime.now(UTC).date()
    conn = db.connect("whmcs")
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE mod_s3bridge_services SET history_day = %s WHERE serverid = %s", (today - timedelta(1), serverid)
        )
        for table, _ in HISTORY_TABLES:
            cur.execute(
                f"DELETE d FROM {table} d JOIN mod_s3bridge_services s ON s.serviceid = d.serviceid"
                " WHERE s.serverid = %s AND d.day = %s",
                (serverid, today),
            )
    conn.close()
    if history_days >= RETENTION_DAYS:
        copy_history(db, serverid, today - timedelta(1), [today - timedelta(RETENTION_DAYS + 1)])


def profile_cycles(stack: Stack, serverid: int, n: int, runs: int, history_days: int) -> dict[str, list[str]]:
    """The steady-state and new-day cycles in this process under cProfile (the event loop's thread and the worker
    threads that talk to MariaDB and MinIO): the top lines by own time, the way the daemon runs them."""
    import asyncio
    import concurrent.futures.thread as futures_thread
    import cProfile
    import io
    import pstats

    from aiohttp import web

    from bridge.app import create_app
    from bridge.config import load_config
    from bridge.functions.usage_update import usage_update
    from bridge.web.appkeys import RESOURCES

    profiles: list[cProfile.Profile] = []
    run_item = futures_thread._WorkItem.run

    def profiled_run(item: Any) -> None:
        p = cProfile.Profile()
        p.enable()
        try:
            run_item(item)
        finally:
            p.disable()
            profiles.append(p)

    async def cycles(mode: str) -> list[str]:
        app = create_app(load_config(stack.config))
        runner = web.AppRunner(app)
        await runner.setup()
        params = stack.server_params(serverid)
        await usage_update(app[RESOURCES], params)
        profiles.clear()
        main = cProfile.Profile()
        futures_thread._WorkItem.run = profiled_run  # type: ignore[method-assign,assignment]
        try:
            for _ in range(runs):
                if mode == "new day":
                    new_day(stack.db, serverid, history_days)
                main.enable()
                await usage_update(app[RESOURCES], params)
                main.disable()
        finally:
            futures_thread._WorkItem.run = run_item  # type: ignore[method-assign]
            await runner.cleanup()
        out = io.StringIO()
        stats = pstats.Stats(main, *profiles, stream=out)
        stats.sort_stats("tottime").print_stats(18)
        lines = [x for x in out.getvalue().splitlines() if x.strip()]
        print(f"\nprofile, {mode}, {n} services, {runs} cycles (cProfile, all threads; times are summed over cycles)")
        print("\n".join(lines))
        return lines

    return {mode: asyncio.run(cycles(mode)) for mode in ("steady", "new day")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,3000,10000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive-runs", type=int, default=3)
    parser.add_argument("--fair-runs", type=int, default=3)
    parser.add_argument("--naive-max", type=int, default=1000, help="skip the per-service listing above this size")
    parser.add_argument("--profile", action="store_true", help="also profile the cycles in-process (cProfile)")
    parser.add_argument(
        "--scanner-speed",
        default="default",
        choices=("fastest", "fast", "default", "slow", "slowest"),
        help="MINIO_SCANNER_SPEED while timing (populating runs at fastest); default: MinIO's own default",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=RETENTION_DAYS,
        help=f"days of stored usage history per service (buckets inside) before timing (default {RETENTION_DAYS},"
        " the retention window: every new-day run then also deletes the day that left it)",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows: list[dict[str, Any]] = []
    profiles: dict[int, dict[str, list[str]]] = {}
    with running_stack("bench-usage") as stack:
        db, minio = stack.db, stack.minio
        admin = minio_admin(minio)
        for serverid, n in enumerate(sizes, start=100):
            t0 = time.perf_counter()
            scanner_speed(minio, "fastest")  # the scanner counts what populate made within seconds
            services = populate(db, "whmcs", minio, n, serverid, base_id=serverid * 100_000)
            scanner_speed(minio, args.scanner_speed)  # the timing runs with the scanner as asked (MinIO's default)
            setup_s = time.perf_counter() - t0
            params = stack.server_params(serverid)
            t0 = time.perf_counter()
            first = stack.signed_post("UsageUpdate", params)["result"]
            first_ms = (time.perf_counter() - t0) * 1000
            stack.signed_post("UsageUpdate", params)  # decisions settled: what follows changes nothing
            today = datetime.now(UTC).date()  # the history a year in production holds: today's rows, day after day
            copy_history(db, serverid, today, [today - timedelta(d) for d in range(1, args.history_days + 1)])
            # the day that left the window: one row per service, its buckets inside it (migration 17)
            expired = n if args.history_days >= RETENTION_DAYS else 0
            since = load_average()
            # Rounds interleave MinIO's own call, the steady-state cycle, the new-day cycle and the fair collector,
            # so a change of load on a shared machine falls on all of them alike.
            assert db.proc is not None
            assert minio.proc is not None
            pids = {"daemon": stack.daemon_pid, "mariadb": db.proc.pid, "minio": minio.proc.pid, "bench": os.getpid()}
            scan, steady, fresh_day = Samples(pids), Samples(pids), Samples(pids)
            fair_ms: list[float] = []
            totals: dict[int, int] = {}
            for _ in range(args.runs):
                # The floor of any scanner-based collector: MinIO building and sending DataUsageInfo, decoded as
                # the bridge decodes it (the plain json.loads of the whole answer costs 10x as much).
                scan.run(lambda: decode_usage_info(admin.get_data_usage_info()))
                again = steady.run(functools.partial(stack.signed_post, "UsageUpdate", params))["result"]
                assert (again["policy_changes"], again["written"], again["history"]) == ([], 0, 0), again
                new_day(db, serverid, args.history_days)
                again = fresh_day.run(functools.partial(stack.signed_post, "UsageUpdate", params))["result"]
                assert (again["policy_changes"], again["history"], again["history_deleted"]) == ([], n, expired), again
            for _ in range(args.fair_runs):  # after the rounds: its thousands of listings keep MinIO busy a while
                t0 = time.perf_counter()
                totals = fair(db, "whmcs", minio, services)
                fair_ms.append((time.perf_counter() - t0) * 1000)
            load = conditions(since)
            naive_ms = []
            for _ in range(args.naive_runs if n <= args.naive_max else 0):
                t0 = time.perf_counter()
                assert naive(db, "whmcs", minio, services) == totals
                naive_ms.append((time.perf_counter() - t0) * 1000)
            conn = db.connect("whmcs")
            with conn.cursor() as cur:
                cur.execute("SELECT serviceid, used_bytes FROM mod_s3bridge_services WHERE serverid = %s", (serverid,))
                bridge_totals = {int(r["serviceid"]): int(r["used_bytes"]) for r in cur.fetchall()}
            conn.close()
            assert bridge_totals == totals, "the bridge and the fair collector disagree"
            row: dict[str, Any] = {
                "services": n,
                "buckets": 2 * n,
                "objects": 6 * n,
                "setup_s": round(setup_s, 1),
                "bridge_first_run_ms": round(first_ms, 1),
                "policy_changes_first_run": len(first["policy_changes"]),
                "bridge_median_ms": steady.median(),
                "bridge_new_day_median_ms": fresh_day.median(),
                "fair_median_ms": round(statistics.median(fair_ms), 1),
                "minio_datausageinfo_median_ms": scan.median(),
                "cpu_median_ms": {
                    "bridge": steady.cpu_medians(),
                    "new_day": fresh_day.cpu_medians(),
                    "minio_datausageinfo": scan.cpu_medians(),
                },
                "naive_median_ms": round(statistics.median(naive_ms), 1) if naive_ms else None,
                "runs": {"bridge": steady.wall, "new_day": fresh_day.wall, "minio": scan.wall, "fair": fair_ms},
                "scanner_speed": args.scanner_speed,
                "history_days": args.history_days,
                "load_before": list(load.load_before),
                "load_after": list(load.load_after),
            }
            row["ratio_bridge_over_minio"] = round(row["bridge_median_ms"] / row["minio_datausageinfo_median_ms"], 2)
            row["ratio_new_day_over_minio"] = round(
                row["bridge_new_day_median_ms"] / row["minio_datausageinfo_median_ms"], 2
            )
            row["ratio_fair_over_bridge"] = round(row["fair_median_ms"] / row["bridge_median_ms"], 1)
            row["ratio_fair_over_bridge_new_day"] = round(row["fair_median_ms"] / row["bridge_new_day_median_ms"], 1)
            if naive_ms:
                row["ratio_naive_over_bridge"] = round(row["naive_median_ms"] / row["bridge_median_ms"], 1)
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "runs"}), flush=True)
            if args.profile:
                profiles[n] = profile_cycles(stack, serverid, n, args.runs, args.history_days)
        daemon_hwm = vm_hwm_kib(stack.daemon_pid)

    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("\nUsageUpdate, one server, medians of interleaved rounds (bridge = steady state: nothing changed; new day =")
    print("the day's first run, today's history rows inserted for every service; MinIO = its DataUsageInfo call")
    print("alone, decoded as the bridge decodes it; fair = ListBuckets + ListObjects per bucket on 16 threads")
    print("+ one UPDATE)")
    print(
        f"{'services':>8} {'bridge ms':>10} {'new day ms':>10} {'MinIO ms':>9} {'bridge/MinIO':>12}"
        f" {'new day/MinIO':>13} {'fair ms':>9} {'fair/bridge':>11} {'fair/new day':>12} {'naive ms':>9}"
        f" {'load before -> after (1 min)':>28}"
    )
    for r in rows:
        print(
            f"{r['services']:>8} {r['bridge_median_ms']:>10} {r['bridge_new_day_median_ms']:>10}"
            f" {r['minio_datausageinfo_median_ms']:>9} {r['ratio_bridge_over_minio']:>11}x"
            f" {r['ratio_new_day_over_minio']:>12}x {r['fair_median_ms']:>9} {r['ratio_fair_over_bridge']:>10}x"
            f" {r['ratio_fair_over_bridge_new_day']:>11}x {r['naive_median_ms'] or '-':>9}"
            f" {r['load_before'][0]:>20} -> {r['load_after'][0]}"
        )
    print(f"MinIO's scanner during the timing: {args.scanner_speed} (MINIO_SCANNER_SPEED)")
    print(f"stored history: {args.history_days} days per service, buckets inside (retention {RETENTION_DAYS} days)")
    print("\nCPU time per run, medians in ms, by process (not stretched by waiting on a loaded machine)")
    print(f"{'services':>8} {'what':<24} {'daemon':>8} {'MariaDB':>8} {'MinIO':>8} {'bench':>8}")
    for r in rows:
        for what, key in (("bridge", "bridge"), ("new day", "new_day"), ("MinIO DataUsageInfo", "minio_datausageinfo")):
            c = r["cpu_median_ms"][key]
            print(f"{r['services']:>8} {what:<24} {c['daemon']:>8} {c['mariadb']:>8} {c['minio']:>8} {c['bench']:>8}")
    growth = {}
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        scale = b["services"] / a["services"]
        growth = {
            "services_scale": scale,
            "bridge_time_scale": round(b["bridge_median_ms"] / a["bridge_median_ms"], 2),
            "bridge_new_day_time_scale": round(b["bridge_new_day_median_ms"] / a["bridge_new_day_median_ms"], 2),
            "minio_time_scale": round(b["minio_datausageinfo_median_ms"] / a["minio_datausageinfo_median_ms"], 2),
            "fair_time_scale": round(b["fair_median_ms"] / a["fair_median_ms"], 2),
        }
        print(
            f"growth {a['services']} -> {b['services']} services (x{scale:g}): bridge x{growth['bridge_time_scale']},"
            f" bridge new day x{growth['bridge_new_day_time_scale']}, MinIO x{growth['minio_time_scale']},"
            f" fair x{growth['fair_time_scale']}"
        )
    print(f"peak RSS: daemon {daemon_hwm / 1024:.1f} MiB, bench process {self_rss / 1024:.1f} MiB")
    write_results(
        "usage",
        {
            "rows": rows,
            "growth": growth,
            "daemon_peak_rss_mib": round(daemon_hwm / 1024, 1),
            "bench_peak_rss_mib": round(self_rss / 1024, 1),
            "profiles": profiles,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
