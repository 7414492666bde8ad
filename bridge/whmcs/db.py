"""The WHMCS MySQL/MariaDB database: a small pool of pymysql connections used from worker threads.

pymysql is blocking; each unit of work runs in the pool's own thread executor with one connection, inside one
transaction (committed when the function returns, rolled back when it raises). Every query is parameterized.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

import pymysql
import pymysql.cursors
from pymysql.connections import Connection

from bridge.config import DatabaseConfig
from bridge.errors import DatabaseError

T = TypeVar("T")
RETRY_CODES = (1213, 1205)  # ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
RETRIES = 4
if TYPE_CHECKING:
    Conn = Connection[pymysql.cursors.DictCursor]
else:
    Conn = Connection


def connect(cfg: DatabaseConfig) -> Conn:
    try:
        return pymysql.connect(
            host=cfg.host,
            port=cfg.port,
            unix_socket=cfg.unix_socket,
            user=cfg.user,
            password=cfg.password,
            database=cfg.database,
            charset="utf8mb4",
            autocommit=False,
            connect_timeout=int(cfg.connect_timeout),
            cursorclass=pymysql.cursors.DictCursor,
        )
    except pymysql.MySQLError as e:
        where = f"unix:{cfg.unix_socket}" if cfg.unix_socket else f"{cfg.host}:{cfg.port}"
        raise DatabaseError(f"WHMCS database {cfg.database} at {where} is unavailable: {e.args[-1]}") from None


class Database:
    def __init__(self, cfg: DatabaseConfig) -> None:
        self.cfg = cfg
        self._idle: queue.LifoQueue[Conn] = queue.LifoQueue()
        self._executor = ThreadPoolExecutor(max_workers=cfg.pool_size, thread_name_prefix="s3bridge-db")

    def _work(self, fn: Callable[[Conn], T]) -> T:
        """One transaction; a deadlock or lock wait timeout re-issues it from the start, as MySQL says to (the
        rolled-back transaction left nothing behind)."""
        for attempt in range(1, RETRIES + 1):
            try:
                return self._once(fn)
            except pymysql.MySQLError as e:
                if not (e.args and e.args[0] in RETRY_CODES) or attempt == RETRIES:
                    raise
                time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 - jitter, not a secret
        raise AssertionError("unreachable")

    def _once(self, fn: Callable[[Conn], T]) -> T:
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = connect(self.cfg)
        else:
            try:
                conn.ping(reconnect=False)  # a dropped connection is replaced, not revived (pymysql deprecates that)
            except pymysql.MySQLError:
                with contextlib.suppress(pymysql.MySQLError):
                    conn.close()
                conn = connect(self.cfg)
        try:
            result = fn(conn)
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except pymysql.MySQLError:
                conn.close()
                raise
            self._idle.put(conn)
            raise
        self._idle.put(conn)
        return result

    async def run(self, fn: Callable[[Conn], T]) -> T:
        """Run `fn(conn)` in one transaction on a pooled connection, off the event loop."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._work, fn)
        except pymysql.MySQLError as e:
            raise DatabaseError(f"WHMCS database query failed: {e.args[-1]}") from e

    async def ping(self) -> None:
        def _ping(conn: Conn) -> None:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")

        await self.run(_ping)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                break
            except pymysql.MySQLError:
                continue
