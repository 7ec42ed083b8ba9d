"""What Discord does to a bot: restarts, resumes, rate limits, outages, edits and deletes."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.settings import DiscordSettings
from bot import outbound as outbound_module
from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import SETTINGS, Bot, ErrorLog
from tests.adapters.discord.fake import FakeDiscord
from tests.chat import make_core
from tests.conftest import DEMO_KB

ANSWERED = "how do I rotate my API key?"
ROUTED = "does tidepool have a gantt chart view?"


def fields_of(message: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in message["embeds"][0]["fields"]}


def threads_created(fake: FakeDiscord) -> list[str]:
    return [path for m, path, _ in fake.calls if m == "POST" and path.endswith("/threads")]


async def test_a_button_on_a_message_from_before_a_restart_still_works(
        fake: FakeDiscord, embedder: Any, tmp_path: Path, error_log: ErrorLog) -> None:
    db = str(tmp_path / "restart.db")
    first_core = await make_core(embedder, kb=DEMO_KB, db=db)
    first = await Bot(fake, first_core).start()
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await first.handled(1)
    (answer,) = fake.bot_messages(question["id"])
    await first.stop()
    await first_core.close()

    second_core = await make_core(embedder, db=db)  # same database file, knowledge already in it
    second = await Bot(fake, second_core).start()
    try:
        click = await fake.click(answer, f"jb:solved:{question['id']}", p.ASKER)
        await second.handled(1)
        assert fake.matching("POST", lambda path: path.startswith(f"/interactions/{click['id']}/"))
        assert len(fake.posts(question["id"])) == 2  # the old answer, and now the "solved" notice
        case = await second_core.cases.get("default", question["id"])
        assert case is not None
        assert case.status == "resolved"
    finally:
        await second.stop()
        await second_core.close()


async def test_an_event_replayed_after_resume_is_handled_once(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await bot.handled(1)
    fake.replay_after = fake.sent[0][0] - 1  # Discord replays from before the question
    await fake.reconnect()
    marker = await _after_resume(fake, p.OTHER, "How do I reset my password?")
    events = await bot.handled(3)
    assert fake.resumes[0]["session_id"] == "sess"
    assert [e.id for e in events] == [question["id"], question["id"], marker["id"]]  # seen twice …
    assert len(fake.posts(question["id"])) == 1  # … answered once
    assert len([t for t in threads_created(fake) if question["id"] in t]) == 1


async def _after_resume(fake: FakeDiscord, author: dict[str, Any], text: str) -> dict[str, Any]:
    """Say something once the client has resumed (RESUMED sent on the new connection)."""
    for _ in range(200):
        if fake.resumes:
            break
        await asyncio.sleep(0.01)
    assert fake.resumes, "the client did not RESUME"
    return await fake.say(p.HELP_ID, author, text)


async def test_a_rate_limited_post_still_arrives(fake: FakeDiscord, bot: Bot) -> None:
    fake.fail_next[("POST", "/channels/")] = (429, {"message": "You are being rate limited.",
                                                    "retry_after": 0.05, "global": False})
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await bot.handled(1)
    assert len(threads_created(fake)) == 2  # refused once with 429, then retried by discord.py
    (answer,) = fake.posts(question["id"])
    assert "Rotate key" in answer["content"]


async def test_a_failed_post_stays_queued_and_is_retried(fake: FakeDiscord, bot: Bot, error_log: ErrorLog,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound_module, "RETRY_FIRST", 0.05)
    error_log.expect(r"performing Reply \(outbox \d+\) failed; it stays queued")
    fake.fail_next[("POST", "/channels/")] = (503, {"message": "upstream unavailable", "code": 0})
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await bot.handled(1)
    await fake.wait_for("POST", f"/channels/{question['id']}/messages")
    assert len(threads_created(fake)) == 2  # the outage, then the runtime's retry
    assert "Rotate key" in fake.posts(question["id"])[0]["content"]
    for _ in range(100):  # marked performed once the retry went through
        if not await bot.core.pending():
            break
        await asyncio.sleep(0.02)
    assert await bot.core.pending() == []


def edited(message: dict[str, Any], content: str) -> dict[str, Any]:
    return {**message, "content": content, "edited_timestamp": "2026-03-02T09:05:00+00:00"}


async def test_an_edit_before_the_answer_updates_the_question(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, ROUTED)
    await bot.handled(1)
    (card,) = fake.bot_messages(p.STAFF_ID)
    await fake.dispatch("MESSAGE_UPDATE", edited(question, "does tidepool have a gantt or timeline view?"))
    await bot.handled(2)
    case = await bot.core.cases.get("default", question["id"])
    assert case is not None
    assert case.question == "does tidepool have a gantt or timeline view?"
    (_, _, edit), = fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))
    assert "gantt or timeline" in edit["embeds"][0]["description"]


async def test_edits_of_bot_messages_and_elsewhere_are_not_sent(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await bot.handled(1)
    (answer,) = fake.bot_messages(question["id"])
    await fake.dispatch("MESSAGE_UPDATE", edited(answer, "tampered"))  # our own message
    chatter = await fake.say(p.GENERAL_ID, p.ASKER, "hello")
    await fake.dispatch("MESSAGE_UPDATE", edited(chatter, "hello all"))  # not a help channel
    await fake.dispatch("MESSAGE_UPDATE", edited(question, ANSWERED + " (edited)"))
    events = await bot.handled(2)
    assert [type(e).__name__ for e in events] == ["Message", "Edit"]
    assert events[1].about == question["id"]  # type: ignore[attr-defined]


async def test_deleting_the_question_closes_the_case(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, ROUTED)
    await bot.handled(1)
    (card,) = fake.bot_messages(p.STAFF_ID)
    await fake.dispatch("MESSAGE_DELETE", {"id": question["id"], "channel_id": p.HELP_ID, "guild_id": p.GUILD_ID})
    await bot.handled(2)
    case = await bot.core.cases.get("default", question["id"])
    assert case is not None
    assert case.status == "closed"
    (_, _, edit), = fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))
    assert "deleted the question" in edit["embeds"][0]["fields"][-1]["value"]
    assert edit["components"] == []


async def test_deleting_a_forum_post_closes_its_case(fake: FakeDiscord, bot: Bot) -> None:
    post = await fake.forum_post(p.ASKER, "gantt", ROUTED)
    await bot.handled(1)
    (card,) = fake.bot_messages(p.STAFF_ID)
    assert fields_of(card)["Thread"] == f"https://discord.com/channels/{p.GUILD_ID}/{post['id']}"
    await fake.dispatch("THREAD_DELETE", {"id": post["id"], "guild_id": p.GUILD_ID, "parent_id": p.FORUM_ID,
                                          "type": 11})
    await bot.handled(2)
    case = await bot.core.cases.get("default", post["id"])
    assert case is not None
    assert case.status == "closed"
    (_, _, edit), = fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))
    assert edit["components"] == []


@pytest.mark.parametrize(("shards", "identified", "asked_gateway"), [
    ({}, [0, 1], True),  # discord.py asks Discord how many shards to run
    ({"shard_ids": [1], "shard_count": 2}, [1, 2], False),  # this process runs shard 1 of 2
])
async def test_sharded_bot_runs_its_shards_and_answers(fake: FakeDiscord, core: Any, error_log: ErrorLog,
                                                       shards: dict[str, Any], identified: list[int],
                                                       asked_gateway: bool) -> None:
    settings = DiscordSettings(**{**SETTINGS.model_dump(), "sharded": True, **shards})
    running = await Bot(fake, core, settings).start()
    try:
        assert (("GET", "/gateway/bot", None) in fake.calls) is asked_gateway
        assert fake.identify is not None
        assert fake.identify["shard"] == identified
        question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
        await running.handled(1)
        assert "Rotate key" in fake.posts(question["id"])[0]["content"]
    finally:
        await running.stop()


async def test_stop_finishes_the_event_in_hand_and_takes_no_new_one(
        fake: FakeDiscord, bot: Bot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="adapters.discord.inbound")
    process, entered, release = bot.core.process, asyncio.Event(), asyncio.Event()

    async def slow(accepted: Any) -> Any:
        entered.set()
        await release.wait()
        return await process(accepted)

    monkeypatch.setattr(bot.core, "process", slow)
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await asyncio.wait_for(entered.wait(), 10)
    stopping = asyncio.create_task(bot.stop())
    late = await fake.say(p.HELP_ID, p.OTHER, "How do I reset my password?")
    for _ in range(200):
        if "arrived while stopping" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert f"Discord message {late['id']} arrived while stopping: not taken" in caplog.text
    assert not stopping.done()  # still waiting for the question in hand

    release.set()
    await asyncio.wait_for(stopping, 10)
    (answer,) = fake.posts(question["id"])  # answered on the way out
    assert "Rotate key" in answer["content"]
    assert fake.posts(late["id"]) == [] and await bot.core.cases.get("default", late["id"]) is None
