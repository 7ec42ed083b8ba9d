"""The chat page's two channels, as the web adapter performs actions into them.

A help channel (members ask; the bot answers in the question's thread) and a
staff channel (cards, their updates, what was learned). Kept in memory per
space: the page is a place to try the bot, and the event log keeps the record.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import datetime

from bot.actions import Action, Candidate, CardUpdate, Learned, Private, Reply, Route

KEEP = 400  # posts per space


@dataclass(frozen=True, slots=True)
class Post:
    """One line in a channel. ``thread`` is the case key in the help channel,
    the card id in the staff channel."""

    id: str
    channel: str  # help | staff
    at: datetime
    who: str
    text: str
    kind: str = "message"  # message | answer | clarify | handoff | relay | notice | card | learned | private
    thread: str | None = None
    case: str | None = None
    card: str | None = None
    buttons: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    options: tuple[str, ...] = ()
    private_to: str | None = None
    candidates: tuple[Candidate, ...] = ()
    suggested: str | None = None
    reason: str | None = None
    notes: tuple[str, ...] = ()
    entry: str | None = None
    version: int | None = None

    @property
    def order(self) -> int:
        return int(self.id.removeprefix("p"))


@dataclass(slots=True)
class Room:
    """The posts of one space, oldest first."""

    posts: deque[Post] = field(default_factory=lambda: deque(maxlen=KEEP))

    def add(self, post: Post) -> None:
        self.posts.append(post)

    def card_note(self, card: str, note: str) -> None:
        for n, post in enumerate(self.posts):
            if post.kind == "card" and post.card == card:
                self.posts[n] = replace(post, notes=(*post.notes, note))
                return

    def channel(self, name: str, *, viewer: str | None = None) -> list[Post]:
        """A channel's posts; private ones only for the person they were for."""
        return [p for p in self.posts if p.channel == name and (p.private_to is None or p.private_to == viewer)]


class Rooms:
    """Every space's room, and how actions land in them."""

    def __init__(self, *, staff_channel: str = "staff") -> None:
        self.staff_channel = staff_channel
        self._rooms: dict[str, Room] = {}
        self._ids = itertools.count(1)

    def of(self, space: str) -> Room:
        return self._rooms.setdefault(space, Room())

    def next_id(self) -> str:
        return f"p{next(self._ids)}"

    def said(self, *, space: str, channel: str, who: str, text: str, at: datetime, thread: str | None,
             case: str | None = None) -> None:
        """Someone on the page wrote: shown as they wrote it (the core redacts what it keeps)."""
        self.of(space).add(Post(self.next_id(), channel, at, who, text, thread=thread, case=case))

    def perform(self, action: Action, at: datetime) -> str | None:
        """Put an action where a person would see it; returns its reference."""
        room = self.of(action.space)
        post_id = self.next_id()
        if isinstance(action, Reply):
            channel = "staff" if action.address.channel == self.staff_channel else "help"
            room.add(Post(post_id, channel, at, "journeybot", action.text, kind=action.kind,
                          thread=action.address.thread or action.case, case=action.case,
                          buttons=action.buttons, sources=action.sources, options=action.options,
                          private_to=action.private_to))
            return post_id
        if isinstance(action, Route):
            content = action.content
            room.add(Post(post_id, "staff", at, "journeybot", action.text, kind="card", thread=action.card,
                          case=action.case, card=action.card, candidates=action.candidates,
                          suggested=content.suggested if content else None, reason=action.reason))
            return action.card
        if isinstance(action, CardUpdate):
            room.card_note(action.card, action.text)
            return action.card_ref or action.card
        if isinstance(action, Learned):
            how = f"a new version of {action.supersedes}" if action.supersedes else "knowledge"
            room.add(Post(post_id, "staff", at, "journeybot",
                          f"Learned {action.entry} v{action.version} ({how}) from {action.from_user}: "
                          f"“{action.question}” → {action.answer}", kind="learned", case=action.case,
                          entry=action.entry, version=action.version))
            return post_id
        if isinstance(action, Private):
            room.add(Post(post_id, "help", at, "journeybot", action.text, kind="private", case=action.case,
                          thread=action.case, private_to=action.user))
            return action.channel
        return None
