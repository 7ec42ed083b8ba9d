"""What the bot can still say when its store cannot take an event.

A full disk or a store locked by another process must not leave a member in
silence. The event is kept (by the runtime, in memory, or in the store
unhandled) and handled once the store works again; meanwhile the person hears
at once, from words that need no store: who has it and what happens next.
These replies are not stored, so they carry no outbox ``seq``.
"""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Any

from bot.actions import Action, Reply, ReplyKind
from bot.compose import Composer
from bot.events import Address, Command, Event, Feedback, Message
from bot.services import Community
from bot.text import encodable

BOT = "me (the bot)"


def storable(event: Event) -> Event:
    """``event`` with every text made storable (a lone surrogate can be neither
    stored nor sent): ids, names and roles as well as the message."""
    changes: dict[str, Any] = {}
    for field in fields(event):
        value = getattr(event, field.name)
        if isinstance(value, str):
            fixed: Any = encodable(value)
        elif isinstance(value, tuple) and all(isinstance(v, str) for v in value):
            fixed = tuple(encodable(v) for v in value)
        else:
            continue
        if fixed != value:
            changes[field.name] = fixed
    return replace(event, **changes) if changes else event


def storeless_words(event: Event, community: Community, composer: Composer, *,
                    failed: bool = False) -> list[Action]:
    """The hand-over for ``event`` while the store is failing (``failed``: the event
    could not be handled at all); nothing for events no one is waiting on."""
    if isinstance(event, Message) and not event.is_bot:
        return _about_message(event, community, composer, failed)
    if isinstance(event, Feedback | Command):
        next_step = ("it takes effect as soon as I can record it; you don't need to do it again"
                     if not failed else "please try again in a little while")
        owner = _owner(failed)
        words = composer.notice(_sorry(failed, "record that"), owner, next_step)
        address = Address(event.platform, event.space, getattr(event, "channel", ""),
                          getattr(event, "thread", None) or getattr(event, "about", None))
        return [_reply(event, address, words.text, owner, next_step, private_to=event.user)]
    return []


def _about_message(message: Message, community: Community, composer: Composer, failed: bool) -> list[Action]:
    kind = community.channel_kind(message)
    if kind == "staff":
        if message.thread is None:
            return []  # not a reply to a card
        next_step = ("I'll pass it to the asker and learn from it as soon as I can record it"
                     if not failed else "please answer the asker in their thread yourself")
        owner = _owner(failed)
        words = composer.notice(_sorry(failed, "record your reply"), owner, next_step)
        address = Address(message.platform, message.space, message.channel, message.thread)
        return [_reply(message, address, words.text, owner, next_step)]
    if kind == "other" and not message.direct:
        return []
    next_step = (f"I'll answer here as soon as I can, or pass it to {composer.team} if it needs a person; "
                 "you don't need to ask again" if not failed
                 else f"please ask again in a little while, or ask {composer.team} directly")
    owner = _owner(failed)
    words = composer.notice(_sorry(failed, "take your question in"), owner, next_step)
    dm = kind == "dm"
    address = Address(message.platform, message.space, message.channel,
                      None if dm else (message.thread or message.id), dm_user=message.user if dm else None)
    return [_reply(message, address, words.text, owner, next_step, kind="handoff")]


def _owner(failed: bool) -> str:
    """Kept, the bot still has it; failed for good, it is back with the person."""
    return "you" if failed else BOT


def _sorry(failed: bool, what: str) -> str:
    if failed:
        return f"Sorry, something went wrong on my side and I could not {what}; the error is logged for the team."
    return (f"I can't {what} properly right now because of a problem on our side, but it isn't lost: "
            "it is kept.")


def _reply(event: Event, address: Address, text: str, owner: str, next_step: str, *,
           kind: ReplyKind = "notice", private_to: str | None = None) -> Reply:
    case = event.thread if isinstance(event, Message) and event.thread else getattr(event, "about", None)
    return Reply(event=event.id, case=case or (event.id if isinstance(event, Message) else None),
                 space=event.space, address=address, text=text, kind=kind,
                 owner=owner, next_step=next_step, private_to=private_to)
