"""The storage servers the meter may act on, also after a restart.

The daemon keeps no storage credentials in its config: they arrive with every module call, and the server directory
remembers the latest per server id in memory. The meter acts on its own (a limit crossed in the audit stream), so it
also keeps them sealed in the database (`mod_s3bridge_meter_servers`, AES-GCM keyed from the daemon's secrets, bound
to the server id): after a restart, whichever daemon MinIO posts to opens them and enforces at once instead of
waiting for WHMCS's next call for that server. Written only when a server's params change; never logged.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict

from bridge.backends.base import StorageBackend
from bridge.backends.directory import ServerDirectory
from bridge.domain.params import ServerParams
from bridge.domain.sealing import SecretBox
from bridge.logs import get_logger
from bridge.whmcs.meter_store import MeterStore

PURPOSE = b"meter-servers"
MISS_TTL = 5.0  # a server id with nothing stored is looked up again at most this often
log = get_logger("s3bridge.meter")


def _context(server_id: int) -> bytes:
    return b"server:%d" % server_id


def to_text(p: ServerParams) -> str:
    return json.dumps(asdict(p), sort_keys=True)


def from_text(text: str) -> ServerParams:
    d = json.loads(text)
    d["options"] = tuple((str(k), str(v)) for k, v in d.get("options", ()))
    return ServerParams(**d)


class KnownServers:
    def __init__(self, directory: ServerDirectory, store: MeterStore, box: SecretBox) -> None:
        self.directory, self.store, self.box = directory, store, box
        self._saved: dict[int, str] = {}  # server id -> params text last written (or read) by this daemon
        self._missed: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        directory.observers.append(self.learned)

    def learned(self, p: ServerParams) -> None:
        """The directory saw a module call for a server: store its params if they changed (in the background)."""
        if p.server_id is None or self._saved.get(p.server_id) == to_text(p):
            return
        try:
            task = asyncio.get_running_loop().create_task(self._save(p))
        except RuntimeError:
            return  # no loop (a synchronous caller): the next call stores them
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _save(self, p: ServerParams) -> None:
        assert p.server_id is not None
        text = to_text(p)
        self._saved[p.server_id] = text
        try:
            await self.store.save_server(p.server_id, self.box.seal(text, _context(p.server_id)))
        except Exception as e:  # the next change or call tries again
            self._saved.pop(p.server_id, None)
            log.warning("meter_server_not_stored", server_id=p.server_id, error=type(e).__name__)

    async def params(self, server_id: int) -> ServerParams | None:
        p = self.directory.params(server_id)
        if p is not None:
            return p
        now = time.monotonic()
        if now - self._missed.get(server_id, -MISS_TTL) < MISS_TTL:
            return None
        sealed = await self.store.load_server(server_id)
        text = None if sealed is None else self.box.open(sealed, _context(server_id))
        if text is None:
            self._missed[server_id] = now
            return None
        p = from_text(text)
        self._saved[server_id] = text
        self.directory(p)  # remembered in memory from now on
        log.info("meter_server_restored", server_id=server_id)
        return p

    async def backend(self, server_id: int) -> StorageBackend | None:
        p = await self.params(server_id)
        return None if p is None else self.directory.backend(server_id)

    async def close(self) -> None:
        for t in list(self._tasks):
            await asyncio.wait([t], timeout=5)
