"""Runs the core with its adapters: events in, actions out, nothing lost.

Each action is already in the outbox when the runtime gets it; it is marked
performed only once the adapter did it. An action the platform refused
(outage, rate limit beyond the adapter's own retries) stays pending and is
retried with backoff, in order, so replies are delayed, never dropped.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.actions import Action
from bot.core import Core
from bot.events import Event, Tick
from bot.ports import Adapter, NotReady

logger = logging.getLogger(__name__)

RETRY_FIRST = 1.0
RETRY_MAX = 60.0


class Runtime:
    """The core plus its adapters; adapters call ``deliver`` for each event."""

    def __init__(self, core: Core, adapters: Sequence[Adapter], *, tick_seconds: float | None = None) -> None:
        """``tick_seconds``: on live platforms, let time pass every so often
        (reminders, presumed resolution); replay has no wall clock."""
        if not adapters:
            raise ValueError("the runtime needs at least one adapter")
        self.core = core
        self.adapters = {adapter.name: adapter for adapter in adapters}
        self.primary = adapters[0]
        self.tick_seconds = tick_seconds
        self._clock_task: asyncio.Task[None] | None = None
        self._retry_task: asyncio.Task[None] | None = None
        self._perform_lock = asyncio.Lock()
        self._stopping = asyncio.Event()

    def adapter_for(self, action: Action) -> Adapter:
        address = getattr(action, "address", None)
        if address is not None and address.platform in self.adapters:
            return self.adapters[address.platform]
        return self.primary

    async def deliver(self, event: Event) -> list[Action]:
        """Handle one event and perform what it caused."""
        actions = await self.core.handle(event)
        await self.perform(actions)
        return actions

    async def perform(self, actions: Sequence[Action]) -> bool:
        """Perform in order. A failure holds back the rest of *its* case (order
        matters in a thread) but not other cases' replies; what failed stays in
        the outbox and is retried with backoff."""
        held: set[tuple[str, str | None]] = set()
        async with self._perform_lock:
            for action in actions:
                key = (action.space, action.case)
                if key in held:
                    continue
                try:
                    ref = await self.adapter_for(action).perform(action)
                except NotReady as exc:
                    logger.info("not connected yet (%s); outbox %d waits", exc, action.seq)
                    held.add(key)
                    continue
                except Exception:
                    logger.exception("performing %s (outbox %d) failed; it stays queued",
                                     type(action).__name__, action.seq)
                    held.add(key)
                    continue
                await self.core.performed(action, ref)
        if held:
            self._schedule_retry()
        return not held

    def _schedule_retry(self) -> None:
        if self._retry_task is None or self._retry_task.done():
            self._retry_task = asyncio.create_task(self._retry_pending(), name="journeybot-outbox-retry")

    async def _retry_pending(self) -> None:
        delay = RETRY_FIRST
        while not self._stopping.is_set():
            await asyncio.sleep(delay * (0.5 + random.random()))  # jitter
            pending = await self.core.pending()
            if not pending or await self.perform(pending):
                return
            delay = min(delay * 2, RETRY_MAX)

    async def start(self) -> None:
        """Perform what a previous run left undone, then start the adapters."""
        await self.core.recover()  # its actions go to the outbox with the rest
        leftover = await self.core.pending()
        if leftover:
            logger.info("performing %d action(s) left from before the last stop", len(leftover))
            await self.perform(leftover)
        for adapter in self.adapters.values():
            await adapter.start(self.deliver_quietly)
        if self.tick_seconds:
            self._clock_task = asyncio.create_task(self._clock(self.tick_seconds), name="journeybot-clock")

    async def _clock(self, every: float) -> None:
        """Time passes for the core: reminders to staff, presumed resolution."""
        while not self._stopping.is_set():
            await asyncio.sleep(every)
            now = datetime.now(UTC)
            await self.deliver_quietly(Tick(id=f"tick:{now.isoformat()}", at=now))

    async def deliver_quietly(self, event: Event) -> None:
        try:
            await self.deliver(event)
        except Exception:
            logger.exception("event %s could not be delivered", event.id)

    async def stop(self) -> None:
        self._stopping.set()
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:
                logger.exception("stopping the %s adapter failed", adapter.name)
        for task in (self._retry_task, self._clock_task):
            if task is not None:
                task.cancel()
