"""The ledger kept current from the log and kept in the store between runs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from learning import bookkeeping
from learning.bookkeeping import KEY, catch_up, restore
from learning.ledger import Ledger
from learning.scorecard import compute
from storage.meta import Meta
from tests.learning.community import community_core, play_community


@pytest.fixture
async def core(embedder: Any) -> AsyncIterator[Any]:
    core = await community_core(embedder)
    try:
        yield core
    finally:
        await core.close()


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bookkeeping, "CHUNK", 80)
    monkeypatch.setattr(bookkeeping, "BATCH", 20)


async def test_a_restart_reads_the_kept_chunks_and_folds_only_what_came_after(core: Any) -> None:
    played = await play_community(core, days=5)
    first = Ledger()
    assert await catch_up(first, core.db, keep_in=core.db) > 0
    assert first.chunks >= 2 and first.saved_head <= first.head
    await play_community(core, days=2, seed=4, chat=played.chat)

    again = await restore(core.db)
    assert again.chunks == first.chunks and again.head == first.saved_head > 0
    folded = await catch_up(again, core.db)
    assert folded == again.head - first.saved_head > 0, "only the records after the kept chunks"
    week = {"since": played.chat.now - timedelta(days=4), "until": played.chat.now}
    for shape in ({}, week, {"channel": "general"}, {"space": "acme"}):
        assert again.scorecard(**shape).as_json() == (await compute(core.db, **shape)).as_json(), shape


async def test_a_damaged_chunk_is_read_from_the_log_again_and_written_anew(core: Any) -> None:
    await play_community(core, days=4)
    kept = Ledger()
    await catch_up(kept, core.db, keep_in=core.db)
    assert kept.chunks >= 2
    await Meta(core.db).put(f"{KEY}1", "not a chunk")

    again = await restore(core.db)
    assert again.chunks == 1, "the first chunk reads; the damaged one ends the reading"
    await catch_up(again, core.db, keep_in=core.db)
    assert again.scorecard().as_json() == (await compute(core.db)).as_json()
    assert (await restore(core.db)).chunks == again.chunks, "the damaged chunk was written again"
