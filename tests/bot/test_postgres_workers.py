"""Two workers on one PostgreSQL: what one learns the other answers from,
and every record of both is in one verifiable chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.audit import verify
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
