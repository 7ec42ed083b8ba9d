"""Past threads as the readers hand them over, whatever the platform.

A reader turns one export (Slack's, DiscordChatExporter's) into ``Thread``s
of ``Post``s by ``Person``s; ``knowledge.threads.qa`` decides whether a
thread holds a member's question that staff answered. Message text keeps
mentions as ``<@id>`` so the decision can tell staff from members when it
renders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who wrote in an export: id, display name, other names, roles."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    bot: bool = False


@dataclass(frozen=True, slots=True)
class Post:
    """One message of a thread; ``accepted_by`` are the people who marked it
    with an accepting reaction (a check mark, a thumbs-up)."""

    id: str
    author: Person
    at: datetime
    text: str
    accepted_by: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Thread:
    """A conversation: its opening post first, replies in time order.

    ``key`` is stable across exports (platform, channel and opening message),
    so importing the same thread again finds the entry it made before.
    """

    platform: str
    channel_id: str
    channel: str
    posts: tuple[Post, ...]
    link: str | None = None
    title: str | None = None
    source: str = ""  # the export file or folder it came from

    @property
    def key(self) -> str:
        root = "".join(c for c in self.posts[0].id if c.isalnum())
        return f"{self.platform}-{self.channel_id}-{root}"

    @property
    def opened(self) -> datetime:
        return self.posts[0].at


@dataclass(frozen=True, slots=True)
class Staff:
    """Who counts as staff in an export: user ids, names or roles.

    Names match a person's display name, user name or real name; roles
    match a Discord role's name or id as the export records it, and on Slack
    ``admin``/``owner`` (workspace admins and owners). All case-insensitive,
    a leading ``@`` ignored. Ids are the safest (names change and repeat).
    """

    ids: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    roles: frozenset[str] = frozenset()

    @classmethod
    def named(cls, people: Iterable[str] = (), roles: Iterable[str] = ()) -> Staff:
        who = [p.strip().lstrip("@") for p in people if p.strip()]
        return cls(ids=frozenset(who), names=frozenset(p.casefold() for p in who),
                   roles=frozenset(r.strip().lstrip("@").casefold() for r in roles if r.strip()))

    def __bool__(self) -> bool:
        return bool(self.ids or self.roles)

    def __contains__(self, person: object) -> bool:
        if not isinstance(person, Person) or person.bot:
            return False
        if person.id in self.ids:
            return True
        if any(n.casefold() in self.names for n in (person.name, *person.aliases) if n):
            return True
        return any(r.casefold() in self.roles for r in person.roles)


@dataclass(slots=True)
class Tally:
    """What a reader passed over, counted by reason, for the import report."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, reason: str, n: int = 1) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + n

    def lines(self) -> list[str]:
        return [f"{n:,} {reason}" for reason, n in sorted(self.counts.items(), key=lambda kv: -kv[1])]


Directory = Mapping[str, Person]
