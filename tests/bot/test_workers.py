"""Two workers (two cores) on one PostgreSQL store, as two processes would run: what one
stored and then died with is handled by the other once its lease runs out, once, in order;
what it claimed to send is sent by the other; the events of one case share one lock key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

import bot.core
from bot.actions import Reply, Route
from bot.core import Core
from bot.events import Delete, Edit, Message
from bot.workers import touches
from knowledge.embedder import CachedEmbedder
from tests.chat import make_core
from tests.conftest import DEMO_KB

UNKNOWN = "does tidepool work with Figma for design reviews?"
LEASE_MS = 8_000  # long enough for a loaded test machine to look before it runs out


async def lease_runs_out(since: float) -> None:
    await asyncio.sleep(max(0.0, since + LEASE_MS / 1000 + 0.2 - time.monotonic()))


@pytest.fixture
async def workers(embedder: CachedEmbedder, postgres_url: str,
                  monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[Core, Core]]:
    monkeypatch.setattr(bot.core, "EVENT_LEASE_MS", LEASE_MS)
    monkeypatch.setattr(bot.core, "ACTION_LEASE_MS", LEASE_MS)
    a = await make_core(embedder, kb=DEMO_KB, db=postgres_url)
    b = await make_core(embedder, db=postgres_url)
    try:
        assert a.worker != b.worker
        yield a, b
    finally:
        await a.close()
        await b.close()


def message(id: str, text: str, **fields: Any) -> Message:
    return Message(id=id, at=datetime.now(UTC), user="u1", channel="help", text=text, **fields)


async def handle_waiting(core: Core) -> list[Any]:
    actions = []
    for accepted in await core.waiting():
        actions += await core.process(accepted)
    return actions


async def test_a_question_a_dead_worker_stored_is_answered_by_another_and_its_follow_up_waits_for_it(
        workers: tuple[Core, Core]) -> None:
    a, b = workers
    begun = time.monotonic()
    question = await a.accept(message("q1", "how do I rotate my API key?"))
    assert question.verdict == "stored"  # acknowledged to the platform; then worker a dies

    follow_up = await b.accept(message("f1", "and the admin key too?", thread="q1"))
    assert await b.process(follow_up) == []  # its question comes first
    assert [w.event.id for w in await b.waiting()] == ["f1"]  # q1 is a's while its lease runs

    await lease_runs_out(begun)
    assert [w.event.id for w in await b.waiting()] == ["q1", "f1"]
    actions = await handle_waiting(b)
    replies = [x for x in actions if isinstance(x, Reply)]
    assert replies and replies[0].event == "q1" and replies[0].case == "q1"
    assert {x.event for x in actions} == {"q1", "f1"}

    assert await a.process(question) == []  # a worker that comes back handles nothing twice
    assert await b.waiting() == [] and await a.waiting() == []


async def test_an_edit_and_a_delete_of_a_question_another_worker_has_in_hand_wait_for_it(
        workers: tuple[Core, Core]) -> None:
    a, b = workers
    begun = time.monotonic()
    question = await a.accept(message("q1", "how do I rotate my API key?"))
    assert question.verdict == "stored"  # a has it in hand (out on a call, say), or died with it

    edit = await b.accept(Edit(id="q1:edit", at=datetime.now(UTC), user="u1", about="q1",
                               text="how do I rotate my API key? (the admin one)"))
    delete = await b.accept(Delete(id="q1:deleted", at=datetime.now(UTC), user="u1", about="q1"))
    assert await b.process(edit) == [] and await b.process(delete) == []  # neither overtakes it
    assert [w.event.id for w in await b.waiting()] == ["q1:edit", "q1:deleted"]

    await lease_runs_out(begun)
    assert [w.event.id for w in await b.waiting()] == ["q1", "q1:edit", "q1:deleted"]
    await handle_waiting(b)
    case = await b.cases.get("default", "q1")
    assert case is not None and case.status == "closed"  # answered, edited, then withdrawn: in order
    assert await b.waiting() == [] and await a.process(question) == []


async def test_what_a_dead_worker_claimed_to_send_is_sent_by_another(workers: tuple[Core, Core]) -> None:
    a, b = workers
    actions = await a.handle(message("q1", UNKNOWN))
    assert any(isinstance(x, Route) for x in actions)
    begun = time.monotonic()
    claimed = await a.to_send()
    assert [x.seq for x in claimed] == [x.seq for x in actions]
    await a.attempting(claimed[0])  # then a dies, mid-send
    assert await b.to_send() == []

    await lease_runs_out(begun)
    taken = await b.to_send()
    assert [(x.seq, x.key, x.resend) for x in taken] == [(x.seq, x.key, n == 0) for n, x in enumerate(claimed)]
    for action in taken:
        await b.performed(action, action.card if isinstance(action, Route) else None)
    assert await a.to_send() == [] and await a.pending() == []


async def test_the_events_of_one_case_hold_one_key_whoever_sends_them(workers: tuple[Core, Core]) -> None:
    a, b = workers
    routed = await a.handle(message("q1", UNKNOWN))
    route = next(x for x in routed if isinstance(x, Route))
    await a.performed(route, "card-1")

    keys = [(await touches(b.cases, event))[0] for event in (
        message("q1", UNKNOWN),
        message("f1", "any news?", thread="q1"),
        Message(id="s1", at=datetime.now(UTC), user="alice", channel="staff", text="use the bridge",
                thread="card-1", roles=("staff",)),
    )]
    assert all("case:default:q1" in k and "user:default:u1" in k for k in keys)
    other = Message(id="q2", at=datetime.now(UTC), user="u2", channel="help", text="another question")
    assert (await touches(b.cases, other))[0].isdisjoint(keys[0])
