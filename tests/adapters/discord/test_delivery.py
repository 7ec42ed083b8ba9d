"""Discord never sends an interaction again, so a click is acknowledged only once its
event is stored, and a stop waits for a click it has taken; a message whose send was
not recorded (the disk filled up right after) goes again with the same nonce and is
not shown twice."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from bot import outbound as outbound_module
from bot import runtime as runtime_module
from storage.sql import StoreUnavailable
from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import Bot, ErrorLog
from tests.adapters.discord.fake import FakeDiscord

ANSWERED = "how do I rotate my API key?"


async def answered_question(fake: FakeDiscord, bot: Bot) -> tuple[dict[str, Any], dict[str, Any]]:
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await bot.handled(1)
    (answer,) = fake.bot_messages(question["id"])
    return question, answer


def slow_store(bot: Bot) -> None:
    """Storing an event takes 0.3 s (a busy disk)."""
    receive = bot.core.inbox.receive

    async def slowly(**kwargs: Any) -> bool:
        await asyncio.sleep(0.3)
        return await receive(**kwargs)

    bot.core.inbox.receive = slowly  # type: ignore[method-assign]


async def test_a_click_is_acknowledged_only_once_its_event_is_stored(fake: FakeDiscord, bot: Bot) -> None:
    question, answer = await answered_question(fake, bot)
    stored_when_acknowledged: list[bool] = []

    async def acknowledged(interaction_id: str) -> None:
        row = await bot.core.db.fetchone("SELECT 1 FROM events WHERE id = ?", (interaction_id,))
        stored_when_acknowledged.append(row is not None)

    fake.on_callback = acknowledged
    slow_store(bot)
    await fake.click(answer, f"jb:solved:{question['id']}", p.ASKER)
    await bot.handled(2)

    assert stored_when_acknowledged == [True]
    case = await bot.core.cases.get("default", question["id"])
    assert case is not None and case.status == "resolved"


async def test_a_click_acknowledged_just_before_a_stop_is_not_lost(fake: FakeDiscord, bot: Bot) -> None:
    question, answer = await answered_question(fake, bot)
    assert bot.adapter is not None and bot.adapter.listener is not None
    listener = bot.adapter.listener
    stopping: list[asyncio.Task[None]] = []

    async def stop_now(interaction_id: str) -> None:  # the stop comes while Discord hears "got it"
        stopping.append(asyncio.create_task(bot.stop()))
        for _ in range(500):
            if listener._closing:
                return
            await asyncio.sleep(0.01)

    fake.on_callback = stop_now
    await fake.click(answer, f"jb:solved:{question['id']}", p.ASKER)
    for _ in range(500):
        if stopping:
            break
        await asyncio.sleep(0.01)
    await asyncio.wait_for(stopping[0], 15)

    case = await bot.core.cases.get("default", question["id"])
    assert case is not None and case.status == "resolved", "the click was acknowledged, then lost"


async def test_a_click_arriving_after_the_stop_began_is_not_acknowledged(
        fake: FakeDiscord, bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord.inbound")
    question, answer = await answered_question(fake, bot)
    assert bot.adapter is not None and bot.adapter.listener is not None
    bot.adapter.listener._closing = True  # the stop has begun
    click = await fake.click(answer, f"jb:solved:{question['id']}", p.ASKER)
    await asyncio.sleep(0.3)

    assert not fake.matching("POST", lambda path: path.startswith(f"/interactions/{click['id']}/"))
    assert f"interaction {click['id']} arrived while stopping" in caplog.text


async def test_a_message_sent_but_not_recorded_goes_again_with_its_nonce_and_shows_once(
        fake: FakeDiscord, bot: Bot, error_log: ErrorLog, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_module, "STORE_RETRY_FIRST", 0.05)
    monkeypatch.setattr(outbound_module, "RETRY_FIRST", 0.05)
    error_log.expect("disk is full")
    performed = bot.core.performed
    failures = iter([StoreUnavailable("the store cannot be written: database or disk is full")])

    async def full_once(*args: Any, **kwargs: Any) -> None:
        for failure in failures:
            raise failure  # sent, but the record of it cannot be written
        await performed(*args, **kwargs)

    monkeypatch.setattr(bot.core, "performed", full_once)
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await fake.wait_for("POST", f"/channels/{question['id']}/messages", count=2)
    for _ in range(200):
        if not await bot.core.pending():
            break
        await asyncio.sleep(0.02)

    sends = [b for m, path, b in fake.calls if m == "POST" and path == f"/channels/{question['id']}/messages"]
    assert len(sends) == 2 and sends[0]["nonce"] == sends[1]["nonce"]  # the same message, sent again
    (answer,) = fake.bot_messages(question["id"])  # … and Discord shows it once
    assert "Rotate key" in answer["content"]
    assert await bot.core.pending() == []
