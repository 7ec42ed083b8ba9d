"""Talk to the core like a transcript: ask as a member, answer as staff,
read back what the bot did.

    said = await chat.ask("how do I rotate my API key?")
    assert said.reply.kind == "answer"
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.actions import Action, CardUpdate, Learned, Private, Reply, Route
from bot.core import Core
from bot.events import Command, Delete, Edit, Event, Feedback, Message, Tick
from bot.settings import Settings
from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder
from storage import database_for

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def make_core(embedder: CachedEmbedder, *, kb: Path | None = None, db: str = ":memory:",
                    worker: str | None = None, **settings: Any) -> Core:
    from bot.startup import make_detector
    from knowledge.files import read_file
    from knowledge.importer import import_drafts

    config = Settings(db=db, **settings)
    database = database_for(db)
    await database.open()
    knowledge = KnowledgeBase(database, embedder, hnsw_min=config.index_hnsw_min,
                              support_k=config.policy.support_k, batch_window=config.embed_batch_ms / 1000,
                              batch_max=config.embed_batch_max)
    await knowledge.open()
    detector = make_detector(config, embedder)
    detector.prepare()
    core = Core(settings=config, db=database, kb=knowledge, sensitive=detector, worker=worker)
    if kb is not None:
        parsed = read_file(kb)
        await import_drafts(knowledge, parsed.drafts, author="test", at=START - timedelta(days=30))
    return core


class Said(list[Action]):
    """What the bot did about one event."""

    @property
    def replies(self) -> list[Reply]:
        return [a for a in self if isinstance(a, Reply)]

    @property
    def reply(self) -> Reply:
        public = [r for r in self.replies if r.private_to is None]
        assert public, f"expected a reply, got {self.kinds()}"
        return public[-1]

    @property
    def route(self) -> Route:
        routes = [a for a in self if isinstance(a, Route)]
        assert len(routes) == 1, f"expected one route, got {self.kinds()}"
        return routes[0]

    @property
    def routed(self) -> bool:
        return any(isinstance(a, Route) for a in self)

    @property
    def learned(self) -> Learned:
        found = [a for a in self if isinstance(a, Learned)]
        assert len(found) == 1, f"expected one learned, got {self.kinds()}"
        return found[0]

    @property
    def card_updates(self) -> list[CardUpdate]:
        return [a for a in self if isinstance(a, CardUpdate)]

    @property
    def private(self) -> Private:
        found = [a for a in self if isinstance(a, Private)]
        assert len(found) == 1, f"expected one private move, got {self.kinds()}"
        return found[0]

    def kinds(self) -> list[str]:
        return [a.kind if isinstance(a, Reply) else type(a).__name__ for a in self]

    def to(self, case: str) -> list[Reply]:
        return [r for r in self.replies if r.case == case]


class Chat:
    """A help channel, a staff channel and a clock, talking to one core."""

    def __init__(self, core: Core, *, space: str = "default") -> None:
        self.core = core
        self.space = space
        self.now = START
        self._ids = itertools.count(1)

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids)}"

    async def send(self, event: Event) -> Said:
        self.now += timedelta(seconds=1)
        actions = await self.core.handle(event)
        for action in actions:
            await self.core.performed(action, action.card if isinstance(action, Route) else None)
        return Said(actions)

    async def ask(self, text: str, *, user: str = "u1", channel: str = "help", id: str | None = None,
                  user_name: str | None = None, space: str | None = None, **fields: Any) -> Said:
        return await self.send(Message(id=id or self._next("m"), at=self.now, space=space or self.space,
                                       user=user, user_name=user_name, channel=channel, text=text,
                                       **fields))

    async def say(self, text: str, *, thread: str, user: str = "u1", channel: str = "help",
                  roles: tuple[str, ...] = (), space: str | None = None, **fields: Any) -> Said:
        return await self.send(Message(id=self._next("t"), at=self.now, space=space or self.space,
                                       user=user, channel=channel, text=text, thread=thread,
                                       roles=roles, **fields))

    async def staff(self, text: str, *, card: str, user: str = "alice",
                    roles: tuple[str, ...] = ("staff",), space: str | None = None) -> Said:
        return await self.send(Message(id=self._next("s"), at=self.now, space=space or self.space,
                                       user=user, user_name=user.title(), channel="staff", text=text,
                                       thread=card, roles=roles))

    async def press(self, about: str, value: str, *, user: str = "u1") -> Said:
        return await self.send(Feedback(id=self._next("f"), at=self.now, space=self.space, user=user,
                                        about=about, value=value))  # type: ignore[arg-type]

    async def command(self, name: str, *, user: str, roles: tuple[str, ...] = (), about: str | None = None,
                      thread: str | None = None, args: str | None = None, channel: str = "help") -> Said:
        return await self.send(Command(id=self._next("c"), at=self.now, space=self.space, user=user,
                                       roles=roles, name=name, about=about, thread=thread, args=args,
                                       channel=channel))

    async def send_command_in(self, space: str, name: str, **fields: Any) -> Said:
        saved, self.space = self.space, space
        try:
            return await self.command(name, **fields)
        finally:
            self.space = saved

    async def edit(self, about: str, text: str, *, user: str = "u1") -> Said:
        return await self.send(Edit(id=self._next("e"), at=self.now, space=self.space, user=user,
                                    about=about, text=text))

    async def delete(self, about: str, *, user: str = "u1") -> Said:
        return await self.send(Delete(id=self._next("d"), at=self.now, space=self.space, user=user,
                                      about=about))

    async def tick(self, **delta: float) -> Said:
        self.now += timedelta(**delta)
        return await self.send(Tick(id=self._next("tick"), at=self.now, space=self.space))
