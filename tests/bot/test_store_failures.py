"""When the store cannot take an event: a full disk, a lock another process holds past
the busy timeout, a text that cannot be encoded. The person always hears something
at once, the operator sees an error and the health check says so, and the event is
handled once the store works again: answered or handed over, never lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.actions import Action, Reply, Route
from bot.core import Core
from bot.events import Feedback, Message
from bot.ports import Verdict
from bot.runtime import Runtime
from knowledge.embedder import CachedEmbedder
from storage.sql import StoreUnavailable
from tests.chat import START, make_core
from tests.conftest import DEMO_KB
from tests.fakes.disk import FullDisk, HeldLock

ANSWERABLE = "how do I rotate my API key?"


class Recorder:
    """An adapter that records what it was asked to do."""

    name = "replay"

    def __init__(self) -> None:
        self.done: list[Action] = []

    async def start(self, sink) -> None:  # type: ignore[no-untyped-def]
        self.sink = sink

    async def stop(self) -> None:
        return None

    async def perform(self, action: Action) -> str | None:
        self.done.append(action)
        return action.card if isinstance(action, Route) else None

    def to(self, case: str) -> list[Reply]:
        return [a for a in self.done if isinstance(a, Reply) and a.case == case]


def question(text: str = ANSWERABLE, id: str = "m1", user: str = "u1", **fields: object) -> Message:
    return Message(id=id, at=START, user=user, channel="help", text=text, **fields)  # type: ignore[arg-type]


@pytest_asyncio.fixture(loop_scope="function")
async def core(embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[Core]:
    made = await make_core(embedder, kb=DEMO_KB, db=str(tmp_path / "state.db"))
    try:
        yield made
    finally:
        await made.close()


@pytest_asyncio.fixture(loop_scope="function")
async def running(core: Core, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Runtime, Recorder]]:
    import bot.runtime as runtime_module

    monkeypatch.setattr(runtime_module, "STORE_RETRY_FIRST", 0.05)
    monkeypatch.setattr(runtime_module, "STORE_RETRY_MAX", 0.2)
    adapter = Recorder()
    runtime = Runtime(core, [adapter])
    await runtime.start()
    try:
        yield runtime, adapter
    finally:
        await runtime.stop()


async def deliver(runtime: Runtime, event: Message | Feedback) -> Verdict:
    verdicts: list[Verdict] = []
    await runtime.sink(event, accepted=verdicts.append)
    (verdict,) = verdicts
    return verdict


async def until(check: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time")


async def test_a_full_disk_tells_the_asker_at_once_and_answers_once_there_is_room(
        running: tuple[Runtime, Recorder], core: Core, caplog: pytest.LogCaptureFixture) -> None:
    runtime, adapter = running
    disk = FullDisk(core.db)
    await disk.fill()
    questions = [question(f"{ANSWERABLE} ({n})", id=f"m{n}", user=f"u{n}") for n in range(12)]

    verdicts = [await deliver(runtime, q) for q in questions]

    for q in questions:  # each heard at once who has it and what happens next
        (told,) = adapter.to(q.id)
        assert told.kind == "handoff" and told.owner and "isn't lost" in told.text
        assert told.address.thread == q.id and told.seq == 0
    assert not runtime.health().ok and "disk is full" in (runtime.health().error or "")
    assert any(r.levelno == logging.ERROR and "disk is full" in r.getMessage() for r in caplog.records)
    assert set(verdicts) <= {"stored", "held"} and "held" in verdicts

    await disk.free()
    await until(lambda: all(len(adapter.to(q.id)) == 2 for q in questions))
    for q in questions:
        told, answer = adapter.to(q.id)
        assert answer.kind == "answer" and "Rotate key" in answer.text
    await until(lambda: runtime.health().ok and not runtime.health().waiting)
    assert await core.inbox.unhandled() == [] and await core.pending() == []


async def test_a_lock_held_past_the_busy_timeout_holds_events_in_order(
        running: tuple[Runtime, Recorder], core: Core) -> None:
    runtime, adapter = running
    await core.db.conn.execute("PRAGMA busy_timeout = 100")  # 5 s in production
    lock = HeldLock(core.db.path).take()
    try:
        first = await deliver(runtime, question("does tidepool have a gantt chart view?", id="m1"))
        follow_up = await deliver(runtime, question("it's for our roadmap", id="t1", thread="m1"))
        click = await deliver(runtime, Feedback(id="f1", at=START, user="u1", about="m1", value="human"))
        health = runtime.health()
    finally:
        lock.release()

    assert (first, follow_up, click) == ("held", "held", "held")
    assert not health.ok and health.held == 3 and "locked" in (health.error or "")
    assert [a.private_to for a in adapter.done] == [None, None, "u1"]  # the click is answered privately
    await until(lambda: runtime.health().ok and not runtime.health().waiting)
    case = await core.cases.get("default", "m1")
    assert case is not None and case.status == "routed"
    assert case.asker_words() == ["does tidepool have a gantt chart view?", "it's for our roadmap"]  # in order
    assert await core.inbox.unhandled() == []
    assert sum(isinstance(a, Route) for a in adapter.done) == 1


async def test_a_redelivery_of_a_held_event_is_told_once(running: tuple[Runtime, Recorder], core: Core) -> None:
    runtime, adapter = running
    await core.db.conn.execute("PRAGMA busy_timeout = 100")
    lock = HeldLock(core.db.path).take()
    try:
        verdicts = [await deliver(runtime, question(id="m1")) for _ in range(3)]  # Slack tries again
    finally:
        lock.release()

    assert verdicts == ["held"] * 3 and len(adapter.to("m1")) == 1
    await until(lambda: len(adapter.to("m1")) == 2)
    assert [r.kind for r in adapter.to("m1")] == ["handoff", "answer"]


async def test_a_store_failing_while_handling_leaves_the_event_stored_for_later(
        running: tuple[Runtime, Recorder], core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime, adapter = running
    process = core.process
    failures = iter([StoreUnavailable("the store cannot be written: database or disk is full")])

    async def failing_once(accepted):  # type: ignore[no-untyped-def]
        for failure in failures:
            raise failure
        return await process(accepted)

    monkeypatch.setattr(core, "process", failing_once)
    assert await deliver(runtime, question(id="m1")) == "stored"

    await until(lambda: len(adapter.to("m1")) == 2)
    assert [r.kind for r in adapter.to("m1")] == ["handoff", "answer"]
    assert await core.inbox.unhandled() == []


async def test_a_lone_surrogate_in_any_text_loses_nothing(running: tuple[Runtime, Recorder], core: Core) -> None:
    runtime, adapter = running
    verdict = await deliver(runtime, question(f"{ANSWERABLE} \ud83d", id="m\udc80", user="u\ud800",
                                              user_name="Bo\udc80b"))

    assert verdict == "stored"
    (answer,) = adapter.to("m\ufffd")
    assert answer.kind == "answer" and "\ufffd" not in answer.text
    case = await core.cases.get("default", "m\ufffd")
    assert case is not None and case.user == "u\ufffd" and case.user_name == "Bo\ufffdb"
    assert (await core.log.verify()).ok


async def test_when_even_the_fallback_fails_the_asker_still_hears_it(
        running: tuple[Runtime, Recorder], core: Core, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import bot.core as core_module

    async def broken(handling: object) -> None:
        raise RuntimeError("a bug in every flow")

    monkeypatch.setattr(core_module, "route_event", broken)
    monkeypatch.setattr(core_module, "fallback", broken)
    runtime, adapter = running

    assert await deliver(runtime, question(id="m1")) == "stored"

    (told,) = adapter.to("m1")
    assert told.owner == "you" and "ask again" in (told.next_step or "") and "a bug" not in told.text
    row = await core.db.fetchone("SELECT status FROM events WHERE id = 'm1'")
    assert row is not None and row["status"] == "failed"
    assert any("even the fallback" in r.getMessage() for r in caplog.records)
