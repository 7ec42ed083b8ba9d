"""A case asked on a platform (here a recording stand-in named ``discord``),
answered from the console: the asker's thread and the staff card are on the
case's own platform, not in the console's chat. A console not connected to
that platform refuses, and changes nothing."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
import pytest

from adapters.web.app import build_app
from adapters.web.console import Console, ConsoleConfig
from bot.actions import CardUpdate, Reply, Route
from bot.events import Message
from bot.runtime import Runtime
from storage.eventlog import EventLog
from tests.adapters.web.conftest import Browser, head_of

QUESTION = "how do I export a notebook to a PDF with my own fonts?"


class Discord:
    """Stands in for the Discord adapter: records what it is asked to perform."""

    name = "discord"
    performed: ClassVar[list[Any]] = []

    async def start(self, sink: Any) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def perform(self, action: Any) -> str | None:
        self.performed.append(action)
        return "discord-msg-1" if isinstance(action, Route) else None


@dataclass
class Setup:
    browser: Browser
    runtime: Runtime


async def setup(core: Any, beside: tuple[str, ...]) -> AsyncIterator[Setup]:
    Discord.performed = []
    console = Console(core, ConsoleConfig(host="127.0.0.1", port=0, login=False, demo=False, beside=beside))
    console.announce = lambda text: None
    console.adapter.serve = False
    runtime = Runtime(core, [Discord(), console.adapter])
    await runtime.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(console)),
                                 base_url="https://testserver") as client:
        yield Setup(Browser(client, console, []), runtime)
    await runtime.stop()


@pytest.fixture
async def beside(core: Any) -> AsyncIterator[Setup]:
    """``journeybot run --web discord``: the console beside the Discord adapter."""
    async for made in setup(core, ("discord",)):
        yield made


@pytest.fixture
async def alone(core: Any) -> AsyncIterator[Setup]:
    """``journeybot web`` on a store a Discord bot in another process writes to."""
    async for made in setup(core, ()):
        yield made


async def asked_on_discord(made: Setup) -> Any:
    core = made.runtime.core
    await made.runtime.deliver(Message(id="1001", at=datetime.now(UTC), space="default", user="u-ana",
                                       user_name="Ana", platform="discord", channel="help", text=QUESTION))
    (case,) = await core.cases.with_status("default", "routed")
    assert case.address.platform == "discord" and case.candidates, "routed to staff with a suggestion"
    Discord.performed.clear()
    return case


async def test_sending_the_suggested_answer_from_the_console_answers_on_the_cases_platform(beside: Setup) -> None:
    case = await asked_on_discord(beside)
    page = (await beside.browser.get(f"/cases/default/{case.key}")).text
    entry = re.search(r'name="entry" value="([^"]+)"', page).group(1)
    assert entry == case.candidates[0].entry and f'action="/cases/default/{case.key}/send"' in page
    sent = await beside.browser.post(f"/cases/default/{case.key}/send",
                                     {"entry": entry, "updated_at": case.updated_at.isoformat()})
    assert sent.status_code == 303, re.sub(r"<[^>]+>", " ", sent.text.split("<main")[1])[:600]
    answered = await beside.runtime.core.cases.get("default", case.key)
    assert answered.status == "answered" and answered.entry == entry
    to_asker = [a for a in Discord.performed if isinstance(a, Reply) and a.case == case.key]
    assert to_asker and to_asker[0].address.thread == case.address.thread, "the answer in the asker's thread"
    (card,) = [a for a in Discord.performed if isinstance(a, CardUpdate)]
    assert card.address.platform == "discord" and card.card == case.card and card.card_ref == "discord-msg-1"
    assert "sent the suggested answer" in card.text
    room = beside.browser.console.adapter.rooms.of("default")
    assert [p for p in room.posts if p.case == case.key] == [], "nothing of the Discord case landed in the console's chat"


async def test_taking_a_discord_case_from_the_queue_updates_its_card_there(beside: Setup) -> None:
    case = await asked_on_discord(beside)
    queue = (await beside.browser.get("/cases")).text
    assert f'action="/cases/default/{case.key}/claim"' in queue
    taken = await beside.browser.post(f"/cases/default/{case.key}/claim", {"updated_at": case.updated_at.isoformat()})
    assert taken.status_code == 303
    (card,) = [a for a in Discord.performed if isinstance(a, CardUpdate)]
    assert card.address.platform == "discord" and "took this question" in card.text
    assert any(isinstance(a, Reply) and a.case == case.key for a in Discord.performed), "the asker is told"


async def test_a_console_not_connected_to_the_platform_refuses_and_changes_nothing(alone: Setup) -> None:
    case = await asked_on_discord(alone)
    page = (await alone.browser.get(f"/cases/default/{case.key}")).text
    assert f'action="/cases/default/{case.key}/send"' not in page and "which this console is not connected to" in page
    queue = (await alone.browser.get("/cases")).text
    assert f'action="/cases/default/{case.key}/claim"' not in queue and "answer it there" in queue
    log = EventLog(alone.runtime.core.db)
    before = await head_of(log)
    for path, form in (("claim", {}), ("send", {"entry": case.candidates[0].entry})):
        refused = await alone.browser.post(f"/cases/default/{case.key}/{path}",
                                           {**form, "updated_at": case.updated_at.isoformat()})
        assert refused.status_code == 409 and "not connected to" in refused.text
    assert await head_of(log) == before and Discord.performed == []
    assert (await alone.runtime.core.cases.get("default", case.key)).owner == "staff"


async def test_the_suggested_answer_is_offered_only_when_the_policy_finds_it_plausible(beside: Setup) -> None:
    core = beside.runtime.core
    await beside.runtime.deliver(Message(id="1002", at=datetime.now(UTC), space="default", user="u-bo",
                                         user_name="Bo", platform="discord", channel="help",
                                         text="which wine goes best with grilled salmon at a wedding?"))
    (case,) = [c for c in await core.cases.with_status("default", "routed") if "salmon" in c.question]
    floor = core.settings.policy.clarify_floor
    assert case.candidates and case.candidates[0].score < floor, "nothing close: a poor suggestion at best"
    page = (await beside.browser.get(f"/cases/default/{case.key}")).text
    assert f'action="/cases/default/{case.key}/send"' not in page
    assert f'action="/cases/default/{case.key}/claim"' in page, "staff can still take it"
