"""Slow calls (the LLM wording an answer or a recap) outside the core's lock and transaction.

An event's flow runs under the lock, in one transaction, as always. When it
asks the model for words it has not got yet, the words stand-in (``Stand``)
raises ``NeedsCall``: the transaction rolls back (nothing of the event is
stored yet, so nothing is half done), the lock is let go, and the core makes
the call with every other event free to run meanwhile. Then the flow runs
again under the lock, on the state as it is now, and gets the words it asked
for only if it asks for exactly the same (same question, thread, sources and
their versions, journey): the decision is always made on the current state.
If the case moved on while the call ran (an entry changed or was retired, the
thread grew), the flow asks differently or not at all, and the stale words are
dropped with a log line; it may ask once more, and after that it answers
without the model, as it does when the model is down.

Nothing acknowledged is lost: until the second run commits, the event is
stored and unhandled in the inbox, leased to this worker for the length of
the call, so a worker that dies during the call leaves it to the sweep (or to
itself, restarted), which handles it again from the start.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.journeys import Journey
from knowledge.entries import Entry

if TYPE_CHECKING:  # not a cycle: openai takes seconds to import, so only a configured LLM loads it
    from bot.generate import Generated

logger = logging.getLogger(__name__)

MAX_CALLS = 2  # per event: the first, and one more when the case moved on during it


class Writer(Protocol):
    """What a flow may ask of the LLM (``bot.generate.Generator``, or the stand-in for it)."""

    @property
    def model(self) -> str: ...

    @property
    def max_sources(self) -> int: ...

    async def compose(self, *, question: str, thread: Sequence[str], sources: Sequence[Entry],
                      journey: str) -> Generated: ...

    async def recap(self, journey: Journey) -> Generated: ...


@dataclass(frozen=True, slots=True)
class Call:
    """A call the flow asked for: what for (``use``), its identity (``key``), how to make it."""

    use: str
    key: str
    make: Callable[[], Awaitable[Generated]]


class NeedsCall(Exception):
    """The flow asked for words not written yet: roll back, leave the lock, make ``call``.
    ``keys``: the lock keys of what the event touches (``everything`` for all cases)."""

    def __init__(self, call: Call) -> None:
        super().__init__(f"{call.use} {call.key[:12]}")
        self.call = call
        self.keys: frozenset[str] = frozenset()
        self.everything = False


class Behind(Exception):
    """An earlier event of the same case (or person) is out on a slow call in this process:
    wait for ``done`` outside the lock, then run, so a case's events keep their order."""

    def __init__(self, event: str, done: asyncio.Event) -> None:
        super().__init__(event)
        self.event = event
        self.done = done


class OutOnCalls:
    """The lock keys of the events of this process that are out on a slow call. A first
    run of another event that touches one of them waits (``Behind``); other cases run."""

    EVERYTHING = "*"

    def __init__(self) -> None:
        self._held: dict[str, tuple[str, asyncio.Event]] = {}

    def hold(self, event: str, keys: frozenset[str], *, everything: bool = False) -> None:
        done = next((d for owner, d in self._held.values() if owner == event), asyncio.Event())
        for key in keys | ({self.EVERYTHING} if everything else set()):
            self._held.setdefault(key, (event, done))

    def check(self, event: str, keys: set[str], *, everything: bool = False) -> None:
        """Raise ``Behind`` when another event holds one of ``keys`` (any, with ``everything``)."""
        for key, (owner, done) in self._held.items():
            if owner != event and (everything or key == self.EVERYTHING or key in keys):
                raise Behind(owner, done)

    def release(self, event: str) -> None:
        mine = [key for key, (owner, _) in self._held.items() if owner == event]
        for key in mine:
            self._held.pop(key)[1].set()


def answer_key(question: str, thread: Sequence[str], sources: Sequence[Entry], journey: str) -> str:
    """What an answer's words depend on: the same key, the same prompt."""
    parts = [question, *thread, "\x00", journey, "\x00"]
    parts += [f"{e.id}@{e.version}:{e.title}\x01{e.answer}" for e in sources]
    return "answer:" + hashlib.sha256("\x02".join(parts).encode()).hexdigest()


def recap_key(journey: Journey) -> str:
    return "recap:" + hashlib.sha256(repr(journey).encode()).hexdigest()


@dataclass(slots=True)
class SlowCalls:
    """One event's slow calls across the runs of its flow: the words written so far."""

    writer: Writer
    event: str
    written: dict[str, Generated] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    calls: int = 0

    def stand_in(self) -> Stand:
        """The words for one run of the flow: new runs start with nothing used."""
        self.used = set()
        return Stand(self)

    async def make(self, call: Call) -> None:
        self.calls += 1
        self.written[call.key] = await call.make()

    def settle(self) -> None:
        """After the run that committed: words written but not used were stale."""
        for key in self.written.keys() - self.used:
            logger.info("event %s: the case moved on while the LLM wrote its %s; those words are dropped",
                        self.event, key.split(":", 1)[0])


class Stand:
    """Stands in for the ``Writer`` while a flow runs under the lock: words already
    written for exactly this request, or ``NeedsCall``."""

    def __init__(self, calls: SlowCalls) -> None:
        self._calls = calls
        self._writer = calls.writer

    @property
    def model(self) -> str:
        return self._writer.model

    @property
    def max_sources(self) -> int:
        return self._writer.max_sources

    async def compose(self, *, question: str, thread: Sequence[str], sources: Sequence[Entry],
                      journey: str) -> Generated:
        key = answer_key(question, thread, sources, journey)
        writer = self._writer
        return self._words(Call("answer", key, lambda: writer.compose(
            question=question, thread=thread, sources=sources, journey=journey)))

    async def recap(self, journey: Journey) -> Generated:
        writer = self._writer
        return self._words(Call("recap", recap_key(journey), lambda: writer.recap(journey)))

    def _words(self, call: Call) -> Generated:
        calls = self._calls
        if call.key in calls.written:
            calls.used.add(call.key)
            return calls.written[call.key]
        if calls.calls < MAX_CALLS:
            raise NeedsCall(call)
        logger.warning("event %s: the case moved on again while the LLM wrote its %s; "
                       "answered without the model", calls.event, call.use)
        return _without_model(call.use, self._writer.model)


def _without_model(use: str, model: str) -> Generated:
    from bot.generate import Generated

    return Generated("answer" if use == "answer" else "recap", None, None, (), model, None,
                     fallback="moved_on")
