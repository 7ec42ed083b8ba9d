"""The one place where a page's button becomes a core command.

A form post names a command (``claim`` and ``send_suggested`` on a card;
``approve``, ``reject``, ``edit``, ``settle``, ``renew``, ``retire`` in the
review queues), what it is about and its arguments. It is checked here for what only the page can
know — is this person allowed to change anything, was the form made from what
is still there — then sent to the core as a ``Command`` event from the
person, exactly as a platform's slash command would be. The core decides and
records it (with who did it) in the event log; its private answer to the
person is the outcome the page shows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from adapters.web.access import User
from bot.actions import Action, Reply
from bot.events import Command

logger = logging.getLogger(__name__)

Guard = Callable[[], Awaitable[str | None]]

# Commands a console page may send, and the console role each needs beyond
# "not a viewer" (the core checks its own roles again).
PAGE_COMMANDS: dict[str, tuple[str, ...]] = dict.fromkeys(
    ("claim", "send_suggested", "approve", "reject", "edit", "settle", "renew", "retire"), ("admin", "staff"))

VIEWER_REFUSED = "You have read-only access: nothing was changed. Ask an admin for a staff account."


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened, in words for the page; ``status`` is the HTTP status."""

    ok: bool
    message: str
    status: int = 200
    actions: tuple[Action, ...] = ()


async def run_command(
    console: object,
    user: User,
    *,
    name: str,
    space: str,
    about: str | None = None,
    args: str | None = None,
    thread: str | None = None,
    guard: Guard | None = None,
    moved: Callable[[], Awaitable[bool]] | None = None,
) -> Outcome:
    """Send ``name`` to the core as ``user``; ``guard`` returns why the form is
    stale (``None`` when it still matches what is stored). ``moved`` tells
    whether the command changed what it is about, for a command whose actions
    land on another platform (this adapter sees only its own)."""
    if not user.can_change:
        logger.info("web: viewer %s tried %s on %s: refused", user.name, name, about)
        return Outcome(False, VIEWER_REFUSED, 403)
    allowed = PAGE_COMMANDS.get(name)
    if allowed is None:
        return Outcome(False, f"The console has no command “{name}”.", 400)
    if user.role not in allowed:
        return Outcome(False, f"A {user.role} cannot {name}: nothing was changed.", 403)
    if guard is not None:
        stale = await guard()
        if stale:
            logger.info("web: %s's %s on %s refused: stale form (%s)", user.name, name, about, stale)
            return Outcome(False, stale, 409)
    adapter = console.adapter  # type: ignore[attr-defined]
    settings = console.core.settings  # type: ignore[attr-defined]
    event = Command(id=adapter.event_id(), at=datetime.now(UTC), space=space, user=user.core_id,
                    user_name=user.name, roles=core_roles(user, settings), platform="web", name=name, about=about,
                    args=args, channel=settings.staff_channel, thread=thread)
    actions = tuple(await adapter.deliver(event))
    answer = next((a for a in actions if isinstance(a, Reply) and a.private_to == user.core_id), None)
    if answer is not None and refused(answer):
        return Outcome(False, answer.text, 409, actions)
    if not actions and not (moved is not None and await moved()):
        return Outcome(False, "The bot did not act on this (it may have been done already).", 409, actions)
    message = answer.text if answer is not None else describe(actions)
    return Outcome(True, message, 200, actions)


def core_roles(user: User, settings: Any) -> tuple[str, ...]:
    """The core's names for what the person may do (the settings name the staff and moderator roles)."""
    names = {"staff": settings.staff_role, "moderator": settings.moderator_role}
    return tuple(names[role] for role in user.core_roles)


def refused(reply: Reply) -> bool:
    """The core refuses a command with a private notice whose next step says nothing changed."""
    return reply.kind == "notice" and (reply.next_step or "").startswith("nothing changed")


def describe(actions: tuple[Action, ...]) -> str:
    replies = [a for a in actions if isinstance(a, Reply) and a.private_to is None]
    if replies:
        return f"Done. The bot said in the thread: “{replies[-1].text}”"
    return "Done."
