"""Limit decisions within seconds, on the estimate the audit stream keeps.

After each batch, every service whose stored bytes grew or shrank gets the usage cron's own limit decision on its
estimate (last scan or listing + written since - known deletes): over the limit, the limited policy applies now.
The emails stay with the cron (every 5 minutes): it sees the same estimate, and its once-per-crossing flags send the
suspension email once, through WHMCS. An estimate that locks a service is checked at once by an exact listing when
the service is small enough to list within the listing budget; the listing becomes the new figure, so an estimate
that was too high (deletes of older objects it could not see) frees the customer within seconds, and any other
estimate is corrected by the next scan. A write of unknown size (a copy of an object the meter never saw written)
gets such a listing too, whatever the policy: the estimate never guesses low.

Decisions read the time from `Resources.now` (the clock is passed in); `time.monotonic` only spaces out listings.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from bridge.backends.capabilities import StorageQuotas
from bridge.domain.product_settings import ProductSettings, parse_product
from bridge.domain.traffic import Figure
from bridge.domain.usage_rules import LimitState, decide
from bridge.errors import BridgeError
from bridge.functions.call import change_policy
from bridge.functions.context import Resources
from bridge.functions.meter.servers import KnownServers
from bridge.logs import get_logger
from bridge.whmcs.meter_store import MeterStore
from bridge.whmcs.usage_store import ServiceRow

log = get_logger("s3bridge.meter")

VERIFY_EVERY = 2.0  # seconds between two exact listings of one service
CHUNK = 500


@dataclass
class DeciderStats:
    decisions: int = 0
    listings: int = 0
    errors: int = 0
    policy_changes: list[tuple[int, str, str]] = field(default_factory=list)  # (serviceid, policy, figure source)


class LimitDecider:
    def __init__(self, resources: Resources, servers: KnownServers, store: MeterStore) -> None:
        self.resources, self.servers, self.store = resources, servers, store
        self.stats = DeciderStats()
        self._touched: dict[int, set[int]] = {}  # server id -> services whose bytes moved, not yet decided
        self._measure: dict[int, set[int]] = {}  # server id -> services to list whatever the policy
        self._deciding: set[int] = set()
        self._listing: set[int] = set()
        self._listed: dict[int, float] = {}
        self._again: dict[int, tuple[int, ServiceRow, ProductSettings]] = {}  # asked for while a listing ran
        self._tasks: set[asyncio.Task[None]] = set()

    def touched(self, server_id: int, serviceids: set[int], measure: set[int] | None = None) -> None:
        """Services whose stored bytes moved (`measure`: by an amount the estimate does not know)."""
        measure = measure or set()
        if not serviceids and not measure:
            return
        self._touched.setdefault(server_id, set()).update(serviceids | measure)
        if measure:
            self._measure.setdefault(server_id, set()).update(measure)
        if server_id not in self._deciding:
            self._deciding.add(server_id)
            self.spawn(self._decide_loop(server_id))

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()

    async def _decide_loop(self, server_id: int) -> None:
        """One decider per server: the services touched meanwhile are decided together, in chunks."""
        try:
            while self._touched.get(server_id):
                ids = sorted(self._touched.pop(server_id))
                measure = self._measure.pop(server_id, set())
                for start in range(0, len(ids), CHUNK):
                    await self._decide(server_id, set(ids[start : start + CHUNK]), measure)
        finally:
            self._deciding.discard(server_id)

    async def _decide(self, server_id: int, serviceids: set[int], measure: set[int]) -> None:
        """The cron's decision rule on the estimate, for services whose stored bytes moved."""
        try:
            backend = await self.servers.backend(server_id)
            if backend is None or isinstance(backend, StorageQuotas):
                return  # never called for, and nothing stored (the cron decides), or the server enforces quotas
            store = self.resources.stores.usage
            rows = {r.serviceid: r for r in await store.services_of_server(server_id, among=serviceids)}
            catalog = await store.products(r.packageid for r in rows.values())
            figures = await self.store.figures(s for s in serviceids if s in rows)
            for sid, figure in figures.items():
                entry = catalog.get(rows[sid].packageid)
                try:
                    product = parse_product(entry.params if entry else {})
                except BridgeError:
                    continue  # the cron reports misconfigured products
                await self._apply(server_id, rows[sid], product, figure)
                if rows[sid].state.policy == "limited" or sid in measure:
                    self._verify_soon(server_id, rows[sid], product)
        except Exception as e:
            self.stats.errors += 1
            log.warning("meter_decision_failed", server_id=server_id, error=str(e))

    async def _apply(self, server_id: int, row: ServiceRow, product: ProductSettings, figure: Figure) -> None:
        d = decide(row.state, figure.bytes, product.disk_limit_bytes, product.warning_percent)
        if d.apply_policy is None:
            return
        backend = await self.servers.backend(server_id)
        if backend is None:
            return
        policies = product.policy_documents(row.username)
        if not await change_policy(self.resources, backend, row.serviceid, row.username, d.apply_policy, policies):
            return  # terminated (or being created) meanwhile: nothing changed
        # Only the policy changes here; the crossing flags stay for the cron, which sends the email once.
        state = LimitState(policy=d.state.policy, warned=row.state.warned, over_limit=row.state.over_limit)
        await self.resources.records.save_limit_state(row.serviceid, state)
        await self.resources.records.record_decisions([(row.serviceid, figure)], self.resources.now())
        self.stats.decisions += 1
        self.stats.policy_changes.append((row.serviceid, d.apply_policy, figure.source))
        log.info(
            "meter_policy",
            serviceid=row.serviceid,
            policy=d.apply_policy,
            figure=figure.source,
            used=figure.bytes,
            limit=product.disk_limit_bytes,
        )
        if d.apply_policy == "limited" and figure.source == "estimate":
            self._verify_soon(server_id, row, product)

    def _verify_soon(self, server_id: int, row: ServiceRow, product: ProductSettings) -> None:
        """At most one listing per service at a time, and one per VERIFY_EVERY seconds: one asked for sooner is
        run when the interval is over, not dropped."""
        now = time.monotonic()
        if row.serviceid in self._listing:
            self._again[row.serviceid] = (server_id, row, product)  # that listing may have started too early
            return
        self._listing.add(row.serviceid)
        wait = VERIFY_EVERY - (now - self._listed.get(row.serviceid, -VERIFY_EVERY))
        self.spawn(self._verify(server_id, row, product, max(0.0, wait)))

    async def _verify(self, server_id: int, row: ServiceRow, product: ProductSettings, wait: float) -> None:
        """List the service now (within the budget) and decide again on the exact bytes, which become the figure
        the estimate counts from."""
        try:
            if wait:
                await asyncio.sleep(wait)
            self._listed[row.serviceid] = time.monotonic()
            backend = await self.servers.backend(server_id)
            if backend is None:
                return
            started = self.resources.now()
            usage = await backend.usage(row.username, budget_s=self.resources.usage_budget_s)
            self.stats.listings += 1
            if not usage.exact:
                return  # too big to list in the budget: the next scan reconciles
            await self.resources.records.set_listing(row.serviceid, usage.bytes, started)
            fresh = await self.resources.stores.usage.services_of_server(server_id, row.serviceid)
            figures = await self.store.figures([row.serviceid])
            if fresh and row.serviceid in figures:
                records = self.resources.records
                await records.record_decisions([(row.serviceid, figures[row.serviceid])], self.resources.now())
                await self._apply(server_id, fresh[0], product, figures[row.serviceid])
        except Exception as e:  # the cron decides again within 5 minutes
            self.stats.errors += 1
            log.warning("meter_listing_failed", serviceid=row.serviceid, error=str(e))
        finally:
            self._listing.discard(row.serviceid)
            again = self._again.pop(row.serviceid, None)
            if again is not None:
                self._verify_soon(*again)
