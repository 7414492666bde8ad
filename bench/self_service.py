"""The self-service panel at scale, each case against the naive way in the same run, on real MinIO and MariaDB.

    .venv/bin/python -m bench.self_service [--objects 100000] [--services 10000] [--runs 50]

1. get_files, first page (100 keys, folders as common prefixes) of a bucket holding --objects objects: the panel's
   way (the client area's signed `Panel` call: ownership check, bucket check, one ListObjectsV2 page, a signed
   continuation token) against the naive file browser (list the whole bucket, sort, slice the first page).
2. get_users over --services services (30 days of usage each) with a filter (one plan) and a sort (peak storage,
   descending), first 100: the panel's way (the bearer-token API: one SQL query with the period aggregated in the
   database) against the naive way (per service: its client, plan and usage rows, then filter and sort in Python).
Targets (issue 11): first page under 150 ms p95; get_users under 300 ms p95.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import random
import subprocess
import sys
import time
import urllib.request
from datetime import date, timedelta
from typing import Any

from minio import Minio
from minio.commonconfig import SnowballObject

from bench.common import report, summary, timed
from rig.paths import REPO
from rig.sample_whmcs import insert_client, insert_product, insert_service
from rig.stack import Stack, running_stack

PLANS = 5


def put_objects(minio: Minio, bucket: str, count: int) -> float:
    """`count` small objects in 100 folders, plus 20 at the top; returns the seconds it took. Sent as MinIO's
    "snowball" (a tar the server extracts into objects), 10,000 per request, so seeding takes seconds, not minutes."""
    t0 = time.monotonic()

    def chunk(start: int) -> None:
        objects = [SnowballObject(f"folder-{i % 100:03d}/object-{i:07d}.txt", data=io.BytesIO(b"x"), length=1)
                   for i in range(start, min(start + 10_000, count))]  # fmt: skip
        minio.upload_snowball_objects(bucket, objects)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(chunk, range(0, count, 10_000)))
    for i in range(20):
        minio.put_object(bucket, f"top-{i:02d}.txt", io.BytesIO(b"y"), 1)
    return time.monotonic() - t0


def naive_first_page(minio: Minio, bucket: str) -> list[str]:
    names = sorted({o.object_name or "" for o in minio.list_objects(bucket, recursive=True)})
    shown: list[str] = []
    for name in names:  # folders, then files, like the panel shows them
        top = name.split("/", 1)[0] + ("/" if "/" in name else "")
        if top not in shown:
            shown.append(top)
    return shown[:100]


def bulk_insert(conn: Any, table: str, rows: list[dict[str, Any]]) -> None:
    """Rows with every NOT NULL column WHMCS defines (empty values like rig.sample_whmcs), in batches."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
            " AND TABLE_NAME = %s AND IS_NULLABLE = 'NO' AND COLUMN_DEFAULT IS NULL AND EXTRA = ''",
            (table,),
        )
        empty = {"int": 0, "tinyint": 0, "smallint": 0, "bigint": 0, "decimal": 0, "date": "0000-00-00",
                 "datetime": "0000-00-00 00:00:00", "timestamp": "0000-00-00 00:00:00", "blob": b""}  # fmt: skip
        defaults = {r["COLUMN_NAME"]: empty.get(r["DATA_TYPE"], "") for r in cur.fetchall()}
        columns = list({**defaults, **rows[0]})
        names = ", ".join(f"`{c}`" for c in columns)
        marks = ", ".join(["%s"] * len(columns))
        values = [tuple({**defaults, **row}[c] for c in columns) for row in rows]
        for i in range(0, len(values), 2000):
            cur.executemany(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", values[i : i + 2000])  # noqa: S608


def seed_users(stack: Stack, services: int) -> None:
    conn = stack.db.connect("whmcs")
    with conn.cursor() as cur:
        cur.execute("INSERT IGNORE INTO tblcurrencies (id, code, prefix, suffix, format, rate, `default`)"
                    " VALUES (1, 'USD', '$', ' USD', 1, 1.0, 1)")  # fmt: skip
    for p in range(1, PLANS + 1):
        insert_product(conn, 1000 + p, f"S3 plan {p}", {1: "minio", 2: str(p * 100), 3: "GB"})
    clients = max(1, services // 5)
    bulk_insert(conn, "tblclients", [
        {"id": 100_000 + c, "firstname": f"Client{c}", "lastname": "Bench", "email": f"client{c}@example.com",
         "language": "english", "currency": 1, "datecreated": "2026-01-01", "status": "Active"}
        for c in range(clients)])  # fmt: skip
    bulk_insert(conn, "tblhosting", [
        {"id": 200_000 + s, "userid": 100_000 + s % clients, "packageid": 1000 + 1 + s % PLANS, "server": 1,
         "regdate": "2026-01-01", "billingcycle": "Monthly", "nextduedate": "2026-12-01",
         "nextinvoicedate": "2026-12-01", "domainstatus": "Active", "paymentmethod": "banktransfer"}
        for s in range(services)])  # fmt: skip
    rng = random.Random(11)
    today = date.today()
    bulk_insert(conn, "mod_s3bridge_services", [
        {"serviceid": 200_000 + s, "userid": 100_000 + s % clients, "serverid": 1, "backend": "minio",
         "username": f"{100_000 + s % clients}-{200_000 + s}", "state": "active", "used_bytes": rng.randrange(10**12)}
        for s in range(services)])  # fmt: skip
    bulk_insert(conn, "mod_s3bridge_usage_daily", [
        {"serviceid": 200_000 + s, "day": today - timedelta(days=day), "used_bytes": rng.randrange(10**12),
         "objects": 1, "buckets": 1, "sent_bytes": rng.randrange(10**10), "received_bytes": rng.randrange(10**10)}
        for day in range(30) for s in range(services)])  # fmt: skip
    conn.commit()
    conn.close()


def naive_users(stack: Stack, plan_id: int) -> list[dict[str, Any]]:
    """What a first implementation would do: per service, ask for its client, plan and usage; filter and sort here."""
    conn = stack.db.connect("whmcs")
    since = date.today().replace(day=1)
    out = []
    with conn.cursor() as cur:
        cur.execute("SELECT serviceid, username, userid FROM mod_s3bridge_services WHERE state <> 'terminated'")
        for svc in cur.fetchall():
            cur.execute("SELECT packageid, domainstatus, billingcycle FROM tblhosting WHERE id = %s",
                        (svc["serviceid"],))  # fmt: skip
            hosting = cur.fetchone()
            cur.execute("SELECT email FROM tblclients WHERE id = %s", (svc["userid"],))
            client = cur.fetchone()
            cur.execute("SELECT used_bytes, sent_bytes, received_bytes FROM mod_s3bridge_usage_daily"
                        " WHERE serviceid = %s AND day >= %s", (svc["serviceid"], since))  # fmt: skip
            days = cur.fetchall()
            if hosting is None or int(hosting["packageid"]) != plan_id:
                continue
            out.append({"s3uid": svc["username"], "email": client["email"] if client else "",
                        "peak": max((int(d["used_bytes"]) for d in days), default=0),
                        "traffic": sum(int(d["sent_bytes"]) + int(d["received_bytes"]) for d in days)})  # fmt: skip
    conn.close()
    out.sort(key=lambda u: -u["peak"])
    return out[:100]


def api_call(stack: Stack, token: str, action: str, params: dict[str, Any]) -> dict[str, Any]:
    req = urllib.request.Request(
        f"{stack.api_url}/s3/{action}",
        data=json.dumps(params).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        body: dict[str, Any] = json.loads(r.read())
    if body.get("result") != "OK":
        raise RuntimeError(body)
    return body


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--naive-runs", type=int, default=5)
    parser.add_argument("--only", choices=("files", "users"), help="run one of the two cases")
    args = parser.parse_args()

    with running_stack("bench-ss", api=True) as stack:
        db, minio = stack.db, stack.minio
        conn = db.connect("whmcs")
        options = {1: "minio", 2: "0", 3: "GB"}
        insert_client(conn, 7, "Bench", "Customer", "bench@example.com", "english")
        insert_product(conn, 1, "S3 files", options)
        insert_service(conn, 55, 7, 1, 1)
        conn.close()
        params: dict[str, Any] = {
            **stack.server_params(), "serviceid": 55, "userid": 7, "pid": 1, "username": "", "password": "",
            "clientsdetails": {"id": 7, "language": "english"}, **{f"configoption{n}": v for n, v in options.items()},
        }  # fmt: skip
        created = stack.signed_post("CreateAccount", params)
        stored = created["effects"][0]["params"]
        params.update(username=stored["serviceusername"], password=stored["servicepassword"])
        rows: dict[str, dict[str, float]] = {}
        if args.only != "users":
            bucket = f"{params['username']}--big"
            s3 = Minio(minio.endpoint, minio.access_key, minio.secret_key, secure=False)
            s3.make_bucket(bucket)
            seconds = put_objects(s3, bucket, args.objects)
            print(f"{args.objects} objects stored in {seconds:.0f} s")

            args_ = {"s3uid": params["username"], "bucket_name": bucket, "max_keys": 100}
            panel = {**params, "bridge_client_id": 7, "bridge_panel_action": "get_files", "bridge_panel_args": args_}
            first = stack.signed_post("Panel", panel)["result"]["envelope"]
            assert first["result"] == "OK", first
            assert [f["name"] for f in first["files"]] == naive_first_page(s3, bucket)  # the same page both ways
            rows |= {
                f"get_files first page, panel ({args.objects} objects)": summary(
                    timed(lambda: stack.signed_post("Panel", panel), args.runs)),
                f"get_files first page, naive full listing ({args.objects} objects)": summary(
                    timed(lambda: naive_first_page(s3, bucket), args.naive_runs, warmup=1)),
            }  # fmt: skip
        if args.only != "files":
            t0 = time.monotonic()
            seed_users(stack, args.services)
            print(f"{args.services} services with 30 days of usage seeded in {time.monotonic() - t0:.0f} s")
            token = subprocess.run(
                [sys.executable, "-m", "bridge", "token", "create", "--admin", "--config", str(stack.config)],
                check=True,
                capture_output=True,
                text=True,
                cwd=REPO,
            ).stdout.strip()
            plan = 1000 + 2
            query = {"plan_id": plan, "order": "total_storage_peak_gb", "order_by": "DESC", "limit": 100}
            panel_users = api_call(stack, token, "get_users", query)["s3_users"]
            naive = naive_users(stack, plan)
            assert [u["s3uid"] for u in panel_users] == [u["s3uid"] for u in naive]  # the same answer both ways
            rows[f"get_users filter+sort, panel API ({args.services} services)"] = summary(
                timed(lambda: api_call(stack, token, "get_users", query), args.runs)
            )
            rows[f"get_users filter+sort, naive per service ({args.services} services)"] = summary(
                timed(lambda: naive_users(stack, plan), args.naive_runs, warmup=1)
            )

    report("self_service" + (f"_{args.only}" if args.only else ""), rows, verdict(rows))
    return 0


def verdict(rows: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Ratios against the naive way, and the issue's targets."""
    out: dict[str, Any] = {"targets": "get_files p95 < 150 ms; get_users p95 < 300 ms"}
    for name, target in (("get_files", 150), ("get_users", 300)):
        mine = [v for k, v in rows.items() if k.startswith(name) and "naive" not in k]
        naive = [v for k, v in rows.items() if k.startswith(name) and "naive" in k]
        if mine and naive:
            out[f"{name} naive/panel median ratio"] = round(naive[0]["median_ms"] / mine[0]["median_ms"], 1)
            out[f"{name} target met"] = mine[0]["p95_ms"] < target
    return out


if __name__ == "__main__":
    sys.exit(main())
