"""A Slack workspace on loopback: the real Bolt app served over HTTP, its Web
API calls going to ``FakeSlack``, the real core behind it.

    ts = await slack.say("how do I rotate my API key?")
    answer = (await slack.fake.wait_for("chat.postMessage", thread_ts=ts))[0]

The fixtures run in the test's own event loop (the project default puts async
fixtures in the session loop): the servers must be running while the test runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from adapters.slack.adapter import SlackAdapter
from adapters.slack.settings import SlackSettings
from bot.core import Core
from bot.runtime import Runtime
from knowledge.embedder import CachedEmbedder
from tests.adapters.slack import payloads
from tests.adapters.slack.fake import APP_TOKEN, BOT_TOKEN, HELP, Call, FakeSlack
from tests.chat import make_core
from tests.conftest import DEMO_KB

ANSWERABLE = "how do I rotate my API key?"
UNANSWERABLE = "does tidepool have a gantt chart view?"


def slack_settings(fake: FakeSlack, **overrides: Any) -> SlackSettings:
    values: dict[str, Any] = {
        "bot_token": BOT_TOKEN, "app_token": APP_TOKEN, "signing_secret": payloads.SECRET,
        "api_url": fake.api_url, "help_channels": ["#help"], "staff_channel": "staff",
        "staff_users": ["UALICE"], "staff_groups": ["@support"], "moderator_groups": ["mods"],
        "post_interval_seconds": 0.0, **overrides}
    return SlackSettings(**values)


class Workspace:
    """Say things in Slack as members and staff; read what the fake Web API received."""

    def __init__(self, fake: FakeSlack, adapter: SlackAdapter, core: Core, http: aiohttp.ClientSession) -> None:
        self.fake = fake
        self.adapter = adapter
        self.core = core
        self.http = http

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.port}/slack/events"

    async def send(self, body: str, content_type: str, *, headers: dict[str, str] | None = None,
                   secret: str = payloads.SECRET, at: int | None = None) -> tuple[int, str]:
        signed = payloads.signed_headers(body, content_type, secret=secret, at=at)
        async with self.http.post(self.url, data=body, headers={**signed, **(headers or {})}) as response:
            return response.status, await response.text()

    async def event(self, event: dict[str, Any], *, event_id: str | None = None,
                    headers: dict[str, str] | None = None, **kw: Any) -> tuple[int, str]:
        return await self.send(json.dumps(payloads.envelope(event, event_id=event_id)), "application/json",
                               headers=headers, **kw)

    async def say(self, text: str, *, user: str = "UANN", channel: str = HELP,
                  thread: str | None = None, settle: bool = True) -> str:
        """Post a message as ``user``; returns its ts."""
        ts = self.fake.next_ts()
        status, _ = await self.event(payloads.message(text, ts=ts, user=user, channel=channel, thread_ts=thread))
        assert status == 200
        if settle:
            await self.settle()
        return ts

    async def click(self, action_id: str, value: str, *, user: str, on: Call,
                    response_url: str = "") -> tuple[int, str]:
        """Press a button on a message the bot posted."""
        channel = on.params["channel"]
        ts = on.ts
        body = payloads.block_actions(action_id, value, user=user, channel=channel, message_ts=ts,
                                      thread_ts=on.params.get("thread_ts"), response_url=response_url)
        result = await self.send(payloads.interactive(body), "application/x-www-form-urlencoded")
        await self.settle()
        return result

    async def command(self, text: str, *, user: str, channel: str = HELP,
                      response_url: str = "") -> tuple[int, str]:
        body = payloads.form(payloads.slash(text, user=user, channel=channel, response_url=response_url))
        result = await self.send(body, "application/x-www-form-urlencoded")
        await self.settle()
        return result

    async def shortcut(self, *, user: str, channel: str, ts: str, thread_ts: str | None = None) -> tuple[int, str]:
        body = payloads.message_shortcut(user=user, channel=channel, ts=ts, thread_ts=thread_ts)
        result = await self.send(payloads.interactive(body), "application/x-www-form-urlencoded")
        await self.settle()
        return result

    async def settle(self) -> None:
        """Let Bolt's after-ack listeners run, then wait until the core handled everything."""
        for _ in range(3):
            await asyncio.sleep(0.02)
            await self.adapter.drain()

    def card(self) -> Call:
        """The (one) card posted in the staff channel, with its ts filled in."""
        cards = [c for c in self.fake.posts(channel="CSTAFF") if "thread_ts" not in c.params]
        assert len(cards) == 1, f"expected one card, got {len(cards)}"
        return cards[0]

    async def case_of(self, ts: str, channel: str = HELP) -> Any:
        return await self.core.cases.get("default", f"{channel}:{ts}")


@pytest_asyncio.fixture(loop_scope="function")
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture(loop_scope="function")
async def slack_core(embedder: CachedEmbedder) -> AsyncIterator[Core]:
    core = await make_core(embedder, kb=DEMO_KB)
    try:
        yield core
    finally:
        await core.close()


WorkspaceFactory = Callable[..., Awaitable[Workspace]]


@pytest_asyncio.fixture(loop_scope="function")
async def workspace_with(fake: FakeSlack, slack_core: Core,
                         caplog: pytest.LogCaptureFixture) -> AsyncIterator[WorkspaceFactory]:
    """Start the adapter over HTTP with settings ``overrides``; errors logged fail the test."""
    caplog.set_level(logging.INFO)
    runtimes: list[Runtime] = []
    sessions: list[aiohttp.ClientSession] = []

    async def start(**overrides: Any) -> Workspace:
        adapter = SlackAdapter(slack_settings(fake, **overrides), mode="http", host="127.0.0.1", port=0)
        runtime = Runtime(slack_core, [adapter])
        runtimes.append(runtime)
        await runtime.start()
        sessions.append(aiohttp.ClientSession())
        return Workspace(fake, adapter, slack_core, sessions[-1])

    yield start
    for runtime in runtimes:
        await runtime.stop()
    for session in sessions:
        await session.close()
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], "errors were logged"


@pytest_asyncio.fixture(loop_scope="function")
async def slack(workspace_with: WorkspaceFactory) -> Workspace:
    return await workspace_with()
