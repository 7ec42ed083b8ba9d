"""The core: ``handle(event) -> list[Action]``. It knows no platform.

Each event goes through small ordered steps, in two halves. ``accept`` takes
it in: prepare (make every text storable, clean and redact the message),
keep only what concerns the bot, dedupe (platforms redeliver) and store it,
durably: from then on it is never lost, and the platform may be told "got
it". ``process`` handles it: its flow inside one transaction that also stores
the resulting actions in the outbox, claimed so it happens once, and, should
the flow fail, a fallback that still tells the asker who has their question.
A slow call the flow needs (the LLM) is made outside the lock and the
transaction (``bot.slowcalls``); the leases and lock keys several workers on
one store need are in ``bot.workers``. How an event is prepared and read back
is in ``bot.intake``, the outbox's side in ``bot.delivery``, and what ``open``
builds from settings in ``bot.startup``.
When the store itself fails, the event waits (stored, or held by the runtime)
and ``storeless`` says what the bot can still tell the person.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.actions import Action
from bot.asking import AskingBudget, asked_lately
from bot.cases import CaseStore
from bot.compose import Composer
from bot.delivery import Delivery
from bot.events import Event, Message
from bot.flows import route_event
from bot.flows.questions import fallback
from bot.handling import Handling
from bot.intake import Accepted, concerns_bot, prepare, stored_unhandled
from bot.journeys import JourneyStore
from bot.services import Community, Services
from bot.settings import Settings
from bot.slowcalls import Behind, NeedsCall, OutOnCalls, SlowCalls
from bot.startup import maybe_generator, open_parts
from bot.storeless import storable, storeless_words
from bot.trust.sensitive import SensitiveDetector
from bot.wire import event_to_json
from bot.workers import ACTION_LEASE_MS, EVENT_LEASE_MS, Waits, must_it_wait, touches, worker_name
from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder
from storage import StoreUnavailable
from storage.eventlog import EventLog
from storage.locks import CaseLocks
from storage.mailroom import EventStatus, Inbox, Lease, Outbox
from storage.sql import Sql, StoreHealth

if TYPE_CHECKING:  # not a cycle: openai takes seconds to import, so only a configured LLM loads it
    from bot.generate import Generator
    from learning.loop import Learner

logger = logging.getLogger(__name__)

IN_HAND_KEPT = 10_000  # events counted as in hand at most (one never processed here is not kept forever)


class NotHandled(Exception):
    """Neither the event's flow nor its fallback could handle it (logged; marked failed)."""


class Core:
    """Cases, journeys, policy and compose over one store.

    Given its store and knowledge base by the caller (``Core.open`` builds
    them from settings); adapters talk to it only through ``handle`` and
    ``performed``.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        db: Sql,
        kb: KnowledgeBase,
        composer: Composer | None = None,
        sensitive: SensitiveDetector | None = None,
        generator: Generator | None = None,
        learner: Learner | None = None,
        worker: str | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.kb = kb
        self.cases = CaseStore(db)
        self.journeys = JourneyStore(db)
        self.log = EventLog(db)
        self.inbox = Inbox(db, self.log)
        self.outbox = Outbox(db)
        self.locks = CaseLocks(db)
        self.worker = worker or worker_name(db.location if db.dialect == "postgresql" else "")
        self.event_lease = Lease(self.worker, EVENT_LEASE_MS)
        self.action_lease = Lease(self.worker, ACTION_LEASE_MS)
        self.delivery = Delivery(db=db, outbox=self.outbox, cases=self.cases, log=self.log, lease=self.action_lease)
        self.services = Services(
            community=Community.of(settings), cases=self.cases, journeys=self.journeys, log=self.log,
            kb=kb, composer=composer or Composer(team=settings.staff_team_name), policy=settings.policy,
            embedder=kb.embedder, sensitive=sensitive, generator=generator, learner=learner,
            asking=AskingBudget(settings.policy.ask_budget, settings.policy.ask_window,
                                recent=partial(asked_lately, self.log)))
        self._generator = generator
        self._out = OutOnCalls()
        self._adapting: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._in_hand: set[str] = set()  # events taken in and not yet processed (this process)
        kb.batch_while(lambda: len(self._in_hand) > 1)  # company for a question is likely only then
        self._data_version: int | None = None

    @property
    def generator(self) -> Generator | None:
        """The grounded generator, when an LLM is configured (set after start-up)."""
        return self._generator

    @generator.setter
    def generator(self, generator: Generator | None) -> None:
        self._generator = generator
        self.services = replace(self.services, generator=generator)

    @property
    def composer(self) -> Composer:
        return self.services.composer

    @property
    def embedder(self) -> CachedEmbedder:
        return self.services.embedder

    @property
    def learner(self) -> Learner | None:
        """The learning loop (model versions, calibration, adaptation), when it runs."""
        return self.services.learner

    @learner.setter
    def learner(self, learner: Learner | None) -> None:
        self.services = replace(self.services, learner=learner)

    @classmethod
    async def open(cls, settings: Settings, *, embedder: CachedEmbedder | None = None) -> Core:
        """The core over the store and model ``settings`` name (``bot.startup.open_parts``:
        the model loads while the store opens), with the generator if one is configured."""
        parts = await open_parts(settings, embedder=embedder)
        core = cls(settings=settings, db=parts.db, kb=parts.kb, sensitive=parts.detector, learner=parts.learner)
        core.generator = await maybe_generator(settings)
        return core

    async def close(self) -> None:
        generator, self.generator = self.generator, None
        try:
            if generator is not None and hasattr(generator, "close"):
                await generator.close()
        except Exception:  # a broken connection to the LLM must not keep the store open
            logger.exception("closing the LLM client failed")
        if self._adapting is not None and not self._adapting.done():
            self._adapting.cancel()
        await self.kb.close()
        await self.db.close()
        if self.learner is not None:
            self.learner.close()

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Hold the pipeline while a bulk change runs in this process (an import
        from the web console): no event is handled, and no search runs, meanwhile."""
        async with self._lock:
            yield

    async def health(self) -> StoreHealth:
        """The store's state for a health check (``/healthz``): reachable, which, how fast."""
        return await self.db.health()

    # -- the pipeline ----------------------------------------------------------

    async def handle(self, event: Event) -> list[Action]:
        """Everything the bot does about one event, stored before it is returned:
        ``accept``, then ``process`` what was new."""
        accepted = await self.accept(event)
        return await self.process(accepted) if accepted.verdict == "stored" else []

    async def accept(self, event: Event) -> Accepted:
        """Take the event in: clean and redact it and, when it concerns the bot, store
        it durably. Quick (no retrieval, not behind other events' handling), so the
        platform can be acknowledged as soon as it returns. Raises
        ``StoreUnavailable`` when the store cannot take the event now."""
        event, notes = prepare(event, limit=self.settings.max_message_chars)
        if not await concerns_bot(event, community=self.services.community, cases=self.cases,
                                  inbox=self.inbox):
            logger.debug("message %s in %s is not for the bot: not stored", event.id, event.space)
            return Accepted(event, notes, "ignored")
        if not await self._store_event(event, notes):
            logger.info("event %s in %s seen before: ignored (redelivery)", event.id, event.space)
            return Accepted(event, notes, "seen")
        if len(self._in_hand) < IN_HAND_KEPT:
            self._in_hand.add(event.id)
        self._prefetch(event)
        return Accepted(event, notes, "stored")

    async def process(self, accepted: Accepted) -> list[Action]:
        """Handle a stored event: its flow, its consequences and its actions in one
        transaction (the actions then wait in the outbox). Once only: an event that
        was handled already, on this path or another, gives nothing. A slow call the
        flow needs (the LLM) is made outside the lock and the transaction, and the flow
        then runs again with its result (``bot.slowcalls``).

        Raises ``StoreUnavailable`` when the store fails (the event stays stored and
        unhandled, for later), ``NotHandled`` when even the fallback failed."""
        event = accepted.event
        calls = SlowCalls(self._generator, event.id) if self._generator is not None else None
        try:
            while True:
                try:
                    async with self._lock:
                        await self._follow_outside_changes()
                        actions = await self._dispatch(event, accepted.notes, calls)
                        await self._learn_after(event)
                except NeedsCall as needs:
                    assert calls is not None
                    await self._call_outside(event, needs, calls)
                    continue
                except Behind as behind:
                    logger.info("event %s waits outside the lock for event %s, out on a slow call of its case",
                                event.id, behind.event)
                    await behind.done.wait()
                    continue
                if calls is not None:
                    calls.settle()
                return actions
        finally:
            self._out.release(event.id)
            self._in_hand.discard(event.id)
            if isinstance(event, Message):
                self.kb.forget_prefetch(event.space, event.text)

    async def _call_outside(self, event: Event, needs: NeedsCall, calls: SlowCalls) -> None:
        """Make the slow call the flow asked for, the lock and the transaction let go: the
        event stays stored and unhandled, leased to this worker for the call's length, and
        later events of its case (in this process) wait for it."""
        self._out.hold(event.id, needs.keys, everything=needs.everything)
        ms = int(self.settings.llm.timeout_seconds * 1000) + EVENT_LEASE_MS
        if not await self.inbox.hold(event.space, event.id, Lease(self.worker, ms)):
            logger.info("event %s was handled elsewhere before its %s call", event.id, needs.call.use)
            return
        logger.info("event %s waits for the LLM's %s outside the lock (call %d)",
                    event.id, needs.call.use, calls.calls + 1)
        await calls.make(needs.call)

    def _prefetch(self, event: Event) -> None:
        """A new question will be embedded: start now, while the event is stored and
        waits its turn (the vector depends on the text alone)."""
        if not isinstance(event, Message) or event.is_bot or event.thread or not event.text.strip():
            return
        if event.direct or self.services.community.channel_kind(event) in ("help", "dm"):
            self.kb.prefetch(event.space, event.text)

    async def _follow_outside_changes(self) -> None:
        """Another process (``journeybot kb import`` while the bot runs, say)
        committed to the store: follow its knowledge changes, drop caches."""
        version = await self.db.data_version()
        if self._data_version is not None and version != self._data_version:
            await self.kb.catch_up()
            self.journeys.forget()
            if self.learner is not None:
                await self.learner.follow(self.adopt)
        self._data_version = version

    async def _store_event(self, event: Event, notes: dict[str, Any]) -> bool:
        """Store the event before anything acts on it; ``False`` if it was
        stored before (platforms redeliver), and then nothing is written."""
        return await self.inbox.receive(space=event.space, event_id=event.id, at=event.at,
                                        body={**event_to_json(event), **notes}, lease=self.event_lease)

    async def _dispatch(self, event: Event, notes: dict[str, Any], calls: SlowCalls | None) -> list[Action]:
        try:
            return await self._commit(event, notes, route_event, "handled", calls)
        except (StoreUnavailable, NeedsCall, Behind):
            raise
        except Exception:
            logger.exception("handling event %s (%s) failed", event.id, type(event).__name__)
        try:  # never leave a question in silence
            return await self._commit(event, notes, fallback, "failed", calls)
        except (StoreUnavailable, NeedsCall, Behind):
            raise
        except Exception as exc:
            logger.exception("even the fallback for event %s failed", event.id)
            with contextlib.suppress(Exception):  # tried once, never again
                await self.inbox.mark(event.space, event.id, "failed")
            raise NotHandled(f"event {event.id} could not be handled") from exc

    async def _commit(self, event: Event, notes: dict[str, Any], flow: Callable[[Handling], Awaitable[None]],
                      status: EventStatus, calls: SlowCalls | None = None) -> list[Action]:
        """Run ``flow`` and store its consequences and actions in one transaction,
        once: an event already handled (claimed by another path) gives nothing.
        Raises ``NeedsCall`` (rolled back) when the flow needs a slow call first,
        ``Behind`` when an earlier event of its case is out on one."""
        services = self.services if calls is None else replace(self.services, generator=calls.stand_in())
        handling = Handling(services, event, notes)
        keys: set[str] = set()
        everything = False
        try:
            async with self.db.transaction():  # its reads inline on SQLite: no trips to a thread
                keys, everything = await touches(self.cases, event)
                if calls is None or calls.calls == 0:
                    self._out.check(event.id, keys, everything=everything)
                await self.locks.hold(keys, everything=everything)
                if not await self.inbox.claim(event.space, event.id):
                    logger.info("event %s in %s was handled already (or is in hand elsewhere)", event.id, event.space)
                    return []
                if self.db.dialect == "postgresql":
                    self.journeys.forget()  # another worker may have changed them until we held the keys
                await must_it_wait(event, community=self.services.community, cases=self.cases,
                                   inbox=self.inbox, outbox=self.outbox)
                await flow(handling)
                await handling.flush()
                actions = await self.delivery.store(handling.actions, event.at)
                await self.inbox.mark(event.space, event.id, status)
        except Waits as waits:
            logger.info("event %s in %s waits for %s; handled later", event.id, event.space, waits)
            return []
        except NeedsCall as needs:
            needs.keys, needs.everything = frozenset(keys), everything
            raise
        return actions

    def storeless(self, event: Event, *, failed: bool = False) -> list[Action]:
        """What the bot can still say about ``event`` when the store cannot take it
        (or, ``failed``, when even the fallback failed): a hand-over that needs no
        store. Not stored, so ``seq`` is 0."""
        return storeless_words(storable(event), self.services.community, self.services.composer, failed=failed)

    # -- delivery --------------------------------------------------------------

    async def attempting(self, action: Action) -> None:
        """``action`` is about to be sent: noted durably (``Delivery.attempting``)."""
        await self.delivery.attempting(action)

    async def performed(self, action: Action, ref: str | None = None) -> None:
        """The adapter did ``action``; ``ref`` is what it posted, if anything."""
        await self.delivery.performed(action, ref)

    async def pending(self) -> list[Action]:
        """Actions stored but not yet performed, oldest first (``Delivery.pending``)."""
        return await self.delivery.pending()

    async def to_send(self) -> list[Action]:
        """Pending actions this worker may send now, claimed for it (``Delivery.to_send``)."""
        return await self.delivery.to_send()

    async def waiting(self) -> list[Accepted]:
        """The oldest events stored but not handled yet that this worker may take (its own,
        and those of a worker whose lease ran out: it stopped, or the store failed, before
        their turn), ready for ``process``."""
        return await stored_unhandled(self.inbox, self.worker)

    # -- the learning loop --------------------------------------------------------

    async def _learn_after(self, event: Event) -> None:
        """Adapt the encoder when it falls due by the events' clock: inside this
        event in replay (deterministic), in the background on a platform."""
        from bot.learn import learn_after

        await learn_after(self, event)

    async def adopt(self, embedder: CachedEmbedder) -> None:
        """A new model answers from now on: embedder, sensitive examples, indexes."""
        from bot.learn import adopt

        await adopt(self, embedder)
