"""The scorecard as the console shows it: asked of the core's ``Scores`` (the
log folded once, counted in a process of its own), never waited for beyond
``FRESH_WITHIN``.

Counting is quick once the log is folded, but the first fold of a large log
takes a while, and a period to now is counted again as the log grows: a page
waits up to ``FRESH_WITHIN`` for the answer and otherwise shows the last one
("as of record N"), or says it is being counted and asks again. One question
per view runs at a time; its answer is kept for the next page.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Literal

from bot.overview import Bounds, Counted, Point, Scorecard

logger = logging.getLogger(__name__)

Bucket = Literal["day", "week"]
DAYS: dict[str, int] = {"day": 1, "week": 7}
MAX_POINTS = 26
FRESH_WITHIN = 0.2  # seconds a page waits for a count before showing the last one (or "being counted")

View = Bounds  # what the operator asked to see


@dataclass(frozen=True, slots=True)
class Shown:
    """An answer and whether it is the newest (else the last one, while a new count runs)."""

    value: Any
    head: int
    current: bool


@dataclass(frozen=True, slots=True)
class Card:
    card: Scorecard
    head: int
    current: bool


class Scoreboard:
    """The console's questions to the core's scores, one running per view."""

    def __init__(self, scores: Any) -> None:
        self.scores = scores
        self._last: dict[Hashable, Counted] = {}
        self._asking: dict[Hashable, asyncio.Task[Counted]] = {}

    async def card(self, view: View, *, wait: float = FRESH_WITHIN) -> Card | None:
        """The scorecard of ``view``, or ``None`` while its first count runs."""
        shown = await self._ask(("card", view), lambda: self.scores.scorecard(view), wait)
        return None if shown is None else Card(shown.value, shown.head, shown.current)

    async def chart(self, view: View, bucket: Bucket, *, wait: float = FRESH_WITHIN) -> list[Point] | None:
        """One scorecard per day or week of ``view`` (the latest ``MAX_POINTS``)."""
        shown = await self._ask(("chart", view, bucket),
                                lambda: self.scores.chart(view, days=DAYS[bucket], most=MAX_POINTS), wait)
        return None if shown is None else list(shown.value)

    async def answers(self, *, wait: float = FRESH_WITHIN) -> dict[str, int] | None:
        """How often the bot answered from each entry."""
        shown = await self._ask(("answers",), self.scores.answers, wait)
        return None if shown is None else dict(shown.value)

    async def _ask(self, key: Hashable, ask: Callable[[], Awaitable[Counted]], wait: float) -> Shown | None:
        task = self._asking.get(key)
        if task is None or task.done():
            task = self._asking[key] = asyncio.create_task(self._keep(key, ask), name="journeybot-web-count")
        try:
            fresh = await asyncio.wait_for(asyncio.shield(task), timeout=wait)
        except TimeoutError:
            fresh = None
        except Exception:  # the counting process died, say: the last answer, and a log line
            logger.exception("web: counting %s failed", key)
            fresh = None
        if fresh is None:
            last = self._last.get(key)
            return None if last is None else Shown(last.value, last.head, False)
        return Shown(fresh.value, fresh.head, True)

    async def _keep(self, key: Hashable, ask: Callable[[], Awaitable[Counted]]) -> Counted:
        counted = await ask()
        self._last[key] = counted
        return counted

    async def close(self) -> None:
        for task in self._asking.values():
            task.cancel()
        for task in self._asking.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
