"""The LLM is slow; nobody else waits for it. The real ``openai`` client against a
scripted server on 127.0.0.1 that holds a request until the test lets it go: while
one member's answer is being worded, another member's question is answered, staff
change the knowledge, and a worker may die — and nothing is lost, doubled or stale.
Every assertion is on order and on what was stored, never on timings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.actions import Action, Reply
from bot.core import Core
from bot.events import Delete, Message
from bot.generate import Generated, Generator
from bot.settings import LLMSettings
from knowledge.embedder import CachedEmbedder
from knowledge.entries import Entry
from storage.eventlog import EventLog
from storage.mailroom import now_ms
from tests.chat import START, make_core
from tests.conftest import DEMO_KB
from tests.fakes.openai_fake import FakeOpenAI
from tests.storage.conftest import eventually

ROTATE = "how do I rotate my API key?"  # api-key-rotate
WEBHOOKS = "How do I set up webhooks, and are failed deliveries retried?"
WITHIN = 120.0  # only so that a broken build fails instead of hanging; nothing here is timed


def llm(fake: FakeOpenAI) -> LLMSettings:
    return LLMSettings(model="gpt-test", base_url=fake.base_url, timeout_seconds=30.0, max_retries=0)


def question(text: str, *, id: str, user: str, minute: int = 0) -> Message:
    return Message(id=id, at=START + timedelta(minutes=minute), space="default", user=user,
                   channel="help", text=text)


@pytest_asyncio.fixture(loop_scope="function")
async def fake() -> AsyncIterator[FakeOpenAI]:
    server = await FakeOpenAI().start()
    try:
        yield server
    finally:
        await server.close()


@pytest_asyncio.fixture(loop_scope="function")
async def core(embedder: CachedEmbedder, fake: FakeOpenAI, store_url: str) -> AsyncIterator[Core]:
    core = await make_core(embedder, kb=DEMO_KB, db=store_url)
    core.generator = Generator(llm(fake), api_key="sk-test")
    try:
        yield core
    finally:
        await core.close()


def answers(actions: Sequence[Action]) -> list[Reply]:
    return [a for a in actions if isinstance(a, Reply) and a.kind == "answer"]


async def stored_replies(core: Core) -> list[Reply]:
    return [a for a in await core.pending() if isinstance(a, Reply)]


async def test_a_slow_model_does_not_hold_up_another_members_question(core: Core, fake: FakeOpenAI) -> None:
    held = asyncio.Event()
    fake.then(hold=held, answer="Settings → API → Rotate key; the old one works for a day [1].")
    ann = asyncio.create_task(core.handle(question(ROTATE, id="q-ann", user="ann")))
    await eventually(lambda: len(fake.requests) == 1, WITHIN)  # Ann's words are being written, slowly

    fake.then(answer="Add an endpoint under Settings → Integrations → Webhooks [1].")
    bob = await asyncio.wait_for(core.handle(question(WEBHOOKS, id="q-bob", user="bob", minute=1)), WITHIN)

    assert not ann.done(), "Ann's answer cannot be out: her model call is still held"
    [to_bob] = answers(bob)
    assert to_bob.case == "q-bob" and to_bob.text.startswith("Add an endpoint")
    held.set()
    [to_ann] = answers(await asyncio.wait_for(ann, WITHIN))
    assert to_ann.case == "q-ann" and to_ann.text.startswith("Settings → API → Rotate key; the old one")
    assert to_bob.seq < to_ann.seq  # stored, and so sent, in the order they were ready
    assert len(fake.requests) == 2  # each asked the model once
    stored = await stored_replies(core)
    assert sorted(r.case or "" for r in stored if r.kind == "answer") == ["q-ann", "q-bob"]


async def test_words_from_an_entry_that_changed_meanwhile_are_dropped_and_written_again(
        core: Core, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    held = asyncio.Event()
    fake.then(hold=held, answer="Old words: the old key keeps working for 24 hours [1].")
    ann = asyncio.create_task(core.handle(question(ROTATE, id="q-ann", user="ann")))
    await eventually(lambda: len(fake.requests) == 1, WITHIN)

    # Staff correct the entry while the model writes from the old version: the store and
    # the lock are free, so this commits now.
    entry = await core.kb.get("api-key-rotate")
    assert entry is not None
    await asyncio.wait_for(core.kb.revise(
        entry, author="alice", origin="staff", at=START,
        answer="Settings → API → Rotate key. The old key stops working at once."), WITHIN)
    fake.then(answer="New words: the old key stops working at once [1].")
    held.set()
    [to_ann] = answers(await asyncio.wait_for(ann, WITHIN))

    assert to_ann.text.startswith("New words")
    assert "Old words" not in " ".join(r.text for r in await stored_replies(core))
    assert "The old key stops working at once." in fake.requests[1].text()
    assert "the case moved on while the LLM wrote its answer; those words are dropped" in caplog.text
    generations = [r.body async for r in EventLog(core.db).records(kinds=("generation",))]
    assert [(s["entry"], s["version"]) for s in generations[-1]["sources"]][:1] == [("api-key-rotate", 2)]
    assert len(generations) == 1  # only what went out is on record


async def test_an_entry_retired_meanwhile_sends_none_of_its_words(
        core: Core, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    held = asyncio.Event()
    fake.then(hold=held, answer="Stale words from a retired entry [1].")
    ann = asyncio.create_task(core.handle(question(ROTATE, id="q-ann", user="ann")))
    await eventually(lambda: len(fake.requests) == 1, WITHIN)

    entry = await core.kb.get("api-key-rotate")
    assert entry is not None
    await asyncio.wait_for(core.kb.retire(entry, by="alice", at=START), WITHIN)
    held.set()
    said = await asyncio.wait_for(ann, WITHIN)

    everything = " ".join(getattr(a, "text", "") for a in await core.pending())
    assert "Stale words" not in everything
    assert not [r for r in answers(said) if "api-key-rotate" in r.sources]
    assert said, "Ann is still told something: answered from another entry or handed over"
    assert "those words are dropped" in caplog.text


async def test_the_askers_next_word_on_that_question_waits_for_the_answer_and_keeps_its_order(
        core: Core, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    held = asyncio.Event()
    fake.then(hold=held, answer="Settings → API → Rotate key; the old one works for a day [1].")
    ann = asyncio.create_task(core.handle(question(ROTATE, id="q-ann", user="ann")))
    await eventually(lambda: len(fake.requests) == 1, WITHIN)

    withdrawn = asyncio.create_task(core.handle(
        Delete(id="d-ann", at=START + timedelta(minutes=1), space="default", user="ann", about="q-ann")))
    bob = await asyncio.wait_for(core.handle(question(WEBHOOKS, id="q-bob", user="bob", minute=1)), WITHIN)
    assert answers(bob), "another member's question goes on meanwhile"
    assert not withdrawn.done(), "Ann's delete waits for her question, out on its call"
    held.set()
    await asyncio.wait_for(ann, WITHIN)
    await asyncio.wait_for(withdrawn, WITHIN)

    case = await core.cases.get("default", "q-ann")
    assert case is not None and case.status == "closed"  # answered, then withdrawn: in that order
    assert "event d-ann waits outside the lock for event q-ann" in caplog.text


class DiesAfterTheCall(Generator):
    """The model answers; the worker dies before it applies the words."""

    answered: asyncio.Event

    async def compose(self, *, question: str, thread: Sequence[str], sources: Sequence[Entry],
                      journey: str) -> Generated:
        words = await super().compose(question=question, thread=thread, sources=sources, journey=journey)
        self.answered.set()
        await asyncio.Event().wait()  # never applied: the task is cancelled here
        return words


async def test_a_worker_that_dies_between_the_call_and_the_apply_loses_nothing(
        embedder: CachedEmbedder, fake: FakeOpenAI, store_url: str) -> None:
    first = await make_core(embedder, kb=DEMO_KB, db=store_url)
    dying = DiesAfterTheCall(llm(fake), api_key="sk-test")
    dying.answered = asyncio.Event()
    first.generator = dying
    fake.then(answer="Words the first worker never sent [1].")
    ann = asyncio.create_task(first.handle(question(ROTATE, id="q-ann", user="ann")))
    await eventually(dying.answered.is_set, WITHIN)
    ann.cancel()  # the worker stops between the call and the apply
    with contextlib.suppress(asyncio.CancelledError):
        await ann
    assert await first.inbox.waits("default", "q-ann")  # stored, acknowledged, not handled
    assert await first.pending() == [] and await first.cases.get("default", "q-ann") is None
    lease_ms = int(llm(fake).timeout_seconds * 1000)
    others = await first.inbox.unhandled(worker="another-worker", now=now_ms())
    assert "q-ann" not in [w.id for w in others]  # leased for the call: no one else takes it meanwhile
    later = await first.inbox.unhandled(worker="another-worker", now=now_ms() + lease_ms + 20_000)
    assert "q-ann" in [w.id for w in later]  # … but anyone may once the lease has run out
    worker = first.worker
    await first.close()

    second = await make_core(embedder, db=store_url, worker=worker)  # the same worker, restarted
    try:
        second.generator = Generator(llm(fake), api_key="sk-test")
        fake.then(answer="Words from the restarted worker [1].")
        said: list[Action] = []
        for accepted in await second.waiting():
            said += await second.process(accepted)
        [to_ann] = answers(said)
        assert to_ann.case == "q-ann" and to_ann.text.startswith("Words from the restarted worker")
        stored = [r for r in await stored_replies(second) if r.kind == "answer"]
        assert [r.case for r in stored] == ["q-ann"]  # once
        assert not await second.inbox.waits("default", "q-ann")
        assert await second.waiting() == []
        assert len(fake.requests) == 2
    finally:
        await second.close()
