"""What every store promises the layers above: transactions that undo what
they did in memory, news of other processes' commits, a health check."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from storage import database_for
from storage.meta import Meta
from storage.migrations import MIGRATIONS
from storage.postgres.migrations import MIGRATIONS as PG_MIGRATIONS
from storage.sql import Sql, StoreError
from tests.storage.conftest import Failed, eventually, failing


async def test_a_rollback_undoes_in_memory_changes_and_a_commit_keeps_them(db: Sql) -> None:
    meta, undone = Meta(db), []

    async def work() -> None:
        await meta.put("a", "1")
        db.on_rollback(lambda: undone.append("index change"))
        async with db.transaction():  # re-entrant: one transaction
            await meta.put("b", "2")

    with pytest.raises(Failed):
        await failing(db, work)
    assert undone == ["index change"] and await meta.get("a") is None and await meta.get("b") is None
    async with db.transaction():
        await meta.put("a", "1")
        db.on_rollback(lambda: undone.append("kept"))
    assert undone == ["index change"] and await meta.get("a") == "1"


async def test_what_a_hook_writes_before_commit_commits_with_the_transaction(db: Sql) -> None:
    meta = Meta(db)

    async def hook() -> None:
        await meta.put("written", "at commit")

    async with db.transaction():
        db.before_commit(hook)
        assert await meta.get("written") is None
    assert await meta.get("written") == "at commit"


async def test_keyed_values_are_replaced(db: Sql) -> None:
    meta = Meta(db)
    await meta.put("k", "one")
    await meta.put("k", "two — ünïcode")
    assert await meta.get("k") == "two — ünïcode" and await meta.get("missing") is None


async def test_another_process_s_commit_is_noticed(db: Sql, other: Sql) -> None:
    heard: list[str] = []
    db.subscribe(heard.append)
    before = await db.data_version()
    await Meta(other).put("k", "v")
    versions: list[int] = []

    async def changed() -> bool:
        versions.append(await db.data_version())
        return versions[-1] != before

    for _ in range(500):
        if await changed():
            break
        await asyncio.sleep(0.01)
    assert versions[-1] != before, "the other process's commit is noticed"
    if db.dialect == "postgresql":  # pushed at once; SQLite's readers poll data_version
        await eventually(lambda: "state" in heard)
    own = await db.data_version()
    await Meta(db).put("mine", "v")
    await asyncio.sleep(0.2)
    assert await db.data_version() == own, "our own commits are not news"


async def test_health_says_which_store_and_that_it_answers(db: Sql) -> None:
    health = await db.health()
    assert health.ok and health.dialect == db.dialect and health.latency_ms >= 0
    assert health.schema == len(MIGRATIONS) == len(PG_MIGRATIONS)
    assert health.as_json()["store"] == db.dialect


async def test_a_store_newer_than_this_journeybot_is_refused(request: pytest.FixtureRequest, db: Sql,
                                                             tmp_path: Path) -> None:
    """A store a newer journeybot migrated further is never opened (nor written) by an older one."""
    url = str(tmp_path / "newer.db") if db.dialect == "sqlite" else request.getfixturevalue("new_postgres_database")
    async with database_for(url) as newer:
        await newer.execute("INSERT INTO schema_version (version) VALUES (?)", (len(MIGRATIONS) + 1,))
    with pytest.raises(StoreError, match="newer than this journeybot understands"):
        await database_for(url).open()


async def test_an_unreachable_postgresql_is_one_clear_error_without_its_password() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    database = database_for(f"postgresql://bot:s3cret@127.0.0.1:{port}/journeybot")
    with pytest.raises(StoreError, match=r"cannot open the PostgreSQL store at postgresql://bot:\*\*\*@127") as error:
        await database.open()
    assert "s3cret" not in str(error.value)


async def test_transactions_of_one_process_take_turns(db: Sql) -> None:
    """A flow reads and writes back in one transaction: another of the same process never interleaves."""
    meta = Meta(db)
    await meta.put("count", "0")

    async def add_one() -> None:
        async with db.transaction():
            value = int(await meta.get("count") or 0)
            await asyncio.sleep(0.01)
            await meta.put("count", str(value + 1))

    await asyncio.gather(*(add_one() for _ in range(5)))
    assert await meta.get("count") == "5"
