"""The scorecard for an operator's window, counted from the ledger
(``learning.ledger``) as the log grows.

For a store on disk the ledger lives in a process of its own, at a lower
priority, with its own connection: folding half a million records or
counting a year's charts then holds up neither the bot nor the pages (the
interpreter runs one thread at a time). That process reads back the ledger
kept in the store on its first question (``learning.bookkeeping``), folds
what came after, and answers each question after folding what arrived since
the last. An in-memory store (tests, the demo) is counted in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from learning.bookkeeping import catch_up, no_collection, restore
from learning.ledger import Ledger
from learning.scorecard import Scorecard
from learning.tally import Windows
from storage import database_for
from storage.sql import Sql

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Bounds:
    """Which scorecard: cases opened in [``since``, ``until``) of ``space``,
    asked in ``channel`` (``None``: any)."""

    since: datetime | None = None
    until: datetime | None = None
    space: str | None = None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class Point:
    """One period of a chart."""

    start: datetime
    end: datetime
    card: Scorecard


@dataclass(frozen=True, slots=True)
class Counted:
    """An answer, and the newest record of the log it stands on."""

    value: Any
    head: int


def card_of(ledger: Ledger, bounds: Bounds, windows: Windows) -> Scorecard:
    return ledger.scorecard(since=bounds.since, until=bounds.until, space=bounds.space, channel=bounds.channel,
                            windows=windows)


def chart_of(ledger: Ledger, bounds: Bounds, windows: Windows, days: int, most: int) -> list[Point]:
    return [Point(start, end, card) for start, end, card in ledger.series(
        since=bounds.since, until=bounds.until, space=bounds.space, channel=bounds.channel, windows=windows,
        days=days, most=most)]


def answers_of(ledger: Ledger) -> dict[str, int]:
    return dict(ledger.answers)


class Scores:
    """Scorecards, charts and answers per entry of one store. Lifecycle: ask … ``close``."""

    def __init__(self, db: Sql, *, windows: Windows, location: str | None = None) -> None:
        """``db``: the store; ``location``: where it is (a file or a PostgreSQL URL), when
        the counting process can open its own connection (not for ``:memory:``)."""
        self.db = db
        self.windows = windows
        self.location = location
        self.apart = location is not None
        self._counter: _Counter | None = None
        self._ledger = Ledger()
        self._lock = asyncio.Lock()

    async def scorecard(self, bounds: Bounds) -> Counted:
        return await self._ask(card_of, bounds, self.windows)

    async def chart(self, bounds: Bounds, *, days: int = 7, most: int = 26) -> Counted:
        """One scorecard per ``days``-day period of ``bounds`` (the latest ``most``)."""
        return await self._ask(chart_of, bounds, self.windows, days, most)

    async def answers(self) -> Counted:
        """How many times the bot answered from each entry."""
        return await self._ask(answers_of)

    async def _ask(self, question: Callable[..., T], *args: Any) -> Counted:
        if not self.apart:
            async with self._lock:
                await catch_up(self._ledger, self.db)
                with no_collection():
                    return Counted(question(self._ledger, *args), self._ledger.head)
        if self._counter is None or not self._counter.alive:
            self._counter = _Counter()
        value, head = await self._counter.ask(self.location or "", question, args)
        return Counted(value, head)

    async def close(self) -> None:
        if self._counter is not None:
            self._counter.stop()
            self._counter = None


class _Counter:
    """The counting process: one question at a time over a pipe. It is stopped
    at once on close, even in the middle of a long count (what it keeps in the
    store is written in whole transactions)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")  # a clean interpreter: none of our threads
        self._here, there = context.Pipe()
        self._process = context.Process(target=_serve, args=(there,), name="journeybot-scores", daemon=True)
        self._process.start()
        there.close()
        self._turn = threading.Lock()

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    async def ask(self, path: str, question: Callable[..., Any], args: tuple[Any, ...]) -> tuple[Any, int]:
        ok, answer = await asyncio.to_thread(self._exchange, (path, question, args))
        if not ok:
            raise RuntimeError(f"counting the scorecard failed: {answer}")
        return answer  # type: ignore[no-any-return]

    def _exchange(self, request: tuple[Any, ...]) -> tuple[bool, Any]:
        """A question and its answer, never split (a cancelled caller leaves the thread to finish)."""
        with self._turn:
            self._here.send(request)
            return self._here.recv()  # type: ignore[no-any-return]

    def stop(self) -> None:
        self._process.terminate()
        self._process.join(5)
        self._here.close()


# -- in the counting process ------------------------------------------------------------

_LEDGERS: dict[str, Ledger] = {}


def _serve(pipe: Connection) -> None:
    """The counting process's life: at a lower priority (the bot and the pages
    come first), answer each question until the pipe closes."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    while True:
        try:
            path, question, args = pipe.recv()
        except (EOFError, OSError):
            return
        try:
            pipe.send((True, _answer(path, question, args)))
        except Exception as exc:
            logger.exception("counting the scorecard failed")
            pipe.send((False, f"{type(exc).__name__}: {exc}"))


def _answer(path: str, question: Callable[..., T], args: tuple[Any, ...]) -> tuple[T, int]:
    """Bring the ledger of ``path`` up to date (reading the kept one first), then
    answer. The connection lives for one question only: an open one keeps a
    thread that would keep this process from ever exiting."""

    async def bring_up() -> Ledger:
        db = database_for(path)
        await db.open()
        try:
            ledger = _LEDGERS.get(path)
            if ledger is None:
                ledger = _LEDGERS[path] = await restore(db)
            await catch_up(ledger, db, keep_in=db)
            return ledger
        finally:
            await db.close()

    ledger = asyncio.run(bring_up())
    with no_collection():
        return question(ledger, *args), ledger.head
