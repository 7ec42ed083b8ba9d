"""How often each entry answered someone, tallied from the event log as it grows."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

from storage.database import Database
from storage.eventlog import EventLog


class AnswerCounts:
    """Bot answers per entry. The first count reads the whole log (in SQLite,
    in the background); each later look reads only the records written since."""

    def __init__(self, db: Database) -> None:
        self.log = EventLog(db)
        self.seen = 0
        self.counts: Counter[str] = Counter()
        self.ready = False
        self._task: asyncio.Task[None] | None = None

    async def _count(self) -> None:
        found, head = await self.log.answers_by_entry(self.seen)
        self.counts.update(found)
        self.seen = head
        self.ready = True

    async def current(self, *, wait: float = 0.2) -> Counter[str] | None:
        """The counts, or ``None`` while the first count is still running."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._count(), name="journeybot-web-answers")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._task), timeout=wait)
        return self.counts if self.ready else None
