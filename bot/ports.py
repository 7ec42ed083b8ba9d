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
    and performs core actions on the platform.

    ``perform`` may be called before ``start``: on start the runtime first
    performs what a previous run stored but never sent.

    ``perform`` returns the platform reference of what it posted (a message id
    or ts) when there is one, so a staff reply to a posted card can be traced
    back to its case after a restart.
    """

    name: str

    async def start(self, sink: EventSink) -> None: ...

    async def stop(self) -> None: ...

    async def perform(self, action: Action) -> str | None: ...
