"""Audit ingest: MinIO's audit webhook posts every S3 request to the audit listener (bridge.web.audit_listener).

`Meter.submit` queues a POST's events and returns once they are committed; a background task writes whatever is
queued as one batch (group commit: what arrives during one write goes into the next): ids, traffic per service and
day, disk deltas per service and minute, in one transaction (bridge.whmcs.meter_store). A group that fails is written
again one POST at a time, so a POST that cannot be written never holds back the others (each gets its own answer;
MinIO resends only its own). Services whose stored bytes moved go to the limit decider (bridge.functions.meter.decider).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from datetime import UTC, timedelta

from bridge.config import MeterConfig
from bridge.domain.audit_events import AuditEvent, AuditPost
from bridge.domain.fleet import MeterServerState, event_time
from bridge.domain.traffic import Attribution, Billing, KnownObjects, Rollup, rollup
from bridge.functions.context import Resources
from bridge.functions.meter.decider import LimitDecider
from bridge.functions.meter.servers import KnownServers
from bridge.logs import get_logger

log = get_logger("s3bridge.meter")

USERNAMES_TTL = 0.25  # an unknown bucket owner reloads a server's usernames at most this often
PRUNE_EVERY = 600.0


@dataclass
class _Pending:
    server_id: int
    events: list[AuditEvent]
    done: asyncio.Future[int]


@dataclass
class MeterStats:
    batches: int = 0
    events: int = 0
    counted: int = 0
    duplicates: int = 0
    unattributed: int = 0
    dropped: int = 0  # entries that failed a check (malformed or impossible): never counted
    refused: int = 0  # requests refused to someone else: billed to nobody
    own: int = 0  # the daemon's own requests (the server's admin key): not billed
    last_flush_s: float = 0.0
    errors: int = 0


class Meter:
    def __init__(self, resources: Resources, config: MeterConfig, servers: KnownServers, decider: LimitDecider) -> None:
        self.resources = resources
        self.config = config
        self.servers = servers
        self.decider = decider
        self.store = decider.store
        self.known = KnownObjects()
        self.stats = MeterStats()
        self._queue: list[_Pending] = []
        self._queued_events = 0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._attributions: dict[int, tuple[float, Attribution]] = {}
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0
        self.by_server: dict[int, MeterServerState] = {}  # the fleet console's per-server figures (heartbeat)

    @property
    def queued_events(self) -> int:
        """Events received and not yet written (the ingest lag, in events)."""
        return self._queued_events

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="s3bridge-meter")

    async def close(self) -> None:
        """Write what is queued, then stop (the listener stops accepting first)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._queue:
            await self._flush()
        await self.decider.close()
        await self.servers.close()

    def note_dropped(self, server_id: int, post: AuditPost) -> None:
        """Entries the decoder dropped: counted, and one log line per POST naming the first reason (never a value)."""
        if post.dropped:
            self.stats.dropped += len(post.dropped)
            self.by_server.setdefault(server_id, MeterServerState()).dropped += len(post.dropped)
            first = post.dropped[0]
            log.warning(
                "audit_entries_dropped",
                server_id=server_id,
                dropped=len(post.dropped),
                kept=len(post.events),
                first_line=first.line,
                reason=first.reason,
            )

    async def submit(self, server_id: int, events: list[AuditEvent]) -> int:
        """Queue one POST's events; returns how many were new once they are committed (raises if the write failed,
        so MinIO keeps them and sends them again)."""
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(server_id, events, fut))
        self._queued_events += len(events)
        self._wake.set()
        if self._queued_events >= self.config.flush_events:
            self._full.set()
        return await fut

    async def _run(self) -> None:
        """Group commit: one writer; whatever arrives while it writes goes into the next batch. With
        `flush_interval` > 0 a batch also waits that long for more (or until `flush_events` are queued). Nothing
        here may end the loop: a dead writer would leave every POST waiting."""
        while True:
            await self._wake.wait()
            if self.config.flush_interval > 0 and self._queued_events < self.config.flush_events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.config.flush_interval)
            self._wake.clear()
            self._full.clear()
            try:
                await self._flush()
                now = time.monotonic()
                if now - self._last_prune > PRUNE_EVERY:
                    self._last_prune = now
                    self.decider.spawn(self._prune())  # beside the writer, never in its way
            except Exception as e:  # _flush answers its POSTs itself; this is a bug's last guard
                self.stats.errors += 1
                log.error("meter_writer_error", error=str(e))

    async def _flush(self) -> None:
        batch, self._queue, self._queued_events = self._queue, [], 0
        by_server: dict[int, list[_Pending]] = {}
        for p in batch:
            by_server.setdefault(p.server_id, []).append(p)
        for server_id, items in by_server.items():
            started = time.perf_counter()
            try:
                await self._commit_group(server_id, items)
            except Exception as e:
                if len(items) == 1:
                    self._failed(server_id, items, e)
                    continue
                # One POST must not fail the others: write them one by one, each answered on its own.
                for p in items:
                    try:
                        await self._commit_group(server_id, [p])
                    except Exception as one:
                        self._failed(server_id, [p], one)
            self.stats.last_flush_s = time.perf_counter() - started

    def _failed(self, server_id: int, items: list[_Pending], e: Exception) -> None:
        self.stats.errors += 1
        log.warning("meter_batch_failed", server_id=server_id, posts=len(items), error=str(e))
        for p in items:
            if not p.done.done():
                p.done.set_exception(e)

    async def _commit_group(self, server_id: int, items: list[_Pending]) -> None:
        new = await self._commit(server_id, [e for p in items for e in p.events])
        for p in items:
            if not p.done.done():
                p.done.set_result(new)

    async def _attribution(self, server_id: int, events: list[AuditEvent]) -> Attribution:
        cached = self._attributions.get(server_id)
        now = time.monotonic()
        if cached is not None:
            loaded_at, who = cached
            if now - loaded_at < USERNAMES_TTL or all(who.service_of(e) is not None for e in events):
                if not who.admin_keys:  # the server's admin key, once known (memory; the database every few s)
                    server = await self.servers.params(server_id)
                    if server is not None:
                        who = Attribution(who.by_name, (server.access_key,))
                        self._attributions[server_id] = (loaded_at, who)
                return who
        server = await self.servers.params(server_id)
        who = Attribution(await self.store.usernames_of_server(server_id), (server.access_key,) if server else ())
        self._attributions[server_id] = (now, who)
        return who

    async def _commit(self, server_id: int, events: list[AuditEvent]) -> int:
        who = await self._attribution(server_id, events)
        mine: list[tuple[int, AuditEvent, Billing]] = []
        for e in events:
            sid = who.service_of(e)
            if sid is not None:
                mine.append((sid, e, who.billing(sid, e)))
        self.stats.unattributed += len(events) - len(mine)
        r: Rollup = await self.store.commit_batch(server_id, mine, lambda fresh: rollup(fresh, self.known))
        self.stats.batches += 1
        self.stats.events += len(events)
        self.stats.counted += r.events
        self.stats.duplicates += len(mine) - r.events
        self.stats.refused += r.refused
        self.stats.own += r.own
        times = [t for t in (event_time(e.time) for e in events) if t is not None]
        state = self.by_server.setdefault(server_id, MeterServerState())
        state.written(max(times, default=None), self.resources.now())
        # Services whose bytes moved, and those that deleted anything (the estimate may not know the size, but a
        # limited tenant freeing space must not wait for the next scan).
        touched = {sid for sid, _ in r.disk} | {sid for (sid, _), t in r.traffic.items() if t.delete}
        self.decider.touched(server_id, touched, r.unsized)
        return r.events

    async def _prune(self) -> None:
        now = self.resources.now().astimezone(UTC).replace(tzinfo=None)
        try:
            await self.store.prune(self.config.dedupe_hours, now - timedelta(days=35))
        except Exception as e:  # the next round tries again
            log.warning("meter_prune_failed", error=str(e))
