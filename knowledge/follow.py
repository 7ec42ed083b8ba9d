"""Other processes' knowledge changes, followed as the store announces them.

Several workers on one PostgreSQL store: a knowledge change one of them commits
is announced to the others (``Sql.subscribe``, LISTEN/NOTIFY), and each catches
its index up from the change feed at once, not at its next event; after a
reconnect it catches up too, as it may have missed news meanwhile. SQLite
announces nothing, and the core polls ``data_version`` instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from storage.sql import Sql

logger = logging.getLogger(__name__)


class Follower:
    """Runs ``catch_up`` when the store says knowledge changed elsewhere: one
    catch-up at a time, and one more if news came while it ran."""

    def __init__(self, catch_up: Callable[[], Awaitable[None]]) -> None:
        self._catch_up = catch_up
        self._unsubscribe: Callable[[], None] | None = None
        self._following: asyncio.Task[None] | None = None
        self._again = False

    def start(self, db: Sql) -> None:
        """Listen to ``db``'s announcements from now on."""
        self._unsubscribe = db.subscribe(self._store_changed)

    async def stop(self) -> None:
        """Stop listening, and let a catch-up under way finish."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._following is not None:
            await asyncio.gather(self._following, return_exceptions=True)
            self._following = None

    def _store_changed(self, kind: str) -> None:
        """Another process changed knowledge (or we may have missed it while
        reconnecting): catch up from the change feed now, not at the next event."""
        if kind not in ("knowledge", "reconnected"):
            return
        self._again = True
        if self._following is None or self._following.done():
            self._following = asyncio.create_task(self._follow(), name="journeybot-kb-follow")

    async def _follow(self) -> None:
        while self._again:
            self._again = False
            try:
                await self._catch_up()
            except Exception:  # the next change (or event) tries again
                logger.exception("following another process's knowledge change failed")
