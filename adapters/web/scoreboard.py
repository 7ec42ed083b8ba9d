"""The scorecard for the console: the core's own ``compute``, cached and charted.

``learning.scorecard.compute`` reads the whole event log up to ``until``: over
hundreds of thousands of records that takes seconds, so a page never waits
for it beyond ``FRESH_WITHIN``:

- each result is kept with the log's head it was computed at; records added
  since only matter to a period that they fall into, so a period that is over
  is computed once (and kept in the store, so a restart does not count it again);
- when the log has grown, the page waits up to ``FRESH_WITHIN`` for a fresh
  count and otherwise shows the last one ("as of record N"); a fresh count
  starts only when someone looks, and not before ``REFRESH_FACTOR`` times as
  long as the last one took has passed (so counting takes at most a tenth of a
  core while someone watches);
- with nothing counted yet the page says it is being counted and asks again.

With a store on disk the counting runs in a separate process on its own read
connection, so it holds up neither the bot nor the other pages (the Python
interpreter runs one thread at a time).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from bot.settings import PolicySettings
from storage.database import Database
from storage.eventlog import EventLog
from storage.meta import MetaStore
from learning.scorecard import Figure, Scorecard, compute

logger = logging.getLogger(__name__)

Bucket = Literal["day", "week"]
MAX_BUCKETS = 26
FRESH_WITHIN = 0.2  # seconds a page waits for a count before showing the last one (or "being counted")
REFRESH_FACTOR = 10  # a period still open is counted again after 10× as long as its last count took


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
    head: int
    computed_at: float
    current: bool  # False: the last count, shown while the log has grown since
    took: float = 0.0  # seconds the count took

    @property
    def age_seconds(self) -> float:
        return time.time() - self.computed_at


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime
    end: datetime
    card: Scorecard


Compute = Callable[[View], Awaitable[Scorecard]]


class Scoreboard:
    """Cached scorecards for views and for the buckets of a chart."""

    def __init__(self, db: Database, *, policy: PolicySettings, path: str | None = None,
                 compute_with: Compute | None = None, keep_in: Database | None = None) -> None:
        """``keep_in``: the store's writing connection; counts of bounded periods
        are kept there (``meta``), so a restart does not count them again."""
        self.db = db
        self.keep_in = keep_in
        self.policy = policy
        self.path = path if path and path != ":memory:" else None
        self._compute_with = compute_with
        self._cache: dict[View, Computed] = {}
        self._running: dict[View, asyncio.Task[Computed]] = {}
        self._series: dict[tuple[View, str], asyncio.Task[list[Point]]] = {}
        self._points: dict[tuple[View, str], tuple[int, list[Point]]] = {}
        self._series_took: dict[tuple[View, str], float] = {}
        self._pool: ProcessPoolExecutor | None = None

    async def close(self) -> None:
        for task in [*self._running.values(), *self._series.values()]:
            task.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _compute(self, view: View) -> Scorecard:
        if self._compute_with is not None:
            return await self._compute_with(view)
        if self.path is None:
            return await compute(self.db, since=view.since, until=view.until, space=view.space,
                                 policy=self.policy, channel=view.channel)
        if self._pool is None:  # spawn: a clean interpreter, nothing of this process's threads
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_lower_priority)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, compute_apart, self.path, view, self.policy)

    async def _count(self, view: View, head: int) -> Computed:
        started = time.perf_counter()
        card = await self._compute(view)
        logger.info("scorecard %s counted up to record %d in %.1f s", _describe(view), head,
                    time.perf_counter() - started)
        done = Computed(card, head, time.time(), True, time.perf_counter() - started)
        self._cache[view] = done
        if self.keep_in is not None and view.until is not None:
            try:
                async with self.keep_in.transaction():
                    await MetaStore(self.keep_in).put(_meta_key(view), {"head": head, "took": done.took,
                                                                        "card": card.as_json()})
            except Exception:  # a full disk must not break the page: it is only a cache
                logger.exception("keeping the scorecard of %s failed", _describe(view))
        return done

    async def _kept(self, view: View) -> Computed | None:
        """A count of this period kept by an earlier run, if any."""
        if self.keep_in is None or view.until is None:
            return None
        kept = await MetaStore(self.db).get(_meta_key(view))
        if not kept:
            return None
        try:
            card = _card_from_json(kept["card"], view)
        except (KeyError, TypeError, ValueError):
            return None
        done = Computed(card, int(kept["head"]), time.time(), True, float(kept.get("took", 0.0)))
        self._cache[view] = done
        return done

    async def card(self, view: View, *, wait: float = FRESH_WITHIN) -> Computed | None:
        """The scorecard for ``view`` as fresh as ``wait`` seconds allow: the
        current one, else the last one (``current`` False), else ``None`` while
        the first count runs."""
        log = EventLog(self.db)
        head = await log.head()
        cached = self._cache.get(view) or await self._kept(view)
        if cached is not None and cached.head == head:
            return cached
        if cached is not None and cached.current and view.until is not None:
            earliest = await log.earliest_after(cached.head)
            if earliest is None or earliest >= view.until:  # all of it after the period: still holds
                cached = self._cache[view] = replace(cached, head=head)
                return cached
        task = self._running.get(view)
        if task is None or task.done():
            if cached is not None and cached.age_seconds < cached.took * REFRESH_FACTOR and wait < 60:
                return _stale(cached)
            task = asyncio.create_task(self._count(view, head), name="journeybot-web-scorecard")
            self._running[view] = task
        if cached is not None and cached.took > wait:
            return _stale(cached)  # it will not be done in time: the last count, at once
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=wait)
        except TimeoutError:
            return _stale(cached) if cached is not None else None

    async def series(self, view: View, bucket: Bucket, *, wait: float = FRESH_WITHIN) -> list[Point] | None:
        """One scorecard per day or week of ``view``'s period (at most
        ``MAX_BUCKETS``, the latest ones); ``None`` while they are being counted."""
        key = (view, bucket)
        head = await EventLog(self.db).head()
        last = self._points.get(key)
        if last is not None and last[0] == head:
            return last[1]
        task = self._series.get(key)
        if task is None or task.done():
            task = asyncio.create_task(self._all_buckets(view, bucket, head), name="journeybot-web-chart")
            self._series[key] = task
        if last is not None and self._series_took.get(key, 0.0) > wait:
            return last[1]  # it will not be done in time: the last series, at once
        try:
            return await asyncio.wait_for(asyncio.shield(task), timeout=wait)
        except TimeoutError:
            return last[1] if last is not None else None

    async def _all_buckets(self, view: View, bucket: Bucket, head: int) -> list[Point]:
        started = time.perf_counter()
        points = await self._count_buckets(view, bucket)
        self._points[(view, bucket)] = (head, points)
        self._series_took[(view, bucket)] = time.perf_counter() - started
        return points

    async def _count_buckets(self, view: View, bucket: Bucket) -> list[Point]:
        first, last = await self._span(view)
        if first is None or last is None:
            return []
        step = timedelta(days=1 if bucket == "day" else 7)
        points: list[Point] = []
        for start in buckets(first, last, bucket)[-MAX_BUCKETS:]:
            end = start + step
            part = View(space=view.space, channel=view.channel, since=max(start, view.since or start),
                        until=min(end, view.until) if view.until else end)
            counted = await self.card(part, wait=3600)
            assert counted is not None
            points.append(Point(start, end, counted.card))
        return points

    async def _span(self, view: View) -> tuple[datetime | None, datetime | None]:
        first, last = await EventLog(self.db).span(space=view.space)
        if first is None or last is None:
            return None, None
        return max(first, view.since) if view.since else first, min(last, view.until) if view.until else last


def _stale(cached: Computed) -> Computed:
    return replace(cached, current=False)


def _meta_key(view: View) -> str:
    parts = [view.space or "", view.channel or "", view.since.isoformat() if view.since else "",
             view.until.isoformat() if view.until else ""]
    return "web-scorecard:" + json.dumps(parts)


def _card_from_json(data: dict[str, Any], view: View) -> Scorecard:
    figures = {name: Figure(name, value["value"], value.get("numerator"), value.get("denominator"),
                            value.get("unit", ""), value.get("note", ""))
               for name, value in data.items() if name != "period"}
    return Scorecard(figures, view.since, view.until, view.space)


def _describe(view: View) -> str:
    parts = [f"{k}={v:%Y-%m-%d}" if isinstance(v, datetime) else f"{k}={v}"
             for k, v in (("space", view.space), ("channel", view.channel), ("since", view.since),
                          ("until", view.until)) if v is not None]
    return "(" + ", ".join(parts or ["all"]) + ")"


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


def _lower_priority() -> None:
    """The counting process yields the CPU to the bot and the pages."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


def compute_apart(path: str, view: View, policy: PolicySettings) -> Scorecard:
    """In the counting process: its own loop and read connection."""

    async def go() -> Scorecard:
        async with Database(path) as db:
            return await compute(db, since=view.since, until=view.until, space=view.space, policy=policy,
                                 channel=view.channel)

    return asyncio.run(go())
