"""The core's ports: the one small interface every adapter implements.

Adapters live in ``adapters/`` and import this; the core never imports them.
The command line finds them through the ``journeybot.adapters`` and
``journeybot.cli`` entry points (see ``pyproject.toml``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.actions import Action
from bot.events import Event

EventSink = Callable[[Event], Awaitable[None]]


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

        ``sink`` (the runtime's) handles the event in one transaction, storing
        it with the actions it caused, then performs them; it logs a failure
        rather than raising. An adapter that acknowledges the platform only
        after ``sink`` returned lets the platform deliver again what a crash
        cut short (DESIGN.md, "nothing is lost").
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
        """
        ...
