"""The two queues delivery works from, on each store: events in (each once, claimed once),
actions out (each with a key, each attempt noted), and what a failing store does to them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from storage.database import Database
from storage.eventlog import EventLog
from storage.mailroom import Inbox, Outbox
from storage.postgres import PostgresDatabase
from storage.postgres import database as pg
from storage.sql import Sql, StoreUnavailable
from tests.fakes.disk import FullDisk, HeldLock
from tests.storage.conftest import AT, at


async def receive(inbox: Inbox, event_id: str, text: str = "how do I rotate my API key?") -> bool:
    return await inbox.receive(space="default", event_id=event_id, at=AT, body={"id": event_id, "text": text})


async def test_an_event_is_stored_once_and_a_redelivery_writes_nothing(db: Sql) -> None:
    log = EventLog(db)
    inbox = Inbox(db, log)
    assert await inbox.receive(space="s", event_id="m1", at=AT, body={"text": "hi"})
    assert not await inbox.receive(space="s", event_id="m1", at=at(1), body={"text": "hi"})
    assert await inbox.receive(space="t", event_id="m1", at=at(2), body={"text": "other space"})
    assert [(r.space, r.event_id) async for r in log.records()] == [("s", "m1"), ("t", "m1")]
    assert await inbox.known("s", "m1") and not await inbox.known("s", "m2")
    assert (await log.verify()).ok


async def test_what_was_received_but_never_handled_is_found_again_in_order(db: Sql) -> None:
    inbox = Inbox(db, EventLog(db))
    for n in range(1, 5):
        await inbox.receive(space="s", event_id=f"m{n}", at=at(n), body={"n": n})
    await inbox.mark("s", "m2", "handled")
    await inbox.mark("s", "m3", "failed")
    assert [(w.space, w.id, w.body) for w in await inbox.unhandled()] == [("s", "m1", {"n": 1}),
                                                                          ("s", "m4", {"n": 4})]
    assert [w.id for w in await inbox.unhandled(limit=1)] == ["m1"]


async def test_an_event_is_claimed_by_one_transaction_only(db: Sql) -> None:
    inbox = Inbox(db, EventLog(db))
    assert await receive(inbox, "m1")

    async with db.transaction():
        first = await inbox.claim("default", "m1")
        await inbox.mark("default", "m1", "handled")
    async with db.transaction():
        again = await inbox.claim("default", "m1")

    assert (first, again) == (True, False)
    async with db.transaction():
        assert not await inbox.claim("default", "never-stored")
    assert await inbox.unhandled() == []


async def test_a_claim_rolled_back_leaves_the_event_waiting(db: Sql) -> None:
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
    assert (await inbox.unhandled())[0].body["text"] == "how do I rotate my API key?"


async def test_actions_get_keys_unique_across_stores_and_count_their_attempts(db: Sql, tmp_path: Path) -> None:
    outbox = Outbox(db)
    seq, key = await outbox.put(event_id="m1", space="default", body={"type": "reply", "text": "été"})
    other_seq, other_key = await outbox.put(event_id="m1", space="default", body={"type": "route"})
    async with Database(str(tmp_path / "another.db")) as elsewhere:
        _, foreign_key = await Outbox(elsewhere).put(event_id="m1", space="default", body={})

    await outbox.attempt(seq)
    await outbox.attempt(seq)
    await outbox.performed(other_seq, at=AT, ref="C1:1.0")

    (queued,) = await outbox.pending()
    assert other_seq > seq
    assert (queued.seq, queued.key, queued.attempts, queued.body) == (seq, key, 2, {"type": "reply", "text": "été"})
    assert len({key, other_key, foreign_key}) == 3 and len(key) <= 20  # a nonce holds 25 characters


# -- SQLite's passing conditions: a full disk, a lock held past the busy timeout ----------------


@pytest_asyncio.fixture(loop_scope="function")
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(str(tmp_path / "mail.db"))
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def test_a_full_disk_is_unavailable_and_passes(sqlite_db: Database) -> None:
    inbox = Inbox(sqlite_db, EventLog(sqlite_db))
    disk = FullDisk(sqlite_db)
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
    assert (await EventLog(sqlite_db).verify()).ok


async def test_a_lock_held_past_the_busy_timeout_is_unavailable_and_passes(sqlite_db: Database) -> None:
    inbox = Inbox(sqlite_db, EventLog(sqlite_db))
    await sqlite_db.conn.execute("PRAGMA busy_timeout = 200")  # 5 s in production
    lock = HeldLock(sqlite_db.path).take()
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


# -- PostgreSQL's passing conditions: a lost connection, a lock timeout, a serialization failure --


async def cut_every_other_session(url: str) -> None:
    """The server ends every other session, as a restart or a network cut would."""
    admin = await asyncpg.connect(url)
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    finally:
        await admin.close()


async def test_a_connection_lost_mid_transaction_is_unavailable_and_passes(postgres_url: str) -> None:
    async with PostgresDatabase(postgres_url, pool_size=1) as db:
        inbox = Inbox(db, EventLog(db))
        assert await receive(inbox, "m1")

        async def handle_while_the_server_restarts() -> None:
            async with db.transaction():
                assert await inbox.claim("default", "m1")
                await inbox.mark("default", "m1", "handled")
                await cut_every_other_session(postgres_url)
                await Outbox(db).put(event_id="m1", space="default", body={"type": "reply"})

        with pytest.raises(StoreUnavailable, match="PostgreSQL store"):
            await handle_while_the_server_restarts()
        assert await receive(inbox, "m2")  # the pool made a new connection; nothing half-kept
        assert [w.id for w in await inbox.unhandled()] == ["m1", "m2"]
        assert await Outbox(db).pending() == []
        assert (await EventLog(db).verify()).ok


async def test_a_lock_held_past_the_lock_timeout_is_unavailable_and_passes(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg, "LOCK_TIMEOUT_MS", 200)  # 5 s in production
    async with PostgresDatabase(postgres_url) as db:
        inbox = Inbox(db, EventLog(db))
        holder = await asyncpg.connect(postgres_url)
        try:
            tx = holder.transaction()
            await tx.start()
            await holder.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="lock timeout"):
                await receive(inbox, "m1")
            waited = time.monotonic() - started
            await tx.rollback()
        finally:
            await holder.close()
        assert waited >= 0.2
        assert await receive(inbox, "m1")
        assert [w.id for w in await inbox.unhandled()] == ["m1"]
        assert (await EventLog(db).verify()).ok


def test_postgres_passing_conditions_are_named_and_mistakes_are_not() -> None:
    passing = [asyncpg.exceptions.SerializationError("could not serialize access"),
               asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
               asyncpg.exceptions.DiskFullError("could not extend file: No space left on device"),
               asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
               asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
               asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
               asyncpg.InterfaceError("cannot perform operation: connection is closed"),
               ConnectionRefusedError(111, "Connection refused"), TimeoutError()]
    mistakes = [asyncpg.exceptions.UndefinedColumnError("column \"nope\" does not exist"),
                asyncpg.exceptions.UniqueViolationError("duplicate key"),
                asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
                ValueError("bad input")]
    assert all(isinstance(pg.unavailable(exc), StoreUnavailable) for exc in passing)
    assert [pg.unavailable(exc) for exc in mistakes] == [None] * len(mistakes)
