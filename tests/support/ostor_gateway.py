"""The ostor gateway emulator (a stand-in: no Virtuozzo cluster runs here) on its own event loop in a thread, with
what `tests.support.whmcs_role.Service` expects of a storage server, for tests whose calls block (the shim, the
command line)."""

from __future__ import annotations

import asyncio
import threading

from rig.ostor_emulator import OstorEmulator


class Gateway:
    """The emulator on its own loop in a thread, with what `Service` expects of a storage server."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.emulator = asyncio.run_coroutine_threadsafe(OstorEmulator().start(), self.loop).result(10)
        self.port, self.endpoint = self.emulator.port, self.emulator.endpoint
        self.access_key, self.secret_key = self.emulator.access_key, self.emulator.secret_key

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.emulator.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
