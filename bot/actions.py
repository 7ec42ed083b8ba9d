"""What the core decides: platform-neutral actions, performed by adapters.

Every action is stored before it is performed and marked when done, so a
crash delays but never drops or doubles it. How it travels is not part of
the decision, and not part of its JSON: ``seq`` is the outbox id the runtime
uses to mark it performed (0 until stored, and for the few words the bot
says without a store); ``key`` is unique to the action across stores, for the
platform send to carry; ``resend`` says it may have been sent before (a
retry, or left over from an earlier run), so an adapter looks for it on the
platform before sending it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bot.events import Address

logger = logging.getLogger(__name__)

ReplyKind = Literal["answer", "clarify", "handoff", "relay", "notice"]
RouteReason = Literal[
    "low_confidence",
    "conflict",
    "stale",
    "human_requested",
    "sensitive",
    "promise",
    "reopened",
]

# Buttons an answer carries on platforms that have them.
FEEDBACK_BUTTONS: tuple[str, ...] = ("solved", "not_solved", "human")


@dataclass(frozen=True, slots=True)
class Citation:
    """A source an answer stands on: entry id and version, title and link."""

    entry: str
    version: int
    title: str
    url: str | None = None
    section: str | None = None  # a docs entry's file and heading path


@dataclass(frozen=True, slots=True)
class Candidate:
    """A knowledge entry considered for a question, with its score."""

    entry: str
    score: float
    title: str = ""
    version: int = 1


@dataclass(frozen=True, slots=True)
class Action:
    """Fields every action carries: the causing event, the case and space."""

    event: str
    case: str | None
    space: str
    seq: int = 0
    key: str = ""
    resend: bool = False


@dataclass(frozen=True, slots=True)
class Reply(Action):
    """The bot posts in a thread (or privately to ``private_to``).

    Non-resolving replies (``handoff``, ``clarify``, ``notice``) carry
    ``owner`` and ``next_step``, which their text also states.
    """

    address: Address = field(default_factory=lambda: Address("replay", "default", ""))
    text: str = ""
    kind: ReplyKind = "notice"
    sources: tuple[str, ...] = ()
    confidence: float = 0.0
    by: str | None = None
    options: tuple[str, ...] = ()
    owner: str | None = None
    next_step: str | None = None
    citations: tuple[Citation, ...] = ()
    buttons: tuple[str, ...] = ()
    private_to: str | None = None
    model: str | None = None  # the encoder version that decided (answers and clarifying questions)


@dataclass(frozen=True, slots=True)
class Card:
    """Everything a staff member needs to answer without asking again.

    The labels are the core's words for its own vocabulary, filled in where
    the card is built (``bot.cards.labelled``), so an adapter draws a card
    without knowing the core's constants:

    - ``reason_label``: why the case is with staff, in words.
    - ``owner_label``: who has it ("nobody yet (staff queue)", "the bot", or
      the person's name (``owner_name``, else their user id); see ``owner_user``).
    - ``owner_user``: the platform user id of the staff member who owns the
      case, ``None`` when no person does; an adapter shows their name.
    - ``status_label``: where the case stands; ``headline``: the card's
      title word ("Needs a person", "Answered", "Solved", "Closed").
    - ``awaiting_staff``: the staff buttons (take it, send the suggested
      answer) still apply.
    - ``reply_label``: what a staff reply on the card does ("your reply goes to
      the asker and becomes knowledge; start it with noteach: …"); the adapter
      says where to reply on its platform.
    - ``suggested_entry``, ``suggested_score``: the entry "Send suggested
      answer" sends and how close it is to the question; set only when the
      best candidate is one the policy finds plausible (``bot.policy.plausible``),
      so an adapter offers the button only then. ``suggested`` is its answer.

    A card stored by an older version has empty labels; adapters then show
    the raw ``reason``, ``owner`` and ``status``.
    """

    question: str
    asker: str
    asker_name: str | None
    reason: str
    journey_summary: str
    candidates: tuple[Candidate, ...]
    case_address: Address
    owner: str
    status: str
    conversation: tuple[str, ...] = ()
    suggested: str | None = None
    reason_label: str = ""
    owner_label: str = ""
    owner_user: str | None = None
    status_label: str = ""
    headline: str = ""
    awaiting_staff: bool = True
    suggested_entry: str | None = None
    suggested_score: float | None = None
    owner_name: str | None = None
    reply_label: str = ""


@dataclass(frozen=True, slots=True)
class Route(Action):
    """A card in the staff channel with the case's whole context."""

    address: Address = field(default_factory=lambda: Address("replay", "default", ""))
    card: str = ""
    reason: RouteReason = "low_confidence"
    candidates: tuple[Candidate, ...] = ()
    text: str = ""
    content: Card | None = None


@dataclass(frozen=True, slots=True)
class CardUpdate(Action):
    """An existing card changed: taken, answered, resolved, closed.

    ``card_ref`` is the platform message the card was posted as, when known.
    """

    address: Address = field(default_factory=lambda: Address("replay", "default", ""))
    card: str = ""
    card_ref: str | None = None
    text: str = ""
    content: Card | None = None


@dataclass(frozen=True, slots=True)
class Learned(Action):
    """A staff answer became knowledge."""

    entry: str = ""
    version: int = 1
    from_user: str = ""
    question: str = ""
    answer: str = ""
    supersedes: str | None = None


@dataclass(frozen=True, slots=True)
class Private(Action):
    """A thread moved to a direct message with ``user``."""

    user: str = ""
    channel: str = ""
    text: str = ""
    address: Address | None = None


ACTION_TYPES: dict[type[Action], str] = {
    Reply: "reply",
    Route: "route",
    CardUpdate: "card_update",
    Learned: "learned",
    Private: "private",
}


Send = Callable[[Any], Awaitable[str | None]]


class Renderer(Protocol):
    """A platform's rendering of each action it posts (the adapters' outbound)."""

    async def reply(self, action: Reply, /) -> str | None: ...
    async def route(self, action: Route, /) -> str | None: ...
    async def card_update(self, action: CardUpdate, /) -> str | None: ...
    async def private(self, action: Private, /) -> str | None: ...


def sender_for(renderer: Renderer, action: Action, platform: str) -> Send | None:
    """The renderer's method that posts ``action``; None when there is nothing to post
    (a ``Learned`` action: the card update says it) or the platform has no rendering for
    it (logged)."""
    if isinstance(action, Learned):
        return None
    senders: dict[type[Action], Send] = {Reply: renderer.reply, Route: renderer.route,
                                         CardUpdate: renderer.card_update, Private: renderer.private}
    sender = senders.get(type(action))
    if sender is None:
        logger.warning("no %s rendering for %s: skipped", platform, type(action).__name__)
    return sender
