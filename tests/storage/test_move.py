"""``journeybot db migrate --to postgresql://…``: an SQLite store moves with its
log chain intact, says how far it got, and can be run again or resumed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import storage.move
from bot.cli import app
from knowledge.embedder import CachedEmbedder
from storage import database_for
from storage.eventlog import EventLog
from storage.move import TABLES, move
from storage.sql import Sql, StoreError
from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB
from tests.storage.conftest import AT

APPLE = "Yes: on iPad, tap the pen icon in any page to write with Apple Pencil."


async def a_day_on_sqlite(embedder: CachedEmbedder, path: str) -> None:
    """A store with something in every table: answers, a hand-over, a staff answer learned."""
    core = await make_core(embedder, kb=DEMO_KB, db=path)
    chat = Chat(core)
    try:
        await chat.ask("how do I rotate my API key?", id="m1")
        await chat.ask("does the mobile app support apple pencil handwriting?", id="m2")
        await chat.staff(APPLE, card="card:m2", user="alice")
        await chat.press("m1", "solved")
    finally:
        await core.close()


async def counts(db: Sql) -> dict[str, int]:
    found = {"log": await EventLog(db).count()}
    for table in TABLES:
        row = await db.fetchone(f"SELECT count(*) AS n FROM {table.name}")
        found[table.name] = int(row["n"]) if row else 0
    return found


@pytest.fixture
async def sqlite_store(embedder: CachedEmbedder, tmp_path: Path) -> str:
    path = str(tmp_path / "journeybot.db")
    await a_day_on_sqlite(embedder, path)
    return path


async def test_every_table_of_the_sqlite_schema_is_moved(sqlite_store: str) -> None:
    with sqlite3.connect(sqlite_store) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables - {"schema_version"} - {"log"} == {table.name for table in TABLES}


async def test_a_store_moves_to_postgresql_with_its_chain_and_keeps_working(
        sqlite_store: str, postgres_url: str, embedder: CachedEmbedder) -> None:
    seen: list[tuple[str, int, int]] = []
    async with database_for(sqlite_store) as source, database_for(postgres_url) as target:
        moved = await move(source, target, progress=lambda *step: seen.append(step))
        assert await counts(target) == await counts(source)
        assert (await EventLog(target).head()) == (await EventLog(source).head())
        assert (await EventLog(target).verify()).ok
    assert moved.log_copied == moved.log_records > 20 and moved.rows["cases"] == 2
    assert ("log", moved.log_records, moved.log_records) in seen and ("cases", 2, 2) in seen
    core = await make_core(embedder, db=postgres_url)  # the bot on the new store: what it learned is there
    try:
        said = await Chat(core).ask("can I handwrite with an apple pencil in the mobile app?", user="u9", id="n1")
        assert said.reply.kind == "answer" and APPLE in said.reply.text
    finally:
        await core.close()
    async with database_for(postgres_url) as target:
        assert (await EventLog(target).verify()).ok, "new records chain on from the moved ones"


async def test_a_stopped_move_resumes_and_a_second_run_copies_nothing_twice(
        sqlite_store: str, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.move, "BATCH", 5)

    def stop_midway(table: str, done: int, total: int) -> None:
        if table == "log" and done >= 10:
            raise KeyboardInterrupt

    async with database_for(sqlite_store) as source, database_for(postgres_url) as target:
        with pytest.raises(KeyboardInterrupt):
            await move(source, target, progress=stop_midway)
        assert 10 <= await EventLog(target).count() < await EventLog(source).count()
        first = await move(source, target)
        again = await move(source, target)
        assert first.log_copied + 10 == first.log_records and again.log_copied == 0
        assert await counts(target) == await counts(source)
        assert (await EventLog(target).verify()).ok


async def test_a_destination_with_another_store_s_log_is_refused(
        sqlite_store: str, postgres_url: str, tmp_path: Path) -> None:
    async with database_for(postgres_url) as target:
        await EventLog(target).append("event", at=AT, space="x", body={"from": "another store"})
    async with database_for(sqlite_store) as source, database_for(postgres_url) as target:
        with pytest.raises(StoreError, match="not this store's"):
            await move(source, target)


def test_the_command_moves_says_how_far_it_got_and_audit_verify_holds_there(
        sqlite_store: str, postgres_url: str) -> None:
    runner = CliRunner()
    done = runner.invoke(app, ["db", "migrate", "--to", postgres_url, "--db", sqlite_store])
    assert done.exit_code == 0, done.output
    assert "log:" in done.output and "cases: 2 of 2 (100%)" in done.output
    assert "chain intact on both" in done.output
    verified = runner.invoke(app, ["audit", "verify", "--db", postgres_url])
    assert verified.exit_code == 0 and "chain intact" in verified.output
    refused = runner.invoke(app, ["db", "migrate", "--to", "elsewhere.db", "--db", sqlite_store])
    assert refused.exit_code == 2 and "is not a PostgreSQL URL" in refused.output
