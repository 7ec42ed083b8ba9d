"""The scorecard for the console: the core's own ``compute``, cached and charted.

``learning.scorecard.compute`` reads the whole event log up to ``until``.
Over a large log that takes a while, so each result is kept with the log's
extent it was computed from (how many records before ``until``, and the
newest one's seq): a period that is over never changes, so it is computed
once. When the log has grown, a page waits up to ``FRESH_WITHIN`` for a fresh
count; past that it shows the last one while the fresh one is computed in the
background (the page says "as of record N").

With a store on disk each computation runs in a worker thread on its own
read connection, so a long one never holds up the bot or other pages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bot.settings import PolicySettings
from bot.storage.database import Database
from bot.storage.eventlog import EventLog
from learning.scorecard import Scorecard, compute

logger = logging.getLogger(__name__)

Bucket = Literal["day", "week"]
MAX_BUCKETS = 26
FRESH_WITHIN = 0.2  # seconds a page waits for a fresh count before showing the last one


@dataclass(frozen=True, slots=True)
class View:
    """What the operator asked to see."""

    space: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Computed:
    """A scorecard and the log extent it stands on."""

    card: Scorecard
    records: int
    head: int
    computed_at: float
    current: bool  # False: an older result shown while a fresh one is computed


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime
    end: datetime
    card: Scorecard


Compute = Callable[[View], Awaitable[Scorecard]]


class Scoreboard:
    """Cached scorecards for views and for the buckets of a chart."""

    def __init__(self, db: Database, *, policy: PolicySettings, path: str | None = None) -> None:
        self.db = db
        self.policy = policy
        self.path = path if path and path != ":memory:" else None
        self._cache: dict[View, Computed] = {}
        self._refreshing: dict[View, asyncio.Task[Computed]] = {}

    async def _compute(self, view: View) -> Scorecard:
        if self.path is None:
            return await compute(self.db, since=view.since, until=view.until, space=view.space,
                                 policy=self.policy, channel=view.channel)
        return await asyncio.to_thread(_compute_apart, self.path, view, self.policy)

    async def _fresh(self, view: View, extent: tuple[int, int]) -> Computed:
        started = time.perf_counter()
        card = await self._compute(view)
        logger.debug("scorecard %s computed in %.0f ms", view, (time.perf_counter() - started) * 1000)
        done = Computed(card, extent[0], extent[1], time.time(), True)
        self._cache[view] = done
        return done

    async def card(self, view: View, *, wait: bool = False) -> Computed:
        """The scorecard for ``view``: cached when the log has not changed under
        it; otherwise the last one (marked not current) while a new one is
        computed, unless there is none yet or ``wait``."""
        extent = await EventLog(self.db).extent(until=view.until, space=view.space)
        cached = self._cache.get(view)
        if cached is not None and (cached.records, cached.head) == extent:
            return cached
        task = self._refreshing.get(view)
        if task is None or task.done():
            task = asyncio.create_task(self._fresh(view, extent), name="journeybot-web-scorecard")
            self._refreshing[view] = task
        if cached is None or wait:
            return await asyncio.shield(task)
        try:  # a small log is counted again at once; a large one answers from the last count
            return await asyncio.wait_for(asyncio.shield(task), timeout=FRESH_WITHIN)
        except TimeoutError:
            return Computed(cached.card, cached.records, cached.head, cached.computed_at, False)

    async def series(self, view: View, bucket: Bucket) -> list[Point]:
        """One scorecard per day or week of ``view``'s period (at most
        ``MAX_BUCKETS``, the latest ones)."""
        first, last = await self._span(view)
        if first is None or last is None:
            return []
        starts = buckets(first, last, bucket)[-MAX_BUCKETS:]
        step = timedelta(days=1 if bucket == "day" else 7)
        points: list[Point] = []
        for start in starts:
            end = start + step
            part = View(space=view.space, channel=view.channel, since=max(start, view.since or start),
                        until=min(end, view.until) if view.until else end)
            points.append(Point(start, end, (await self.card(part, wait=True)).card))
        return points

    async def _span(self, view: View) -> tuple[datetime | None, datetime | None]:
        first, last = await EventLog(self.db).span(space=view.space)
        if first is None or last is None:
            return None, None
        return max(first, view.since) if view.since else first, min(last, view.until) if view.until else last


def buckets(first: datetime, last: datetime, bucket: Bucket) -> list[datetime]:
    """Bucket starts (UTC midnight; weeks start on Monday) covering first … last."""
    day = datetime(first.year, first.month, first.day, tzinfo=UTC)
    if bucket == "week":
        day -= timedelta(days=day.weekday())
    step = timedelta(days=1 if bucket == "day" else 7)
    out = []
    while day <= last:
        out.append(day)
        day += step
    return out


def _compute_apart(path: str, view: View, policy: PolicySettings) -> Scorecard:
    """In a worker thread: its own loop and read connection."""

    async def go() -> Scorecard:
        async with Database(path) as db:
            return await compute(db, since=view.since, until=view.until, space=view.space, policy=policy,
                                 channel=view.channel)

    return asyncio.run(go())
