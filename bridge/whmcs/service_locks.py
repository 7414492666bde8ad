"""Per-service locks shared by every daemon on one WHMCS database: MySQL/MariaDB named locks (GET_LOCK).

Calls for one service run one at a time across all daemons; calls for different services run in parallel. Inside one
daemon, callers for a service first queue on an asyncio lock, so a daemon holds at most one database connection per
locked service. Each named lock lives on its own connection: the database releases it when that connection ends, so a
daemon killed mid-call (SIGKILL, power loss) never leaves a service locked. A caller that waits longer than
`wait_s` gets Busy (503 + Retry-After) naming the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import queue
from collections.abc import AsyncIterator, Hashable
from concurrent.futures import ThreadPoolExecutor

import pymysql

from bridge.config import DatabaseConfig
from bridge.errors import Busy, DatabaseError
from bridge.locks import KeyedLocks
from bridge.whmcs.db import Conn, connect

MAX_NAME = 64  # MySQL's limit on a lock name
KEEP_IDLE = 8


class ServiceLocks:
    def __init__(self, cfg: DatabaseConfig, *, wait_s: float, retry_after: int, max_held: int = 64) -> None:
        self.cfg, self.wait_s, self.retry_after = cfg, wait_s, retry_after
        # Named locks are server-wide: the database's name keeps two WHMCS installs on one server apart.
        self._prefix = f"s3bridge:{hashlib.sha256(cfg.database.encode()).hexdigest()[:12]}:"
        self._local = KeyedLocks()
        self._idle: queue.LifoQueue[Conn] = queue.LifoQueue()
        self._executor = ThreadPoolExecutor(max_workers=max_held, thread_name_prefix="s3bridge-lock")

    def name(self, key: Hashable) -> str:
        name = self._prefix + str(key)
        return name if len(name) <= MAX_NAME else self._prefix + hashlib.sha256(str(key).encode()).hexdigest()[:40]

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        name = self.name(key)
        loop = asyncio.get_running_loop()
        async with self._local.hold(key):
            acquiring = loop.run_in_executor(self._executor, self._acquire, name, str(key))
            try:
                conn = await asyncio.shield(acquiring)
            except asyncio.CancelledError:
                # The thread may still get the lock: release it as soon as it does.
                acquiring.add_done_callback(
                    lambda f: f.exception() is None and self._executor.submit(self._release, f.result(), name)
                )
                raise
            try:
                yield
            finally:
                await asyncio.shield(loop.run_in_executor(self._executor, self._release, conn, name))

    def _acquire(self, name: str, what: str) -> Conn:
        conn = self._connection()
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT GET_LOCK(%s, %s) AS got", (name, self.wait_s))
                row = cur.fetchone()
            conn.commit()
        except pymysql.MySQLError as e:
            _close(conn)
            raise DatabaseError(f"WHMCS database lock for service {what} failed: {e.args[-1]}") from None
        if not row or row["got"] != 1:
            self._put_back(conn)
            raise Busy(
                f"service {what} is busy: another s3bridge call has held it for more than {self.wait_s:g} s;"
                " try again shortly",
                retry_after=self.retry_after,
                code="service_busy",
            )
        return conn

    def _release(self, conn: Conn, name: str) -> None:
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT RELEASE_LOCK(%s)", (name,))
            conn.commit()
        except pymysql.MySQLError:
            _close(conn)  # the connection is gone, and the lock with it
            return
        self._put_back(conn)

    def _connection(self) -> Conn:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return connect(self.cfg)
            try:
                conn.ping(reconnect=False)
                return conn
            except pymysql.MySQLError:
                _close(conn)

    def _put_back(self, conn: Conn) -> None:
        if self._idle.qsize() < KEEP_IDLE:
            self._idle.put(conn)
        else:
            _close(conn)

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        while True:
            try:
                _close(self._idle.get_nowait())
            except queue.Empty:
                return


def _close(conn: Conn) -> None:
    with contextlib.suppress(pymysql.MySQLError):
        conn.close()
