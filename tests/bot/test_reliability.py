"""Nothing is lost: failures inside, crashes between storing and sending,
platform outages. A question always gets an owner and a next step."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.actions import Action, Route
from bot.events import Message
from bot.runtime import Runtime
from knowledge.embedder import CachedEmbedder
from tests.chat import START, Chat, make_core
from tests.conftest import DEMO_KB


class Recorder:
    """An adapter that records what it was asked to do; it can be made to fail."""

    name = "replay"

    def __init__(self, *, fail_times: int = 0) -> None:
        self.done: list[Action] = []
        self.fail_times = fail_times

    async def start(self, sink) -> None:  # type: ignore[no-untyped-def]
        self.sink = sink

    async def stop(self) -> None:
        return None

    async def perform(self, action: Action) -> str | None:
        if self.fail_times:
            self.fail_times -= 1
            raise ConnectionError("platform unavailable")
        self.done.append(action)
        return action.card if isinstance(action, Route) else None


def question(text: str, id: str = "m1", user: str = "u1") -> Message:
    return Message(id=id, at=START, user=user, channel="help", text=text)


async def test_a_failure_inside_still_hands_the_question_over(chat: Chat) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("index exploded")

    chat.core.kb.search = broken  # type: ignore[method-assign]
    said = await chat.ask("how do I rotate my API key?", id="m1")

    assert said.route.card == "card:m1"
    handoff = said.reply
    assert handoff.kind == "handoff" and "Who has it now" in handoff.text
    assert "exploded" not in handoff.text, "no exception text reaches the member"
    row = await chat.core.db.fetchone("SELECT status FROM events WHERE id = 'm1'")
    assert row is not None and row["status"] == "failed"
    stored = [r async for r in chat.core.log.records(kinds=("event",))]
    assert stored and stored[0].body["text"] == "how do I rotate my API key?"


async def test_a_redelivered_event_is_handled_once(chat: Chat) -> None:
    event = question("how do I rotate my API key?")
    first = await chat.core.handle(event)
    again = await chat.core.handle(event)
    assert first and again == []


async def test_actions_stored_but_never_sent_are_sent_after_a_restart(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")
    core = await make_core(embedder, kb=DEMO_KB, db=db)
    await core.handle(question("does tidepool have a gantt chart view?"))  # stored, then "crash"
    await core.close()

    core = await make_core(embedder, db=db)
    adapter = Recorder()
    await Runtime(core, [adapter]).start()
    kinds = [type(a).__name__ for a in adapter.done]
    assert kinds == ["Route", "Reply"]
    assert await core.pending() == []
    again = Recorder()
    await Runtime(core, [again]).start()
    assert again.done == [], "performed once, never twice"
    await core.close()


async def test_an_event_stored_but_not_handled_is_handled_on_start(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")
    core = await make_core(embedder, kb=DEMO_KB, db=db)
    event = question("how do I rotate my API key?")
    await core._store_event(event, {})  # the process stops right after storing
    await core.close()

    core = await make_core(embedder, db=db)
    adapter = Recorder()
    await Runtime(core, [adapter]).start()
    assert [getattr(a, "kind", None) for a in adapter.done] == ["answer"]
    await core.close()


async def test_an_outage_delays_replies_but_keeps_them_in_order(chat: Chat) -> None:
    import bot.outbound as outbound_module

    outbound_module.RETRY_FIRST = 0.01  # retry quickly in the test
    adapter = Recorder(fail_times=2)
    runtime = Runtime(chat.core, [adapter])
    await runtime.start()
    await runtime.deliver(question("does tidepool have a gantt chart view?"))
    assert adapter.done == []
    for _ in range(1000):  # until both are sent and recorded as sent (a loaded machine is slow)
        if len(adapter.done) == 2 and await chat.core.pending() == []:
            break
        await asyncio.sleep(0.01)
    assert [type(a).__name__ for a in adapter.done] == ["Route", "Reply"]
    assert await chat.core.pending() == []
    await runtime.stop()
    outbound_module.RETRY_FIRST = 1.0


async def test_hostile_text_is_cleaned_and_bounded(chat: Chat) -> None:
    sneaky = "how\u200b do I ro\u200btate my A\u2060PI key?\x00\x07"
    said = await chat.ask(sneaky, id="m1")
    assert said.reply.kind == "answer" and said.reply.sources == ("api-key-rotate",)

    huge = "please help " + "x" * 50_000
    said = await chat.ask(huge, id="m2", user="u2")
    assert said.replies, "a huge message still gets a reply"
    case = await chat.core.cases.get("default", "m2")
    assert case is not None and len(case.question) <= chat.core.settings.max_message_chars + 2
    assert any("very long" in r.text for r in said.replies)


async def test_an_empty_message_gets_a_clear_word_and_no_case(chat: Chat) -> None:
    said = await chat.ask("   \u200b  ", id="m1")
    assert "empty" in said.reply.text and said.reply.next_step
    assert await chat.core.cases.get("default", "m1") is None


async def test_reminders_keep_our_word_to_staff(chat: Chat) -> None:
    await chat.ask("does tidepool have a gantt chart view?", id="m1")
    early = await chat.tick(minutes=30)
    assert early.replies == []
    late = await chat.tick(minutes=40)
    reminder = late.replies[0]
    assert reminder.address.channel == "staff" and "waiting" in reminder.text
    assert (await chat.tick(hours=2)).replies == [], "one reminder, not a stream"


async def test_answered_cases_resolve_presumed_after_silence(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1")
    await chat.tick(hours=47)
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "answered"
    await chat.tick(hours=2)
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "resolved" and case.resolution == "presumed"



async def test_chatter_in_other_channels_never_enters_the_store(chat: Chat) -> None:
    said = await chat.ask("my phone number is 555-0100, anyone up for lunch?", channel="random", id="r1")
    assert list(said) == []
    assert await chat.core.db.fetchone("SELECT 1 FROM events WHERE id = 'r1'") is None
    mention = await chat.ask("how do I rotate my API key?", channel="random", id="r2", direct=True)
    assert mention.reply.kind == "answer", "a mention of the bot is a question anywhere"


async def test_one_failing_reply_does_not_hold_back_other_cases(chat: Chat) -> None:
    class FailsForOneCase(Recorder):
        async def perform(self, action: Action) -> str | None:
            if action.case == "m1":
                raise ConnectionError("that thread is gone")
            return await super().perform(action)

    adapter = FailsForOneCase()
    runtime = Runtime(chat.core, [adapter])
    await runtime.start()
    await runtime.deliver(question("does tidepool have a gantt chart view?", id="m1"))
    await runtime.deliver(question("how do I rotate my API key?", id="m2", user="u2"))
    assert [a.case for a in adapter.done] == ["m2"]
    assert {a.case for a in await chat.core.pending()} == {"m1"}
    await runtime.stop()


async def test_live_runs_let_time_pass_for_reminders(chat: Chat) -> None:
    adapter = Recorder()
    runtime = Runtime(chat.core, [adapter], tick_seconds=0.05)
    await runtime.start()
    await asyncio.sleep(0.3)
    await runtime.stop()
    ticks = [r async for r in chat.core.log.records(kinds=("event",)) if r.body.get("type") == "tick"]
    assert len(ticks) >= 2


async def test_the_running_bot_answers_from_an_import_made_beside_it(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    from knowledge.base import KnowledgeBase
    from knowledge.entries import Draft
    from storage.database import Database

    db = str(tmp_path / "live.db")
    core = await make_core(embedder, db=db)
    await core.handle(question("warm up", id="w1"))
    async with Database(db) as cli_db:  # `journeybot kb import` in another process
        cli = KnowledgeBase(cli_db, embedder)
        await cli.open()
        await cli.create(Draft(("How do I archive a workspace?",), "Settings → Archive."),
                         author="op", origin="import", at=START)
    actions = await core.handle(question("how do I archive a workspace?", id="m1", user="u2"))
    assert [getattr(a, "kind", None) for a in actions] == ["answer"]
    await core.close()
