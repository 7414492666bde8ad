"""ostor usage: the gateway's own bucket sizes (what `usage()` reads now) against a listing with the account's keys
(what it did before issue 21), on the gateway emulator (a stand-in: no Virtuozzo cluster runs here).

    .venv/bin/python -m bench.ostor_usage [--objects 2000,10000] [--runs 5]

For each N: one account with 2 buckets holding N objects between them. Timed: `usage()` (one `?ostor-users` and one
`?ostor-buckets` request with the system user's keys), and the listing (ListObjectVersions of each bucket with the
account's keys, 1000 keys a page). Also counted: the requests the gateway's statistics bill to the customer for
one reading of usage (the listing's pages; 0 now). Both must agree on the bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from minio import Minio

from bench.common import STARTED, summary, write_results
from bridge.backends.ostor.clients import OstorClients
from bridge.backends.ostor.driver import OstorBackend
from bridge.backends.ostor.settings import OstorSettings
from bridge.backends.s3.data import measure
from bridge.config import BackendSettings
from bridge.domain.params import ServerParams
from rig.ostor_emulator import OstorEmulator


async def one_size(objects: int, runs: int) -> dict[str, Any]:
    async with OstorEmulator() as emu:
        server = ServerParams("127.0.0.1", emu.port, False, emu.access_key, emu.secret_key)
        clients = OstorClients(BackendSettings())
        backend = OstorBackend(server, clients, OstorSettings())
        try:
            name = "bench-ostor-usage"
            buckets = (f"{name}--a", f"{name}--b")
            user = emu.state.create_user(backend.email(name))
            for b in buckets:
                emu.state.create_bucket(b, user)
            for i in range(objects):  # written into the emulator's state directly: the bench times reading only
                emu.state.put_object(emu.state.buckets[buckets[i % 2]], f"obj/{i:07d}", b"x" * 100)
            pair = user.keys[0]
            s3 = Minio(emu.endpoint, access_key=pair.access_key, secret_key=pair.secret_key, secure=False)

            def listing() -> int:
                return sum(measure(s3, b, time.monotonic() + 600)[0] for b in buckets)

            sizes, listed = [], []
            for _ in range(runs):
                t = time.perf_counter()
                usage = await backend.usage(name, budget_s=600)
                sizes.append((time.perf_counter() - t) * 1000)
                emu.state.traffic.clear()
                t = time.perf_counter()
                total = await asyncio.to_thread(listing)
                listed.append((time.perf_counter() - t) * 1000)
                billed = sum(c.list for (uid, _, _), c in emu.state.traffic.items() if uid == user.user_id)
                assert total == usage.bytes == objects * 100, (total, usage.bytes)
            return {
                "objects": objects,
                "sizes": summary(sizes),
                "listing": summary(listed),
                "billed_to_customer_per_reading": {"sizes": 0, "listing": billed},
            }
        finally:
            await clients.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", default="2000,10000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    rows = [asyncio.run(one_size(int(n), args.runs)) for n in args.objects.split(",")]
    print(f"{'objects':>8} {'sizes, median':>14} {'listing, median':>16} {'billed: sizes':>14} {'billed: listing':>16}")
    for r in rows:
        billed = r["billed_to_customer_per_reading"]
        print(
            f"{r['objects']:>8} {r['sizes']['median_ms']:>11.1f} ms {r['listing']['median_ms']:>13.1f} ms"
            f" {billed['sizes']:>14} {billed['listing']:>16}"
        )
    write_results("ostor_usage", {"rows": rows}, since=STARTED)


if __name__ == "__main__":
    main()
