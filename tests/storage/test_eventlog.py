"""The event log on each store: one hash chain, numbered at commit, whoever writes."""

from __future__ import annotations

import asyncio
import json

import pytest

import storage.eventlog
from storage.eventlog import EventLog
from storage.sql import Sql
from tests.storage.conftest import AT, Failed, at, failing


async def test_records_are_chained_in_the_order_their_transactions_commit(db: Sql) -> None:
    log = EventLog(db)
    async with db.transaction():
        await log.append("event", at=AT, space="s", event_id="e1", body={"text": "hi"})
        await log.append("decision", at=AT, space="s", case="c1", body={"kind": "answer"})
    await log.append("action", at=at(1), space="s", case="c1", body={"seq": 1})
    stored = [r async for r in log.stored()]
    assert [(r.seq, r.kind) for r in stored] == [(1, "event"), (2, "decision"), (3, "action")]
    assert stored[0].prev_hash == "0" * 64 and stored[1].prev_hash == stored[0].hash
    assert all(r.sealed for r in stored)
    assert (await log.verify()).ok and (await log.head()) == (3, stored[2].hash)


async def test_a_rolled_back_transaction_leaves_no_record_and_no_gap(db: Sql) -> None:
    log = EventLog(db)
    with pytest.raises(Failed):
        await failing(db, lambda: log.append("event", at=AT, space="s", body={"n": 1}))
    assert await log.append_now("event", at=AT, space="s", body={"n": 2}) == 1
    assert [r.body async for r in log.records()] == [{"n": 2}]


async def test_append_now_numbers_at_once_and_later_records_follow(db: Sql) -> None:
    log = EventLog(db)
    async with db.transaction():
        await log.append("event", at=AT, space="s", body={"n": 1})
        assert await log.append_now("event", at=AT, space="s", body={"n": 2}) == 2
        await log.append("event", at=AT, space="s", body={"n": 3})
    assert [(r.seq, r.body["n"]) async for r in log.records()] == [(1, 1), (2, 2), (3, 3)]
    assert (await log.verify()).ok


async def test_several_writers_keep_one_chain(db: Sql, other: Sql) -> None:
    """Two connections (two worker processes) appending at once: one unbroken chain, nothing lost."""

    async def write(database: Sql, who: str) -> None:
        log = EventLog(database)
        for n in range(15):
            async with database.transaction():
                await log.append("event", at=at(n), space="s", event_id=f"{who}{n}", body={"who": who})
                await asyncio.sleep(0)
                await log.append("action", at=at(n), space="s", event_id=f"{who}{n}", body={"n": n})

    await asyncio.gather(write(db, "a"), write(other, "b"), write(db, "c"))
    log = EventLog(other)
    report = await log.verify()
    assert report.ok and report.records == 90
    pairs = [(r.event_id, r.kind) async for r in log.records()]
    for index in range(0, 90, 2):  # each transaction's records stay together
        assert pairs[index][0] == pairs[index + 1][0] and pairs[index][1] == "event"


async def test_records_are_read_by_period_space_case_and_kind(db: Sql) -> None:
    log = EventLog(db)
    async with db.transaction():
        await log.append("event", at=at(0), space="a", event_id="e1", body={})
        await log.append("decision", at=at(1), space="a", case="c1", body={})
        await log.append("decision", at=at(2), space="b", case="c1", body={})
        await log.append("approved", at=at(3), space="a", body={"entry": "k1"})
    assert [r.seq async for r in log.records(since=at(1), until=at(3))] == [2, 3]
    assert [r.seq async for r in log.records(space="a", kinds=("decision", "approved"))] == [2, 4]
    assert [r.seq for r in await log.of_case("c1")] == [2, 3]
    assert [r.seq for r in await log.of_case("c1", "b")] == [3]
    assert [r.seq for r in await log.of_kind("approved", "a")] == [4]
    assert [r.seq for r in await log.events("a", ["e1", "e9"])] == [1]
    assert [r.seq async for r in log.stored(space="a", after=1)] == [2, 4]
    assert await log.seq_before(4) == 3 and await log.count() == 4
    head = (await log.head())[1]
    assert head is not None and await log.hashes_starting(head[:10]) == [head]
    async with db.transaction():
        for n in range(5):
            await log.append("decision", at=at(4 + n), space="a", case=f"c{n + 2}", body={"n": n})
            await log.append("action", at=at(4 + n), space="a", case=f"c{n + 2}", body={"n": -n})
    newest = await log.latest("decision", "a", 3)  # the newest three of the kind and space, oldest first
    assert [json.loads(r.body)["n"] for r in newest] == [2, 3, 4]
    assert [r.seq for r in await log.latest("decision", "b", 10)] == [3]


async def test_reading_pages_through_a_long_log(db: Sql, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.eventlog, "PAGE", 7)
    log = EventLog(db)
    async with db.transaction():
        for n in range(30):
            await log.append("event", at=at(n), space="s", body={"n": n})
    assert [r.body["n"] async for r in log.records()] == list(range(30))
    assert (await log.verify()).records == 30


async def test_a_changed_record_is_named(db: Sql) -> None:
    log = EventLog(db)
    for n in range(3):
        await log.append("event", at=at(n), space="s", body={"n": n})
    await db.execute("UPDATE log SET body = ? WHERE seq = 2", ('{"n":7}',))
    report = await log.verify()
    assert (report.broken_at, report.why) == (2, "its content was changed after it was written")
    await db.execute("DELETE FROM log WHERE seq = 2")
    report = await log.verify()
    assert (report.broken_at, report.why) == (3, "it does not follow the record before it")
