"""Two workers on one PostgreSQL: what one learns the other answers from,
and every record of both is in one verifiable chain."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from bot.audit import verify
from bot.cli import app
from bot.core import Core
from bot.settings import load_settings
from knowledge.embedder import CachedEmbedder
from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB
from tests.storage.conftest import eventually

APPLE = "Yes: on iPad, tap the pen icon in any page to write with Apple Pencil."


@pytest.fixture
async def workers(postgres_url: str, embedder: CachedEmbedder) -> AsyncIterator[tuple[Core, Core]]:
    second = await make_core(embedder, db=postgres_url)  # running before the import
    first = await make_core(embedder, db=postgres_url, kb=DEMO_KB)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


async def test_what_one_worker_learns_the_other_answers_from(workers: tuple[Core, Core]) -> None:
    first, second = workers
    one, two = Chat(first), Chat(second)
    imported = first.kb.size("default")
    await eventually(lambda: second.kb.size("default") == imported)  # the import, announced
    assert (await two.ask("how do I rotate my API key?", id="b1", user="u1")).reply.kind == "answer"

    await one.ask("does the mobile app support apple pencil handwriting?", id="a1", user="u2")
    learned = (await one.staff(APPLE, card="card:a1", user="alice")).learned
    await eventually(lambda: second.kb.size("default") == imported + 1)
    said = await two.ask("can I handwrite with an apple pencil in the mobile app?", id="b2", user="u3")
    assert said.reply.kind == "answer" and said.reply.sources == (learned.entry,)

    check = await verify(second.db)
    assert check.ok and check.records > 30, check.describe()
    health = await second.health()
    assert health.ok and health.dialect == "postgresql"


async def test_the_store_is_chosen_by_JOURNEYBOT_DB_or_the_db_setting(
        postgres_url: str, embedder: CachedEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYBOT_DB", postgres_url)
    core = await Core.open(load_settings(), embedder=embedder)
    try:
        assert core.db.dialect == "postgresql" and (await core.health()).ok
    finally:
        await core.close()
    monkeypatch.delenv("JOURNEYBOT_DB")
    config = tmp_path / "journeybot.yaml"
    config.write_text(f"db: {postgres_url}\n")
    core = await Core.open(load_settings(config), embedder=embedder)
    try:
        assert core.db.dialect == "postgresql" and core.kb.indexes.snapshot_dir is None
    finally:
        await core.close()


def test_a_store_that_cannot_be_reached_or_fails_midway_is_one_line(
        postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    away = runner.invoke(app, ["audit", "verify", "--db", f"postgresql://bot:s3cret@127.0.0.1:{port}/jb"])
    assert away.exit_code == 2 and "s3cret" not in away.output
    assert away.output.startswith("journeybot: cannot open the PostgreSQL store at postgresql://bot:***@127.0.0.1")

    async def dropped(self: object) -> None:
        raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr("storage.eventlog.EventLog.verify", dropped)
    midway = runner.invoke(app, ["audit", "verify", "--db", postgres_url])
    assert midway.exit_code == 2 and midway.output.strip() == (
        "journeybot: the PostgreSQL store failed: connection was closed in the middle of operation")
