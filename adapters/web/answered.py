"""How often each entry answered someone, tallied from the event log as it grows."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.storage.database import Database
from bot.storage.eventlog import EventLog


class AnswerCounts:
    """Bot answers per entry, read incrementally: each look reads only the
    records written since the last one."""

    def __init__(self, db: Database) -> None:
        self.log = EventLog(db)
        self.seen = 0
        self.counts: Counter[str] = Counter()
        self._lock = asyncio.Lock()

    async def current(self) -> Counter[str]:
        async with self._lock:
            for record in await self.log.after(self.seen, kinds=("case",)):
                self.seen = record.seq
                body = record.body
                if body.get("to") == "answered" and body.get("by", "bot") == "bot" and body.get("entry"):
                    self.counts[body["entry"]] += 1
        return self.counts
