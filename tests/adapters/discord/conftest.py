"""A real core, the real discord.py client and the Discord adapter, against the
fake gateway + REST API on loopback.

discord.py logs and swallows exceptions raised in event handlers, views and
app commands, and the runtime logs (and swallows) a failing delivery, so a
test could pass while the bot is broken: every ERROR record logged during a
test fails it unless the test says it expects one.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.settings import DiscordSettings
from bot.core import Core
from bot.events import Event
from bot.ports import AcceptHook
from bot.runtime import Runtime
from tests.adapters.discord import payloads as p
from tests.adapters.discord.fake import FakeDiscord
from tests.chat import make_core
from tests.conftest import DEMO_KB

SETTINGS = DiscordSettings(guild_ids=[int(p.GUILD_ID)], help_channels=["help", p.FORUM_ID],
                           staff_channel="staff", staff_roles=["staff"], moderator_roles=[p.MOD_ROLE])


class ErrorLog(logging.Handler):
    """Collects ERROR records from every logger."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.expected: list[re.Pattern[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def expect(self, pattern: str) -> None:
        self.expected.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        out = []
        for r in self.records:
            text = r.getMessage() + ("\n" + logging.Formatter().formatException(r.exc_info) if r.exc_info else "")
            if not any(e.search(text) for e in self.expected):
                out.append(f"{r.name}: {text}")
        return out


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    assert handler.unexpected() == [], "errors were logged (and swallowed) during the test"


@pytest_asyncio.fixture(loop_scope="function")
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    server = await FakeDiscord().start()
    server.patch(monkeypatch)
    try:
        yield server
    finally:
        await server.close()
    assert server.errors == [], f"the fake itself failed: {server.errors!r}"


class Bot:
    """The runtime with one Discord adapter, started and stopped by the test."""

    def __init__(self, fake: FakeDiscord, core: Core, settings: DiscordSettings = SETTINGS) -> None:
        self.fake = fake
        self.core = core
        self.settings = settings
        self.delivered: list[Event] = []  # events the core finished with
        self._changed = asyncio.Event()
        self.adapter: DiscordAdapter | None = None
        self.runtime: Runtime | None = None

    async def start(self, **options: Any) -> Bot:
        self.adapter = DiscordAdapter(self.settings, token=self.fake.token,
                                      client_options={"guild_ready_timeout": 0.05, **options})
        self.runtime = Runtime(self.core, [self.adapter])
        deliver = self.runtime.deliver_quietly

        async def counted(event: Event, *, accepted: AcceptHook | None = None) -> None:
            await deliver(event, accepted=accepted)
            self.delivered.append(event)
            self._changed.set()

        self.runtime.deliver_quietly = counted  # type: ignore[method-assign]
        await asyncio.wait_for(self.runtime.start(), 10)
        return self

    async def stop(self) -> None:
        if self.runtime is not None:
            await self.runtime.stop()
            self.runtime = None

    async def handled(self, count: int, within: float = 10.0) -> list[Event]:
        """Wait until the core handled ``count`` events in all (and their actions were performed)."""
        async def poll() -> list[Event]:
            while len(self.delivered) < count:
                self._changed.clear()
                await self._changed.wait()
            return self.delivered
        try:
            return await asyncio.wait_for(poll(), within)
        except TimeoutError:
            raise AssertionError(f"only {len(self.delivered)} of {count} events handled: "
                                 f"{self.delivered!r}") from None


@pytest_asyncio.fixture(loop_scope="function")
async def core(embedder: Any, tmp_path: Path) -> AsyncIterator[Core]:
    """A core with the demo knowledge, on a database file (restarts reopen it)."""
    made = await make_core(embedder, kb=DEMO_KB, db=str(tmp_path / "journeybot.db"))
    try:
        yield made
    finally:
        await made.close()


@pytest_asyncio.fixture(loop_scope="function")
async def bot(fake: FakeDiscord, core: Core, error_log: ErrorLog) -> AsyncIterator[Bot]:
    running = await Bot(fake, core).start()
    try:
        yield running
    finally:
        await asyncio.sleep(0.02)  # let in-flight handlers finish
        await running.stop()
