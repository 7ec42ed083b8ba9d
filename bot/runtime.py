"""Runs the core with its adapters: events in, actions out, nothing lost.

An event is taken in (stored, durably: ``Core.accept``) before anything else,
and the adapter hears so (``accepted``) to acknowledge the platform; then it
is handled (``Core.process``) and its actions, already in the outbox, are
sent (``Outbound``). What a stop or a crash cuts short is found again: events
stored but not handled, actions stored but not sent.

When the store fails (a full disk, a lock another process holds too long),
events are held in memory in arrival order, the person hears at once that
their message is kept (``Core.storeless``), the operator sees an error line
and ``health()`` says so; a backlog loop tries the store again with backoff,
stores what was held, handles what waits, oldest first, and sends what is
pending. While a backlog is worked off, new events are stored and wait their
turn, so a follow-up is never handled before its question.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.actions import Action
from bot.core import Core, NotHandled
from bot.events import Event, Tick
from bot.intake import Accepted
from bot.outbound import Outbound
from bot.ports import AcceptHook, Adapter, Health, Verdict
from storage.sql import StoreUnavailable

logger = logging.getLogger(__name__)

STORE_RETRY_FIRST = 0.5  # seconds before the store is tried again, doubling …
STORE_RETRY_MAX = 15.0  # … up to this
MAX_HELD = 10_000  # events held in memory while the store fails; beyond, they are refused
SWEEP_SECONDS = 1.0  # how often a worker looks for what no live worker holds (and checks the store)

EventKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Trouble:
    since: datetime
    error: str


class Door:
    """What adapters are handed as their sink: the runtime's ``deliver_quietly`` and ``health``."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    async def __call__(self, event: Event, *, accepted: AcceptHook | None = None) -> None:
        await self._runtime.deliver_quietly(event, accepted=accepted)

    def health(self) -> Health:
        return self._runtime.health()


class Runtime:
    """The core plus its adapters; adapters hand their events to ``sink``."""

    def __init__(self, core: Core, adapters: Sequence[Adapter], *, tick_seconds: float | None = None,
                 sweep_seconds: float | None = None) -> None:
        """``tick_seconds``: on live platforms, let time pass every so often
        (reminders, presumed resolution); replay has no wall clock. ``sweep_seconds``:
        on live platforms, look every so often for what no live worker holds."""
        if not adapters:
            raise ValueError("the runtime needs at least one adapter")
        self.core = core
        self.adapters = {adapter.name: adapter for adapter in adapters}
        self.primary = adapters[0]
        self.tick_seconds = tick_seconds
        self.sweep_seconds = sweep_seconds
        self.sink = Door(self)
        self.outbound = Outbound(core, self.adapter_for, on_trouble=self._trouble_begins)
        self._held: OrderedDict[EventKey, Event] = OrderedDict()
        self._told: set[EventKey] = set()
        self._in_hand: set[EventKey] = set()  # stored and being handled on the live path
        self._trouble: Trouble | None = None
        self._backlog = False  # events wait in the store (or in memory) for their turn
        self._arrived = False  # an event was stored while the backlog was worked off
        self._backlog_task: asyncio.Task[None] | None = None
        self._clock_task: asyncio.Task[None] | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self._store = ""  # the store's last health check, for health()
        self._store_ok = True
        self._stopping = asyncio.Event()
        self._stopped = False

    def adapter_for(self, action: Action) -> Adapter:
        address = getattr(action, "address", None)
        if address is not None and address.platform in self.adapters:
            return self.adapters[address.platform]
        return self.primary

    # -- events in ---------------------------------------------------------------------

    async def deliver(self, event: Event, *, accepted: AcceptHook | None = None) -> list[Action]:
        """Take one event in, handle it and perform what it caused; ``accepted``
        hears what became of it at the door first (``bot.ports.Verdict``)."""
        verdict, taken = await self._take(event)
        if accepted is not None:
            accepted(verdict)
        if verdict == "held":
            await self._tell(event)
        if taken is None:
            return []
        try:
            return await self._handle(taken)
        finally:
            self._in_hand.discard((event.space, event.id))

    async def deliver_quietly(self, event: Event, *, accepted: AcceptHook | None = None) -> None:
        """``deliver``, logging a failure instead of raising (the adapters' sink)."""
        answered = False

        def hook(verdict: Verdict) -> None:
            nonlocal answered
            answered = True
            if accepted is not None:
                accepted(verdict)

        try:
            await self.deliver(event, accepted=hook)
        except Exception:
            logger.exception("event %s could not be delivered", event.id)
            if not answered:
                hook("refused")

    async def _take(self, event: Event) -> tuple[Verdict, Accepted | None]:
        """Store the event, or hold it while the store fails; the ``Accepted`` to handle
        now, or ``None`` (not new, or it waits its turn in the backlog)."""
        if self._stopped:
            logger.warning("event %s arrived after the stop: not taken", event.id)
            return "refused", None
        if self._trouble is not None:
            return self._hold(event), None
        try:
            accepted = await self.core.accept(event)
        except StoreUnavailable as exc:
            self._trouble_begins(exc)
            return self._hold(event), None
        if accepted.verdict != "stored":
            return accepted.verdict, None
        if self._backlog:  # older events come first; this one is handled after them
            self._arrived = True
            return "stored", None
        self._in_hand.add((event.space, event.id))  # handled now: not the sweep's
        return "stored", accepted

    def _hold(self, event: Event) -> Verdict:
        if isinstance(event, Tick):
            return "ignored"  # time will pass again
        key = (event.space, event.id)
        if key not in self._held:
            if len(self._held) >= MAX_HELD:
                logger.error("the store has been failing for a while: %d events held; event %s refused",
                             len(self._held), event.id)
                return "refused"
            self._held[key] = event
        return "held"

    async def _handle(self, accepted: Accepted) -> list[Action]:
        try:
            actions = await self.core.process(accepted)
        except StoreUnavailable as exc:  # it stays stored, unhandled, for the backlog
            self._trouble_begins(exc)
            await self._tell(accepted.event)
            return []
        except NotHandled:
            await self._tell(accepted.event, failed=True)
            return []
        await self._send()
        return actions

    async def _tell(self, event: Event, *, failed: bool = False) -> None:
        """Words that need no store, once per event: who has it and what happens next."""
        key = (event.space, event.id)
        if key in self._told:
            return
        self._told.add(key)
        for action in self.core.storeless(event, failed=failed):
            try:
                await self.adapter_for(action).perform(action)
            except Exception:
                logger.exception("telling %s that event %s waits failed", action.space, event.id)

    # -- actions out ---------------------------------------------------------------------

    async def _send(self) -> None:
        try:
            await self.outbound.flush()
        except StoreUnavailable as exc:
            self._trouble_begins(exc)

    # -- the backlog -------------------------------------------------------------------

    def _trouble_begins(self, exc: StoreUnavailable) -> None:
        if self._trouble is None:
            logger.error("%s: events are held and answered once it works again", exc)
        self._trouble = Trouble(self._trouble.since if self._trouble else datetime.now(UTC), str(exc))
        self._backlog = True
        if not self._stopping.is_set() and (self._backlog_task is None or self._backlog_task.done()):
            self._backlog_task = asyncio.create_task(self._work_off_backlog(), name="journeybot-backlog")

    async def _work_off_backlog(self) -> None:
        """Until nothing waits: try the store again (with backoff while it fails)."""
        delay = STORE_RETRY_FIRST
        while not self._stopping.is_set():
            if self._trouble is not None:
                await asyncio.sleep(delay * (0.5 + random.random()))  # jitter
                delay = min(delay * 2, STORE_RETRY_MAX)
            if await self._catch_up():
                return
            await asyncio.sleep(0)  # events arrived meanwhile: their turn next

    async def _catch_up(self) -> bool:
        """One pass: store what was held, send what is pending (earlier events' actions
        come first: a staff reply needs its card's reference), handle what waits (oldest
        first, each followed by its sends). ``True`` when the backlog is worked off."""
        self._arrived = False
        try:
            await self._store_held()
            await self.outbound.flush()
            await self._handle_waiting()
        except StoreUnavailable as exc:
            self._trouble_begins(exc)
            return False
        if self._held or self._arrived:
            return False
        self._backlog = False
        return True

    async def _store_held(self) -> None:
        while self._held:
            key, event = next(iter(self._held.items()))
            await self.core.accept(event)  # raises while the store still fails
            del self._held[key]
        if self._trouble is not None:
            logger.info("the store works again (it failed for %s); handling what waited",
                        datetime.now(UTC) - self._trouble.since)
            self._trouble = None
            self._told.clear()

    async def _handle_waiting(self) -> None:
        tried: set[EventKey] = set()
        while batch := [a for a in await self.core.waiting()
                        if (a.event.space, a.event.id) not in tried | self._in_hand]:
            for accepted in batch:
                tried.add((accepted.event.space, accepted.event.id))
                logger.info("handling event %s, stored before its turn came", accepted.event.id)
                try:
                    await self.core.process(accepted)
                except NotHandled:
                    await self._tell(accepted.event, failed=True)
                await self.outbound.flush()

    def health(self) -> Health:
        trouble = self._trouble
        if trouble is None and not self._store_ok:
            trouble = Trouble(datetime.now(UTC), f"the store's health check failed ({self._store})")
        return Health(ok=trouble is None, since=trouble.since if trouble else None,
                      error=trouble.error if trouble else None, held=len(self._held),
                      waiting=self._backlog, unsent=len(self.outbound.held), store=self._store)

    # -- what no live worker holds ------------------------------------------------------

    async def _check_store(self) -> None:
        state = await self.core.health()
        self._store_ok = state.ok
        self._store = (f"{'ok' if state.ok else 'failing'}, {state.dialect} schema {state.schema}, "
                       f"{state.latency_ms:.1f} ms" + (f", {state.detail}" if state.detail else ""))

    async def _sweep(self, every: float) -> None:
        """Every ``every`` seconds: check the store (for ``health``), and unless a backlog is
        being worked off already, send what is pending and handle what waits that this
        worker may take: another worker died with it (its lease ran out), or it waited for
        an event it depends on."""
        while not self._stopping.is_set():
            await asyncio.sleep(every * (0.75 + random.random() / 2))
            await self._check_store()
            if self._trouble is not None or (self._backlog_task is not None and not self._backlog_task.done()):
                continue
            try:
                await self._catch_up()
            except Exception:
                logger.exception("looking for what waits failed; trying again in %.0f s", every)

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Handle what a previous run left (events stored but not handled, actions not
        sent) and start the adapters: on live platforms (``sweep_seconds``) first, so
        events are stored and acknowledged while the backlog is worked off (they wait
        their turn); elsewhere (replay) after."""
        self._backlog = True
        await self._check_store()
        if self.sweep_seconds:  # a live platform: take events (stored, acknowledged) while catching up
            for adapter in self.adapters.values():
                await adapter.start(self.sink)
        if not await self._catch_up():
            if self._trouble is not None:
                logger.warning("starting with a backlog the store cannot take yet: it is worked off meanwhile")
            elif self._backlog_task is None or self._backlog_task.done():  # events arrived meanwhile
                self._backlog_task = asyncio.create_task(self._work_off_backlog(), name="journeybot-backlog")
        if not self.sweep_seconds:
            for adapter in self.adapters.values():
                await adapter.start(self.sink)
        if self.tick_seconds:
            self._clock_task = asyncio.create_task(self._clock(self.tick_seconds), name="journeybot-clock")
        if self.sweep_seconds:
            self._sweep_task = asyncio.create_task(self._sweep(self.sweep_seconds), name="journeybot-sweep")

    async def _clock(self, every: float) -> None:
        """Time passes for the core: reminders to staff, presumed resolution."""
        while not self._stopping.is_set():
            await asyncio.sleep(every)
            now = datetime.now(UTC)
            await self.deliver_quietly(Tick(id=f"tick:{now.isoformat()}", at=now))

    async def stop(self) -> None:
        """Stop the adapters (they finish the events in hand: handled, or stored for the
        next start), then the runtime's own work; what is still held in memory is
        stored if the store takes it now."""
        self._stopping.set()
        for adapter in self.adapters.values():
            try:
                await adapter.stop()
            except Exception:
                logger.exception("stopping the %s adapter failed", adapter.name)
        for task in (self._backlog_task, self._clock_task, self._sweep_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.outbound.close()
        self._stopped = True
        if self._held:
            try:
                await self._store_held()
            except StoreUnavailable as exc:
                logger.error("stopping with %d event(s) the store could not take (%s); they are lost "
                             "unless the platform delivers them again", len(self._held), exc)
