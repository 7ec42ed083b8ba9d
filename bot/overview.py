"""What an operator's window onto journeybot may read (the web console, or any
dashboard): pages of knowledge and cases, a case's whole story, the scorecard
and its charts (``bot.scoring``), and the few values the window keeps for
itself (its accounts, its session key).

It reads through a connection of its own, so a page never waits behind the
bot's writes, and it changes nothing the bot owns: every change goes through
the core as a ``Command`` (``bot.flows.review``, ``claim``), as a platform's
would, and is logged with who made it. The types it hands out (``Entry``,
``Case``, ``Story``, ``Scorecard`` …) are named here, so a window imports
this module and the core's public types only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from bot.audit import CaseNotFound, LogRecord, Story, describe, export, story
from bot.cases import STAFF_QUEUE, Case, CaseStore
from bot.journeys import JourneyStore, summary
from bot.policy import plausible
from bot.scoring import Bounds, Counted, Point, Scores
from bot.settings import Settings
from knowledge.entries import Entry
from knowledge.files import KnowledgeFileError, read_file
from knowledge.store import EntryStore
from learning.report import basis, shown
from learning.scorecard import SECTIONS, Figure, Scorecard
from learning.tally import Windows
from storage import database_for
from storage.meta import Meta
from storage.sql import Sql

if TYPE_CHECKING:
    from bot.core import Core

# The cases a queue shows: waiting for staff, or not ended yet.
QUEUES: dict[str, tuple[str, ...]] = {"waiting": ("routed", "reopened"), "open": ("routed", "reopened", "open",
                                                                                  "answered")}
WAITING = QUEUES["waiting"]


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A case in a queue: how long it has waited, whether past the owner SLA
    with nobody named, and the asker's journey in a few lines."""

    case: Case
    age: timedelta
    overdue: bool
    journey: str


class NotKnowledge(ValueError):
    """A file that is not a knowledge file; the message says why."""


class Overview:
    """Read-only pages over one store. Lifecycle: ``open`` … ``close``."""

    def __init__(self, settings: Settings, reader: Sql, writer: Sql, *, location: str | None = None) -> None:
        """``location``: where the store is, when other processes may open it (not ``:memory:``)."""
        self.settings = settings
        self.reader = reader
        self.writer = writer  # only for the window's own values (``keep``)
        # Its entries are read afresh each time: the bot (or a review command)
        # changes them through stores of its own, so what this one kept would
        # be out of date (a stale version would pass a form's check).
        self.entries = EntryStore(reader)
        self.scores = Scores(writer, windows=Windows.of(settings.policy), location=location)

    @classmethod
    async def open(cls, core: Core) -> Overview:
        """The overview of the core's store: a store on disk gets a reading
        connection of its own (the core's writes only the window's own values)."""
        writer = reader = core.db
        # A PostgreSQL store by its URL with the password (``location`` hides it).
        where = core.settings.db if core.db.dialect == "postgresql" else core.db.location
        if where == ":memory:":
            return cls(core.settings, reader, writer)
        reader = database_for(where)
        await reader.open()
        return cls(core.settings, reader, writer, location=where)

    async def close(self) -> None:
        await self.scores.close()
        if self.reader is not self.writer:
            await self.reader.close()

    # -- the window's own values --------------------------------------------------------

    async def kept(self, key: str) -> Any:
        """A value the window keeps for itself (JSON), or ``None``."""
        text = await Meta(self.writer).get(f"window:{key}")
        return None if text is None else json.loads(text)

    async def keep(self, key: str, value: Any) -> None:
        await Meta(self.writer).put(f"window:{key}", json.dumps(value, ensure_ascii=False))

    # -- knowledge ------------------------------------------------------------------------

    async def spaces(self) -> list[str]:
        return await self.entries.spaces()

    async def find(self, *, text: str = "", space: str | None = None, status: str | None = None,
                   stale_on: date | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Entry], int]:
        """A page of entries (newest change first) and how many match in all."""
        return await self.entries.find(text=text, space=space, status=status, stale_on=stale_on, limit=limit,
                                       offset=offset)

    async def entry(self, entry_id: str) -> Entry | None:
        """The entry as stored now (never a copy kept from an earlier read)."""
        self.entries.forget_cached()
        return await self.entries.get(entry_id)

    async def history(self, entry_id: str) -> list[dict[str, Any]]:
        """Every version of an entry, oldest first."""
        return await self.entries.history(entry_id)

    async def many(self, ids: Sequence[str]) -> dict[str, Entry]:
        self.entries.forget_cached()
        return await self.entries.many(ids)

    async def open_conflicts(self, space: str | None = None) -> list[tuple[str, str]]:
        self.entries.forget_cached()
        return await self.entries.open_conflicts(space)

    @staticmethod
    def check_file(path: Path, *, space: str | None) -> int:
        """How many entries a file would import; ``NotKnowledge`` if none, saying
        why in words that follow the file's name ("is not a knowledge file: …")."""
        try:
            parsed = read_file(path, space=space)
        except KnowledgeFileError as exc:
            raise NotKnowledge(f"is not a knowledge file: {str(exc).split(': ', 1)[-1]}") from exc
        if not parsed.drafts:
            why = "; ".join(str(p) for p in parsed.problems[:3]) or "it holds no entries"
            raise NotKnowledge(f"holds nothing that could be imported: {why}")
        return len(parsed.drafts)

    # -- cases ----------------------------------------------------------------------------

    async def queue(self, which: str, *, space: str | None = None, limit: int = 25, offset: int = 0,
                    now: datetime) -> tuple[list[QueueRow], int]:
        """A page of the ``waiting`` or ``open`` queue, oldest first, and how many in all."""
        cases, total = await CaseStore(self.reader).page(QUEUES[which], space=space, limit=limit, offset=offset)
        sla = timedelta(minutes=self.settings.policy.owner_sla_minutes)
        journeys = JourneyStore(self.reader)
        rows = []
        for case in cases:
            age = now - case.opened_at
            overdue = case.status in WAITING and case.owner == STAFF_QUEUE and age > sla
            rows.append(QueueRow(case, age, overdue, summary(await journeys.get(case.space, case.user),
                                                             current=case.key, now=now)))
        return rows, total

    async def case(self, space: str, key: str) -> Case | None:
        return await CaseStore(self.reader).get(space, key)

    def suggestion(self, case: Case) -> str | None:
        """The entry "Send the suggested answer" would send for ``case``: its best
        candidate, only when the policy finds it plausible (as a card offers it)."""
        best = case.candidates[0] if case.candidates else None
        return best.entry if best is not None and plausible(best.score, self.settings.policy) else None

    async def story(self, space: str, key: str) -> Story | None:
        """Everything recorded about a case, or ``None`` if nothing is."""
        try:
            return await story(self.reader, key, space=space)
        except CaseNotFound:
            return None

    @staticmethod
    def describe(record: LogRecord) -> list[str]:
        """A record in words: its first line, then details."""
        return describe(record)

    @staticmethod
    def export(found: Story, out: TextIO) -> int:
        """The story's records as JSON lines that carry their own hashes."""
        return export(found.records, out)


__all__ = ["SECTIONS", "Bounds", "Case", "Counted", "Entry", "Figure", "LogRecord", "NotKnowledge", "Overview",
           "Point", "QueueRow", "Scorecard", "Story", "basis", "shown"]
