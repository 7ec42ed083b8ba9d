"""Several workers on one PostgreSQL: a knowledge change made by one reaches
every other's vector index at once (LISTEN/NOTIFY), and one whose news was
missed is caught up from the change feed after a reconnect."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder
from knowledge.entries import Draft
from storage.postgres import PostgresDatabase
from tests.storage.conftest import eventually

AT = datetime(2026, 3, 1, tzinfo=UTC)
FOLLOW_WITHIN = 1.0  # seconds; the goal is 0.1 s on a quiet machine (a loaded CI box is slower)


@pytest.fixture
async def workers(postgres_url: str, embedder: CachedEmbedder) -> AsyncIterator[tuple[KnowledgeBase, KnowledgeBase]]:
    """Two workers' knowledge bases, each with a store connection of its own."""
    first, second = PostgresDatabase(postgres_url), PostgresDatabase(postgres_url)
    await first.open()
    await second.open()
    one, two = KnowledgeBase(first, embedder), KnowledgeBase(second, embedder)
    await one.open()
    await two.open()
    try:
        yield one, two
    finally:
        for kb in (one, two):
            await kb.close()
            await kb.db.close()


async def nearest(kb: KnowledgeBase, text: str) -> str | None:
    hits = await kb.search("default", (await kb.embedder.embed([text]))[0])
    return hits[0].entry.id if hits else None


async def test_a_change_on_one_worker_reaches_the_other_s_index_at_once(
        workers: tuple[KnowledgeBase, KnowledgeBase]) -> None:
    one, two = workers
    entry = await one.create(Draft(("How do I archive a workspace?",), "Settings → Archive."),
                             author="op", origin="staff", at=AT)
    committed = time.perf_counter()
    await eventually(lambda: two.size("default") == 1)
    took = time.perf_counter() - committed
    assert took < FOLLOW_WITHIN, f"followed in {took * 1000:.0f} ms"
    assert await nearest(two, "archive my workspace") == entry.id
    await one.retire(entry, by="op", at=AT)
    await eventually(lambda: two.size("default") == 0, within=FOLLOW_WITHIN)
    assert await nearest(two, "archive my workspace") is None


async def test_a_change_whose_news_was_missed_is_caught_up_after_a_reconnect(
        workers: tuple[KnowledgeBase, KnowledgeBase], postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = workers
    monkeypatch.setattr(one.db, "note_change", lambda kind: None)  # this change's news never goes out
    entry = await one.create(Draft(("Can I export to CSV?",), "Yes: Export → CSV."),
                             author="op", origin="staff", at=AT)
    await eventually(lambda: two.db._version > 0)  # type: ignore[attr-defined]  # the plain "state" news arrived
    assert two.size("default") == 0, "knowledge news was missed: nothing followed yet"
    listener = two.db._notifications._conn  # type: ignore[attr-defined]
    killer = await asyncpg.connect(postgres_url)
    try:  # the server drops the second worker's listening connection
        await killer.execute("SELECT pg_terminate_backend($1)", listener.get_server_pid())
    finally:
        await killer.close()
    await eventually(lambda: two.size("default") == 1, within=10)
    assert await nearest(two, "export as csv") == entry.id
    assert (await two.db.health()).ok
