"""The core's ports: the one small interface every adapter implements.

Adapters live in ``adapters/`` and import this; the core never imports them.
The command line finds them through the ``journeybot.adapters`` and
``journeybot.cli`` entry points (see ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.actions import Action
from bot.events import Event

# What became of an event handed to the sink, as soon as that is known:
# - "stored": it is in the store, durably: acknowledge it.
# - "seen": it was stored before (a redelivery): acknowledge it.
# - "ignored": it is not for the bot (chatter, the bot's own posts): acknowledge it.
# - "held": the store cannot take it now; the runtime keeps it in memory, tells the
#   person, and handles it once the store is back. Not durable: where the platform
#   delivers again what is not acknowledged (Slack's Events API), let it.
# - "refused": not taken at all (the runtime is stopping, or too much is held): the
#   platform should deliver it again.
Verdict = Literal["stored", "seen", "ignored", "held", "refused"]
DURABLE: frozenset[Verdict] = frozenset({"stored", "seen", "ignored"})
AcceptHook = Callable[[Verdict], None]


@dataclass(frozen=True, slots=True)
class Health:
    """How the runtime is doing, for an adapter that serves a health check.

    ``ok`` is false while the store fails (since ``since``, with ``error``);
    ``held`` events wait in memory for the store, ``waiting`` in the store for
    their turn (after a restart or an outage), ``unsent`` actions for the platform.
    """

    ok: bool = True
    since: datetime | None = None
    error: str | None = None
    held: int = 0
    waiting: bool = False
    unsent: int = 0
    store: str = ""  # the store's last health check, one line ("" before the first)

    def describe(self) -> str:
        """The first line says ok or what fails; a second, when known, the store's state."""
        if self.ok:
            busy = " (catching up)" if self.waiting else ""
            first = f"ok{busy}"
        else:
            when = self.since.isoformat(timespec="seconds") if self.since else "?"
            first = (f"the store is failing since {when}: {self.error}; {self.held} event(s) held in memory "
                     "until it works again")
        return first + (f"\nstore: {self.store}" if self.store else "")


class EventSink(Protocol):
    """The runtime's door: adapters hand it each event, and may ask how the runtime is doing.

    ``await sink(event)`` returns once the event was handled and its actions
    performed (or queued for later). ``accepted``, when given, is called as soon
    as the event's fate at the door is known (see ``Verdict``), usually a few
    milliseconds in: an adapter acknowledges the platform then, not before, so
    nothing it acknowledged can be lost.
    """

    async def __call__(self, event: Event, *, accepted: AcceptHook | None = None) -> None: ...

    def health(self) -> Health: ...


class NotReady(ConnectionError):
    """The adapter cannot perform yet (still connecting); the runtime retries quietly."""


class Adapter(Protocol):
    """A platform edge: it turns platform events into core events for ``sink``
    and performs core actions on the platform. ``docs/adapters.md`` is the
    template for writing one.

    ``name`` is the platform the adapter's events carry (``Event.platform``);
    the runtime sends an action to the adapter whose name its address carries.

    Lifecycle: ``__init__`` does no I/O; then ``start``; then ``stop``, which is
    also safe after a failed ``start``, without ``start``, and twice.
    """

    name: str

    async def start(self, sink: EventSink) -> None:
        """Connect and begin handing events to ``sink``.

        A live platform adapter returns as soon as it is connected and
        listening (the gateway is ready, the socket or HTTP server is up): from
        then on, events reach ``sink`` from the adapter's own tasks, one task
        per event, until ``stop``. An adapter driven by a finite input (replay,
        terminal) hands its events over one after another and returns when the
        input ends. Raises, with a message an operator can act on, when the
        platform refuses it (a bad token, a missing permission); ``stop`` then
        releases whatever it had opened.

        ``sink`` (the runtime's) stores the event, durably, then handles it in
        one transaction, storing it with the actions it caused, then performs
        them; it logs a failure rather than raising. Acknowledge the platform
        only once ``accepted`` said the event is durable (``DURABLE``), so the
        platform delivers again what a crash cut short (DESIGN.md, "nothing is
        lost"); ``docs/adapters.md`` says how for Slack and Discord.
        """
        ...

    async def stop(self) -> None:
        """Stop taking events, give those already handed to ``sink`` a short while
        to finish (their actions are still performed), cancel what is left and
        release every connection. Once ``stop`` returns, no new event reaches
        ``sink``. An event cut short is never half-handled: the core stored it
        with all its actions, whose unsent ones wait in the outbox for the
        next run, or it stored nothing.
        """
        ...

    async def perform(self, action: Action) -> str | None:
        """Do ``action`` on the platform and return the platform reference of
        what it posted (a message id or ts) when there is one, so a staff
        reply to a posted card can be traced back to its case after a restart.

        May be called before ``start``: on start the runtime first performs
        what a previous run stored but never sent; raise ``NotReady`` while the
        platform cannot be reached yet. Raise any other exception for a failure
        that may pass (the action stays in the outbox and is retried, in order,
        with backoff); log and return ``None`` for one that never will (the
        channel is gone, the bot was removed), so it does not hold up the rest.

        Send ``action.key`` with what you post, where the platform lets a send
        be recognised (Discord: the message nonce; Slack: message metadata).
        ``action.resend`` means it may have been posted already (a crash came
        between the post and its record): find it by its key and return its
        reference instead of posting it again.
        """
        ...
