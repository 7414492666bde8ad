"""UsageUpdate at scale: the bridge's one-call collection versus the naive per-service listing, in the same run.

    .venv/bin/python -m bench.usage [--sizes 250,500,1000] [--runs 5] [--naive-runs 3]

For each N: N provisioned services (records, tblhosting rows, a product with a 1 MB limit for 5 % of them and
10 GB for the rest), 2 buckets each with 3 small objects, on one real MinIO and one real MariaDB. Timed:
- bridge: the daemon's UsageUpdate for the server over the signed channel (one DataUsageInfo call, one batched
  tblhosting write per 500 services, history rows, retention, decisions). First run applies the limited policy
  to the 5 % over their limit (real MinIO users exist for those); the steady-state runs change nothing.
- naive: per service, list the server's buckets, keep its own, list every object of each and sum, then one
  UPDATE of tblhosting per service: what per-account modules do.
Both see the same data; the bench checks they agree. Peak RSS of the daemon (VmHWM) and of this process.
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from minio import Minio, MinioAdmin
from minio.credentials.providers import StaticProvider

from bench.common import RESULTS
from rig.sample_whmcs import insert_client, insert_product, insert_service
from rig.services import MariaDB, MinIO
from rig.stack import running_stack

MB = 1024 * 1024


def populate(db: MariaDB, database: str, minio: MinIO, n: int, serverid: int, base_id: int) -> dict[int, str]:
    """N services on `serverid`: WHMCS rows, our records, 2 buckets x 3 objects; users for the 5 % over limit."""
    s3 = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
    admin = MinioAdmin(
        endpoint=minio.endpoint, credentials=StaticProvider(minio.access_key, minio.secret_key), secure=False
    )
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
    deadline = time.monotonic() + 300
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


def vm_hwm_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="250,500,1000")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--naive-runs", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    rows: list[dict[str, Any]] = []
    with running_stack("bench-usage") as stack:
        db, minio = stack.db, stack.minio
        for serverid, n in enumerate(sizes, start=100):
            t0 = time.perf_counter()
            services = populate(db, "whmcs", minio, n, serverid, base_id=serverid * 100_000)
            setup_s = time.perf_counter() - t0
            params = stack.server_params(serverid)
            t0 = time.perf_counter()
            first = stack.signed_post("UsageUpdate", params)["result"]
            first_ms = (time.perf_counter() - t0) * 1000
            steady = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                again = stack.signed_post("UsageUpdate", params)["result"]
                steady.append((time.perf_counter() - t0) * 1000)
                assert again["policy_changes"] == [], again
            naive_ms = []
            for _ in range(args.naive_runs):
                t0 = time.perf_counter()
                totals = naive(db, "whmcs", minio, services)
                naive_ms.append((time.perf_counter() - t0) * 1000)
            conn = db.connect("whmcs")
            with conn.cursor() as cur:
                cur.execute("SELECT serviceid, used_bytes FROM mod_s3bridge_services WHERE serverid = %s", (serverid,))
                bridge_totals = {int(r["serviceid"]): int(r["used_bytes"]) for r in cur.fetchall()}
            conn.close()
            assert bridge_totals == totals, "the bridge and the naive way disagree"
            row = {
                "services": n,
                "buckets": 2 * n,
                "objects": 6 * n,
                "setup_s": round(setup_s, 1),
                "bridge_first_run_ms": round(first_ms, 1),
                "policy_changes_first_run": len(first["policy_changes"]),
                "bridge_median_ms": round(statistics.median(steady), 1),
                "naive_median_ms": round(statistics.median(naive_ms), 1),
            }
            row["ratio_naive_over_bridge"] = round(row["naive_median_ms"] / row["bridge_median_ms"], 1)
            rows.append(row)
            print(json.dumps(row), flush=True)
        daemon_hwm = vm_hwm_kib(stack.daemon_pid)

    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("\nUsageUpdate, one server (medians; bridge = steady state, no policy changes)")
    print(f"{'services':>8} {'bridge ms':>10} {'first run ms':>12} {'naive ms':>10} {'naive/bridge':>12}")
    for r in rows:
        print(
            f"{r['services']:>8} {r['bridge_median_ms']:>10} {r['bridge_first_run_ms']:>12} "
            f"{r['naive_median_ms']:>10} {r['ratio_naive_over_bridge']:>11}x"
        )
    growth = {}
    if len(rows) > 1:
        a, b = rows[0], rows[-1]
        scale = b["services"] / a["services"]
        growth = {
            "services_scale": scale,
            "bridge_time_scale": round(b["bridge_median_ms"] / a["bridge_median_ms"], 2),
            "naive_time_scale": round(b["naive_median_ms"] / a["naive_median_ms"], 2),
        }
        print(
            f"growth {a['services']} -> {b['services']} services (x{scale:g}): bridge x{growth['bridge_time_scale']},"
            f" naive x{growth['naive_time_scale']}"
        )
    print(f"peak RSS: daemon {daemon_hwm / 1024:.1f} MiB, bench process {self_rss / 1024:.1f} MiB")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "usage.json"
    out.write_text(
        json.dumps(
            {
                "bench": "usage",
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "rows": rows,
                "growth": growth,
                "daemon_peak_rss_mib": round(daemon_hwm / 1024, 1),
                "bench_peak_rss_mib": round(self_rss / 1024, 1),
            },
            indent=2,
        )
    )
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
