"""The operator's view at scale: reconcile of one server against a per-service check in the same run, and a metrics
scrape.

    .venv/bin/python -m bench.fleet [--services 10000] [--runs 3] [--scrapes 200] [--history-days 31]

--history-days 365 gives each service a year of daily usage rows, as the product's default retention keeps them (the
Accounts page's 30-day growth must not read them all).

Setup: MariaDB with the WHMCS tables and N Active services of one product on one server (tblhosting rows and the
daemon's records), the daemon (real, over the signed channel), and the ostor gateway emulator (a stand-in: no
Virtuozzo cluster runs here) holding one user per service, 1 % of them disabled while WHMCS says Active and 1 %
extra users nobody holds (the drift to find). MinIO is not used at this size: each MinIO user costs an Argon2id key
derivation (~64 MiB) to create, so 10,000 of them take longer than the bench; reconcile's MinIO listing is one
ListUsers call either way.

The emulator's by-email lookup walks its users (a list scan a real gateway's indexed query does not do): the bench
gives it a dict index, so the per-service side is not slowed by the stand-in.

Timed:
- reconcile: the daemon's `Reconcile` (one query, one product read, one user listing, one bucket listing, the rules,
  the drift rows written).
- per-service check: what a per-account module does to learn the same: one user query per service (16 at once),
  compared with WHMCS's status in the bench process.
- scrape: GET /metrics on the daemon's metrics listener, p95 over --scrapes.
- Accounts page: the console's Accounts page (top consumers, over-limit and suspended lists, and a search by client
  name matching every service) rendered by the daemon over the signed channel, p95 over --pages (the addon's PHP
  only forwards it).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import summary, write_results
from bridge.backends.registry import Backends
from bridge.config import BackendSettings
from bridge.domain.params import ServerParams
from rig.ostor_emulator import OstorEmulator, User
from rig.sample_whmcs import insert_client, insert_product, insert_server, insert_service
from rig.stack import running_stack

DOMAIN = "s3bridge.invalid"


def start_gateway() -> tuple[OstorEmulator, asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    emulator = asyncio.run_coroutine_threadsafe(OstorEmulator().start(), loop).result(30)
    state = emulator.state
    index: dict[str, User] = {u.email: u for u in state.users.values()}
    original = state.create_user

    def create_user(email: str, **kw: Any) -> User:
        user = original(email, **kw)
        index.setdefault(email, user)
        return user

    def user_by_email(email: str) -> User:
        user = index.get(email)
        if user is None:
            return original_lookup(email)  # the emulator's own error
        return user

    original_lookup = state.user_by_email
    state.create_user = create_user  # type: ignore[method-assign]
    state.user_by_email = user_by_email  # type: ignore[method-assign]
    return emulator, loop


def populate(stack: Any, emulator: OstorEmulator, n: int, serverid: int, history_days: int = 31) -> list[str]:
    conn = stack.db.connect("whmcs")
    insert_server(conn, serverid, "ostor", "127.0.0.1", emulator.port, emulator.access_key, "x",
                  accesshash="backend=ostor")  # fmt: skip
    insert_product(conn, 1, "S3 on ostor", {1: "ostor"})
    insert_client(conn, 1, "Bench", "Client", "bench@example.com")
    usernames = []
    records = []
    for i in range(n):
        sid = 1000 + i
        insert_service(conn, sid, 1, 1, serverid, "Active")
        name = f"1-{sid}"
        usernames.append(name)
        user = emulator.state.create_user(f"{name}@{DOMAIN}")
        if i % 100 == 0:
            user.state = "disabled"  # WHMCS says Active: a state mismatch to find
        records.append((sid, 1, serverid, "ostor", name, "active", "standard", "", user.keys[0].access_key, "",
                        user.user_id, (i * 7919) % 100_003 * 1024 * 1024, int(i % 50 == 0)))  # fmt: skip
    for i in range(n // 100):
        emulator.state.create_user(f"orphan-{i}@{DOMAIN}")
    with conn.cursor() as cur:
        for i in range(0, len(records), 1000):
            cur.executemany(
                "INSERT INTO mod_s3bridge_services (serviceid, userid, serverid, backend, username, state, policy,"
                " grp, access_key, pending_access_key, backend_user_id, used_bytes, over_limit) VALUES"
                " (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                records[i : i + 1000],
            )
        # The Accounts page's traffic (this month) and 30-day growth lists read these: a month of daily rows each.
        today = datetime.now(UTC).date()
        days = [today - timedelta(days=d) for d in range(31)]
        for i in range(0, n, 100):
            sids = range(1000 + i, 1000 + min(i + 100, n))
            cur.executemany(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets) VALUES"
                " (%s, %s, %s, 1, 1)",
                [(sid, day, (sid * 7919 + k * 4099) % 100_003 * 1024) for sid in sids for k, day in enumerate(days)],
            )
            cur.executemany(
                "INSERT INTO mod_s3bridge_traffic_daily (serviceid, day, bytes_in, bytes_out) VALUES (%s, %s, %s, %s)",
                [(sid, day, sid * 1000, sid * 3000) for sid in sids for day in days if day.month == today.month],
            )
        # Older history, as a year's retention (the product default) keeps it: copies of the month, a month back each.
        for back in range(31, history_days, 31):
            cur.execute(
                "INSERT INTO mod_s3bridge_usage_daily (serviceid, day, used_bytes, objects, buckets)"
                " SELECT serviceid, day - INTERVAL %s DAY, used_bytes, 1, 1 FROM mod_s3bridge_usage_daily"
                " WHERE day >= %s AND day > %s - INTERVAL %s DAY",
                (back, days[-1], today, history_days - back),
            )
    conn.close()
    return usernames


async def per_service_check(server: ServerParams, usernames: list[str]) -> int:
    """One user query per service, 16 at once; returns how many disagree with WHMCS (all Active there)."""
    backends = Backends(BackendSettings(max_concurrency=16))
    backend = backends(server)
    slots = asyncio.Semaphore(16)
    mismatched = 0

    async def one(name: str) -> None:
        nonlocal mismatched
        async with slots:
            info = await backend.account_info(name)
        if info is None or not info.enabled:
            mismatched += 1

    try:
        await asyncio.gather(*(one(n) for n in usernames))
    finally:
        await backends.close()
    return mismatched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--services", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scrapes", type=int, default=200)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--history-days", type=int, default=31, help="days of usage history per service (365: a year)")
    args = parser.parse_args()
    serverid = 7
    emulator, loop = start_gateway()
    try:
        with running_stack("bench-fleet", fleet=True) as stack:
            usernames = populate(stack, emulator, args.services, serverid, args.history_days)
            params = {"serverid": serverid, "serverhostname": "127.0.0.1", "serverport": emulator.port,
                      "serversecure": "", "serverusername": emulator.access_key,
                      "serverpassword": emulator.secret_key, "serveraccesshash": "backend=ostor"}  # fmt: skip
            reconcile_ms, result = [], {}
            for _ in range(args.runs):
                t0 = time.perf_counter()
                result = stack.signed_post("Reconcile", params)["result"]
                reconcile_ms.append((time.perf_counter() - t0) * 1000)
            server = ServerParams.from_params(params)
            per_service_ms, mismatched = [], 0
            for _ in range(args.runs):
                t0 = time.perf_counter()
                mismatched = asyncio.run(per_service_check(server, usernames))
                per_service_ms.append((time.perf_counter() - t0) * 1000)
            page_ms = []
            for i in range(args.pages):
                query = "Bench" if i % 2 else ""  # every other page searches (the client's name matches all)
                t0 = time.perf_counter()
                html = stack.signed_post("FleetPage", {"bridge_admin_id": 1, "bridge_page": "accounts",
                                                       "bridge_search": query})["result"]["html"]  # fmt: skip
                page_ms.append((time.perf_counter() - t0) * 1000)
            assert all(f"s3b-{t}" in html for t in ("top", "traffic", "growth"))
            scrape_ms = []
            for _ in range(args.scrapes):
                t0 = time.perf_counter()
                with urllib.request.urlopen(stack.metrics_url, timeout=5) as r:
                    r.read()
                scrape_ms.append((time.perf_counter() - t0) * 1000)
    finally:
        asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)

    rows = {
        f"reconcile, {args.services} services": summary(reconcile_ms),
        f"per-service check, {args.services} services": summary(per_service_ms),
        "metrics scrape": summary(scrape_ms),
        f"Accounts page, {args.services} services": summary(page_ms),
    }
    found = result["counts"]
    speedup = round(rows[f"per-service check, {args.services} services"]["median_ms"]
                    / rows[f"reconcile, {args.services} services"]["median_ms"], 1)  # fmt: skip
    width = max(len(k) for k in rows)
    print(f"\nfleet ({args.services} services on one ostor server, {args.history_days} days of usage history)")
    print(f"{'case':<{width}}  {'runs':>5}  {'median ms':>10}  {'p95 ms':>9}  {'max ms':>9}")
    for case, s in rows.items():
        print(f"{case:<{width}}  {s['runs']:>5}  {s['median_ms']:>10.1f}  {s['p95_ms']:>9.1f}  {s['max_ms']:>9.1f}")
    expected = args.services // 100
    print(f"reconcile found {found} (expected {expected} state mismatches and {expected} orphans);")
    print(f"the per-service check found {mismatched} mismatches; reconcile is {speedup}x faster")
    write_results(
        "fleet",
        {
            "services": args.services,
            "history_days": args.history_days,
            "rows": rows,
            "speedup": speedup,
            "found": found,
            "per_service_found": mismatched,
        },
    )


if __name__ == "__main__":
    main()
