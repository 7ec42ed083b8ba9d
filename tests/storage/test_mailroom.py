"""The two queues delivery works from: events in (each once, claimed once), actions out
(each with a key, each attempt noted), and what a failing store does to them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio

from storage.database import Database, StoreUnavailable
from storage.eventlog import EventLog
from storage.mailroom import Inbox, Outbox
from tests.fakes.disk import FullDisk, HeldLock

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture(loop_scope="function")
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(str(tmp_path / "mail.db"))
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def receive(inbox: Inbox, event_id: str, text: str = "how do I rotate my API key?") -> bool:
    return await inbox.receive(space="default", event_id=event_id, at=AT, body={"id": event_id, "text": text})


async def test_an_event_is_claimed_by_one_transaction_only(db: Database) -> None:
    inbox = Inbox(db, EventLog(db))
    assert await receive(inbox, "m1")

    async with db.transaction():
        first = await inbox.claim("default", "m1")
        await inbox.mark("default", "m1", "handled")
    async with db.transaction():
        again = await inbox.claim("default", "m1")

    assert (first, again) == (True, False)
    assert not await inbox.claim("default", "never-stored")
    assert await inbox.unhandled() == []


async def test_a_claim_rolled_back_leaves_the_event_waiting(db: Database) -> None:
    inbox = Inbox(db, EventLog(db))
    await receive(inbox, "m1")
    await receive(inbox, "m2")

    async def handle_and_stop() -> None:
        async with db.transaction():
            assert await inbox.claim("default", "m1")
            await inbox.mark("default", "m1", "handled")
            raise RuntimeError("the process stopped mid-way")

    with pytest.raises(RuntimeError):
        await handle_and_stop()

    assert [w.id for w in await inbox.unhandled()] == ["m1", "m2"]  # oldest first
    assert [w.id for w in await inbox.unhandled(limit=1)] == ["m1"]
    assert (await inbox.unhandled())[0].body["text"] == "how do I rotate my API key?"


async def test_actions_get_keys_unique_across_stores_and_count_their_attempts(db: Database,
                                                                             tmp_path: Path) -> None:
    outbox = Outbox(db)
    seq, key = await outbox.put(event_id="m1", space="default", body={"type": "reply"})
    other_seq, other_key = await outbox.put(event_id="m1", space="default", body={"type": "route"})
    async with Database(str(tmp_path / "another.db")) as elsewhere:
        _, foreign_key = await Outbox(elsewhere).put(event_id="m1", space="default", body={})

    await outbox.attempt(seq)
    await outbox.attempt(seq)
    await outbox.performed(other_seq, at=AT, ref="C1:1.0")

    (queued,) = await outbox.pending()
    assert (queued.seq, queued.key, queued.attempts) == (seq, key, 2)
    assert len({key, other_key, foreign_key}) == 3 and len(key) <= 20  # a nonce holds 25 characters


async def test_a_full_disk_is_unavailable_and_passes(db: Database) -> None:
    inbox = Inbox(db, EventLog(db))
    disk = FullDisk(db)
    await disk.fill()

    async def until_full() -> None:
        for n in range(200):
            await receive(inbox, f"m{n}", "a question " * 40)

    with pytest.raises(StoreUnavailable, match="disk is full"):
        await until_full()
    taken = {w.id for w in await inbox.unhandled(limit=500)}
    await disk.free()

    assert await receive(inbox, "after")  # the connection is not stuck inside a failed transaction
    assert {w.id for w in await inbox.unhandled(limit=500)} == taken | {"after"}
    assert (await EventLog(db).verify()).ok


async def test_a_lock_held_past_the_busy_timeout_is_unavailable_and_passes(db: Database) -> None:
    inbox = Inbox(db, EventLog(db))
    await db.conn.execute("PRAGMA busy_timeout = 200")  # 5 s in production
    lock = HeldLock(db.path).take()
    started = time.monotonic()
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            await receive(inbox, "m1")
        waited = time.monotonic() - started
    finally:
        lock.release()

    assert waited >= 0.2
    assert await receive(inbox, "m1")  # nothing of the failed attempt was kept
    assert [w.id for w in await inbox.unhandled()] == ["m1"]
