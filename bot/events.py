"""What the core hears: platform-neutral events, built by adapters.

Adapters translate a platform's payloads into these frozen records; the core
never sees a Discord or Slack object. Derive changed copies with
``dataclasses.replace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ChannelKind = Literal["help", "staff", "dm", "other"]
FeedbackValue = Literal["solved", "not_solved", "human"]


@dataclass(frozen=True, slots=True)
class Event:
    """Fields every event carries.

    ``id`` is unique per space (for messages: the platform message id).
    ``roles`` are core role names (``staff``, ``moderator``); adapters map
    platform roles, user groups or ids onto them.
    """

    id: str
    at: datetime
    space: str = "default"
    user: str = ""
    user_name: str | None = None
    roles: tuple[str, ...] = ()
    platform: str = "replay"


@dataclass(frozen=True, slots=True)
class Message(Event):
    """Someone wrote something.

    ``thread`` is the id of the thread's root message (or of a staff card),
    ``None`` for a top-level message. ``channel_kind`` is set by adapters that
    know their configured channels; when ``None`` the core compares ``channel``
    and ``channel_name`` with its settings. ``direct`` marks a mention of the
    bot or a direct message: a question asked of the bot outside help channels.
    """

    channel: str = ""
    text: str = ""
    thread: str | None = None
    channel_name: str | None = None
    channel_kind: ChannelKind | None = None
    direct: bool = False
    is_bot: bool = False


@dataclass(frozen=True, slots=True)
class Feedback(Event):
    """A button press or reaction about the case opened by message ``about``."""

    about: str = ""
    value: FeedbackValue = "solved"


@dataclass(frozen=True, slots=True)
class Command(Event):
    """A slash command or a staff button.

    Names: ``private``, ``recap`` (anyone may ask for their own recap),
    ``claim`` ("I'll take it") and ``send_suggested`` (staff, on a card; ``args``
    may name the entry to send).
    """

    name: str = ""
    about: str | None = None
    args: str | None = None
    channel: str = ""
    thread: str | None = None


@dataclass(frozen=True, slots=True)
class Edit(Event):
    """The message ``about`` was edited to ``text``."""

    about: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Delete(Event):
    """The message ``about`` was deleted."""

    about: str = ""


@dataclass(frozen=True, slots=True)
class Tick(Event):
    """Time passes to ``at``: reminders, auto-resolve, staleness."""


EVENT_TYPES: dict[str, type[Event]] = {
    "message": Message,
    "feedback": Feedback,
    "command": Command,
    "edit": Edit,
    "delete": Delete,
    "tick": Tick,
}

TYPE_NAMES: dict[type[Event], str] = {cls: name for name, cls in EVENT_TYPES.items()}


def type_name(event: Event) -> str:
    """The wire name of an event's type (``message``, ``feedback`` …)."""
    return TYPE_NAMES[type(event)]


@dataclass(frozen=True, slots=True)
class Address:
    """Where a reply goes, captured when a message arrives.

    ``thread`` is the platform thread (for a new case: the opening message's
    id, the adapter creates the thread if the platform needs one).
    ``dm_user`` is set once a case has moved to a direct message.
    """

    platform: str
    space: str
    channel: str
    thread: str | None = None
    dm_user: str | None = None
