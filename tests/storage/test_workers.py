"""Several workers on one store, as two connections to it (``db`` and ``other``) play them:
an event is handled by one, a lease that runs out lets another take over, a case's actions
go out from one worker in order, and two transactions of one case never overlap."""

from __future__ import annotations

import asyncio
import time

import pytest

from storage.eventlog import EventLog
from storage.locks import CaseLocks
from storage.mailroom import Inbox, Lease, Outbox, now_ms
from storage.sql import Sql
from tests.storage.conftest import AT

A = Lease("worker-a", 10_000)
B = Lease("worker-b", 10_000)


async def test_two_workers_race_for_one_event_and_one_handles_it(db: Sql, other: Sql) -> None:
    await Inbox(db, EventLog(db)).receive(space="s", event_id="m1", at=AT, body={"text": "hi"}, lease=A)
    started = asyncio.Event()

    async def handle(database: Sql, who: str) -> str | None:
        inbox = Inbox(database, EventLog(database))
        async with database.transaction():
            if not await inbox.claim("s", "m1"):
                return None
            started.set()
            await asyncio.sleep(0.3)  # the flow takes a while; the other worker tries meanwhile
            await inbox.mark("s", "m1", "handled")
            return who

    async def second() -> str | None:
        await started.wait()
        return await handle(other, "b")

    results = await asyncio.gather(handle(db, "a"), second())
    assert results == ["a", None]
    assert await Inbox(other, EventLog(other)).unhandled() == []


async def test_an_event_waits_for_its_worker_until_its_lease_runs_out(db: Sql, other: Sql) -> None:
    before = now_ms()
    await Inbox(db, EventLog(db)).receive(space="s", event_id="m1", at=AT, body={"n": 1}, lease=A)
    await Inbox(db, EventLog(db)).receive(space="s", event_id="m2", at=AT, body={"n": 2})  # no lease
    inbox_b = Inbox(other, EventLog(other))

    assert [w.id for w in await inbox_b.unhandled(worker=B.worker, now=before + 1_000)] == ["m2"]
    assert [w.id for w in await inbox_b.unhandled(worker=A.worker, now=before + 1_000)] == ["m1", "m2"]
    after_lease = now_ms() + A.ms + 1
    assert [w.id for w in await inbox_b.unhandled(worker=B.worker, now=after_lease)] == ["m1", "m2"]
    assert [w.id for w in await inbox_b.unhandled()] == ["m1", "m2"]  # without a worker: all


async def put(outbox: Outbox, case: str | None, text: str) -> int:
    seq, _ = await outbox.put(event_id="e", space="s", body={"text": text}, case=case)
    return seq


async def test_a_case_s_actions_go_out_from_one_worker_in_order_and_a_dead_worker_s_are_taken_over(
        db: Sql, other: Sql) -> None:
    outbox_a, outbox_b = Outbox(db), Outbox(other)
    x1, x2, y1 = await put(outbox_a, "X", "x1"), await put(outbox_a, "X", "x2"), await put(outbox_a, "Y", "y1")
    now = now_ms()
    assert [q.seq for q in await outbox_a.claim(A, now=now)] == [x1, x2, y1]
    x3, z1 = await put(outbox_a, "X", "x3"), await put(outbox_a, "Z", "z1")

    # B may not send x3 before A's x1 and x2, nor anything A holds; Z is free.
    assert [q.seq for q in await outbox_b.claim(B, now=now + 1)] == [z1]
    assert [q.seq for q in await outbox_a.claim(A, now=now + 2)] == [x1, x2, y1, x3]  # renewed
    await outbox_a.performed(x1, at=AT, ref="C:1")

    # A dies; once its lease runs out, B sends what it left, in order, and the attempts show.
    await outbox_a.attempt(x2)
    later = now + 2 + A.ms + 1
    taken = await outbox_b.claim(B, now=later)
    assert [(q.seq, q.attempts) for q in taken] == [(x2, 1), (y1, 0), (x3, 0), (z1, 0)]
    assert await outbox_a.claim(A, now=later + 1) == []


async def test_two_workers_claiming_at_once_never_take_the_same_action(db: Sql, other: Sql) -> None:
    outbox = Outbox(db)
    for n in range(40):
        await put(outbox, f"case-{n % 13}", f"action {n}")
    a, b = await asyncio.gather(Outbox(db).claim(A, limit=100), Outbox(other).claim(B, limit=100))
    seqs_a, seqs_b = {q.seq for q in a}, {q.seq for q in b}
    assert not seqs_a & seqs_b and seqs_a | seqs_b
    # What neither took (a case split between two claims in progress) is taken next time, once.
    seqs_a |= {q.seq for q in await Outbox(db).claim(A, limit=100)}
    seqs_b |= {q.seq for q in await Outbox(other).claim(B, limit=100)}
    assert not seqs_a & seqs_b
    assert len(seqs_a | seqs_b) == 40


async def overlaps(db: Sql, other: Sql, first: list[str], second: list[str], *,
                   everything: tuple[bool, bool] = (False, False)) -> bool:
    """Whether two transactions holding these keys ran at the same time."""
    spans: dict[str, tuple[float, float]] = {}
    holding = asyncio.Event()

    async def run(database: Sql, name: str, keys: list[str], all_of_it: bool) -> None:
        if name == "second":
            await holding.wait()
        async with database.transaction():
            await CaseLocks(database).hold(keys, everything=all_of_it)
            begun = time.monotonic()
            holding.set()
            await asyncio.sleep(0.3)
            spans[name] = (begun, time.monotonic())

    await asyncio.gather(run(db, "first", first, everything[0]), run(other, "second", second, everything[1]))
    return spans["second"][0] < spans["first"][1]


async def test_two_events_of_one_case_are_never_handled_at_the_same_time(db: Sql, other: Sql) -> None:
    assert not await overlaps(db, other, ["case:s:X", "user:s:U1"], ["user:s:U2", "case:s:X"])
    assert not await overlaps(db, other, ["case:s:X"], [], everything=(False, True))  # time passing waits
    assert not await overlaps(db, other, [], ["case:s:Y"], everything=(True, False))


async def test_events_of_different_cases_run_side_by_side_on_postgresql(store_url: str, db: Sql,
                                                                        other: Sql) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one writer: its transactions never overlap")
    assert await overlaps(db, other, ["case:s:X", "user:s:U1"], ["case:s:Y", "user:s:U2"])


async def test_an_arriving_event_is_stored_while_the_process_handles_another_on_postgresql(db: Sql) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one connection: storing waits its turn")
    inbox = Inbox(db, EventLog(db))
    await inbox.receive(space="s", event_id="m1", at=AT, body={"n": 1})
    handling, release = asyncio.Event(), asyncio.Event()

    async def handle() -> None:
        async with db.transaction():
            assert await inbox.claim("s", "m1")
            handling.set()
            await release.wait()  # a slow flow
            await inbox.mark("s", "m1", "handled")

    task = asyncio.create_task(handle())
    await handling.wait()
    try:
        assert await asyncio.wait_for(inbox.receive(space="s", event_id="m2", at=AT, body={"n": 2}), 5)
    finally:
        release.set()
        await task
    assert [w.id for w in await inbox.unhandled()] == ["m2"]
    assert (await EventLog(db).verify()).ok
