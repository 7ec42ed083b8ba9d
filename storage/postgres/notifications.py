"""One connection that LISTENs for other processes' changes, and keeps itself connected.

A notification lost while the connection was down is not lost knowledge:
after every reconnect the owner is told ``reconnected`` and catches up from
the change feed table. The connection is pinged now and then, so a
half-open one (a network cut the kernel never reported) is noticed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from typing import Any

import asyncpg

logger = logging.getLogger(__name__)

PING_SECONDS = 5.0
PING_TIMEOUT = 3.0
BACKOFF_FIRST = 0.05
BACKOFF_MAX = 5.0


class Notifications:
    """``LISTEN channel`` on a connection of its own; ``on_message(payload)`` for
    each notification, ``on_reconnect()`` after each reconnection."""

    def __init__(self, url: str, channel: str, *, on_message: Callable[[str], None],
                 on_reconnect: Callable[[], None]) -> None:
        self.url = url
        self.channel = channel
        self.on_message = on_message
        self.on_reconnect = on_reconnect
        self._conn: asyncpg.Connection | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()
        self.connected = False
        self.reconnects = 0

    async def start(self) -> None:
        """Connect and listen (raises if the first connection fails), then keep it up."""
        await self._connect()
        self._keeper = asyncio.create_task(self._keep(), name="journeybot-pg-listen")

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None
        await self._close()

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            await conn.add_listener(self.channel, self._heard)
        except BaseException:
            await conn.close()
            raise
        conn.add_termination_listener(self._terminated)
        self._conn = conn
        self._lost.clear()
        self.connected = True

    def _heard(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            self.on_message(payload)
        except Exception:
            logger.exception("a store change notification could not be handled")

    def _terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self.connected = False
            self._lost.set()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self.connected = False
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=PING_TIMEOUT)

    async def _keep(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=PING_SECONDS)
            if not self._lost.is_set() and await self._alive():
                continue
            logger.warning("lost the store's change notifications; reconnecting")
            await self._close()
            await self._reconnect()

    async def _alive(self) -> bool:
        conn = self._conn
        if conn is None or conn.is_closed():
            return False
        try:
            await asyncio.wait_for(conn.fetchval("SELECT 1"), timeout=PING_TIMEOUT)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    async def _reconnect(self) -> None:
        delay = BACKOFF_FIRST
        while True:
            try:
                await self._connect()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                logger.info("store notifications: reconnecting failed (%s); next try in %.2f s", exc, delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self.reconnects += 1
            logger.info("store notifications: listening again; catching up from the change feed")
            try:
                self.on_reconnect()
            except Exception:
                logger.exception("catching up after a reconnect could not start")
            return
