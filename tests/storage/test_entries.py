"""Knowledge rows on each store: entries with versions, forms with vectors,
the change feed every index follows, conflicts."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np
import pytest

from storage.knowledge import EntryRows
from storage.sql import Sql
from tests.storage.conftest import AT, Failed, at, failing


def entry(entry_id: str, *, version: int = 1, status: str = "live", answer: str = "Use Export.",
          space: str = "s", **more: Any) -> dict[str, Any]:
    return {"id": entry_id, "space": space, "version": version, "status": status, "questions": ["How?"],
            "answer": answer, "tags": ["api"], "url": None, "review_after": None, "author": "ann",
            "source_case": None, "origin": "import", "private": False, "created_at": AT.isoformat(),
            "updated_at": at(version).isoformat(), "provenance": None, "section": None, **more}


def vectors(*rows: list[float]) -> np.ndarray:
    return np.array(rows, dtype=np.float32)


async def test_an_entry_is_kept_with_every_version(db: Sql) -> None:
    rows = EntryRows(db)
    await rows.save(entry("k1"), answer_key="use export", snapshot=True)
    revised = entry("k1", version=2, answer="Settings → Data.", provenance={"platform": "slack"}, private=True)
    await rows.save(revised, answer_key="settings data", snapshot=True)
    [stored] = await rows.many(["k1", "k9"])
    assert stored == {**revised, "answer_key": "settings data"}
    assert [h["answer"] for h in await rows.history("k1")] == ["Use Export.", "Settings → Data."]
    assert (await rows.version("k1", 1) or {})["version"] == 1 and await rows.version("k1", 3) is None
    assert [e["id"] for e in await rows.with_answer_key("s", "settings data")] == ["k1"]
    assert await rows.with_answer_key("s", "use export") == []


async def test_entries_are_listed_by_space_and_status(db: Sql) -> None:
    rows = EntryRows(db)
    await rows.save(entry("k2", status="pending"), answer_key="a", snapshot=False)
    await rows.save(entry("k1"), answer_key="b", snapshot=False)
    await rows.save(entry("k3", space="t"), answer_key="c", snapshot=False)
    assert [e["id"] for e in await rows.entries(space="s", status="live")] == ["k1"]
    assert [e["id"] for e in await rows.entries(space=None, status=None)] == ["k1", "k2", "k3"]
    assert await rows.exists("k2") and not await rows.exists("k4")


async def test_entry_numbers_are_never_given_twice_even_at_once(db: Sql, other: Sql) -> None:
    numbers = await asyncio.gather(*(EntryRows(d).next_number() for d in (db, other) * 10))
    assert sorted(numbers) == list(range(1, 21))


async def test_forms_keep_their_vectors_and_only_answerable_ones_are_loaded(db: Sql) -> None:
    rows = EntryRows(db)
    async with db.transaction():
        await rows.save(entry("k1"), answer_key="a", snapshot=False)
        await rows.save(entry("k2", status="pending"), answer_key="b", snapshot=False)
        ids = await rows.add_forms("k1", "s", ["How?", "Why?"], vectors([1, 0], [0, 1]), author="ann",
                                   case=None, at=AT)
        pending = await rows.add_forms("k2", "s", ["When?"], vectors([1, 1]), author=None, case="c1", at=AT)
    assert ids[1] > ids[0]
    assert await rows.live_forms("k1") == [(ids[0], "How?"), (ids[1], "Why?")]
    assert (await rows.form_vectors([ids[1], ids[0]])).tolist() == [[0, 1], [1, 0]]
    loaded, owners, spaces, passages = await rows.load_live_forms()
    assert loaded.tolist() == ids and owners == ["k1", "k1"] and spaces == ["s", "s"] and passages == []
    space_ids, space_vectors = await rows.space_vectors("s", 2)
    assert space_ids.tolist() == ids and space_vectors.tolist() == [[1, 0], [0, 1]]
    assert [f[0] for f in await rows.answerable_forms([*ids, *pending])] == ids
    await rows.kill_forms([ids[0]], "s")
    assert await rows.live_forms("k1") == [(ids[1], "Why?")]


async def test_the_forms_a_case_taught_are_found_by_their_case(db: Sql) -> None:
    rows = EntryRows(db)
    async with db.transaction():
        await rows.save(entry("k1"), answer_key="a", snapshot=False)
        asked, = await rows.add_forms("k1", "s", ["How?"], vectors([1, 0]), author=None, case="c1", at=AT)
        staff, = await rows.add_forms("k1", "s", ["Why?"], vectors([0, 1]), author="ann", case="c1", at=AT)
        await rows.add_forms("k1", "s", ["When?"], vectors([1, 1]), author=None, case="c2", at=AT)
        await rows.add_forms("k1", "s", ["Where?"], vectors([1, 1]), author=None, case=None, at=AT)
        await rows.add_forms("k1", "s", ["How? A passage"], vectors([1, 1]), author=None, case="c1", at=AT,
                             kind="passage")
    assert await rows.case_forms("k1", "c1") == [(asked, "How?", None), (staff, "Why?", "ann")]
    await rows.kill_forms([asked], "s")
    assert await rows.case_forms("k1", "c1") == [(staff, "Why?", "ann")]  # live ones only
    assert await rows.case_forms("k2", "c1") == []


async def test_the_full_text_index_ranks_live_forms_by_bm25_in_their_space(db: Sql) -> None:
    rows = EntryRows(db)
    async with db.transaction():
        await rows.save(entry("d1", section="docs/a.md#A"), answer_key="a", snapshot=False)
        await rows.save(entry("d2"), answer_key="b", snapshot=False)
        await rows.save(entry("d3", space="t"), answer_key="c", snapshot=False)
        lock, = await rows.add_forms("d1", "s", ["E_LOCK_TIMEOUT: stop the agent"], vectors([1, 0]), author=None,
                                     case=None, at=AT, kind="passage",
                                     terms=[(4, {"e_lock_timeout": 1, "lock": 1, "timeout": 1, "agent": 1})])
        agent, = await rows.add_forms("d2", "s", ["agent agent"], vectors([0, 1]), author=None, case=None, at=AT,
                                      terms=[(2, {"agent": 2})])
        await rows.add_forms("d3", "t", ["lock"], vectors([1, 1]), author=None, case=None, at=AT,
                             terms=[(1, {"lock": 1})])
    assert await rows.index_size() == (3, 7)
    assert await rows.term_counts(["lock", "agent", "nothing"]) == {"lock": 2, "agent": 2}
    found = await rows.lexical("s", {"lock": 2.0, "agent": 0.5}, 7 / 3, 10, k1=1.2, b=0.75)
    assert [(f[0], f[1], f[2]) for f in found] == [(lock, "d1", "passage"), (agent, "d2", "question")]
    lock_score = 2.0 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 4 / (7 / 3))) + 0.5 * 2.2 / (1 + 1.2 * (0.25 + 0.75 * 4 / (7 / 3)))
    assert abs(found[0][4] - lock_score) < 1e-9
    assert (await rows.load_live_forms())[3] == [lock]
    assert [f[4] for f in await rows.answerable_forms([lock, agent])] == ["passage", "question"]
    await rows.kill_forms([lock], "s")
    assert [f[0] for f in await rows.lexical("s", {"lock": 2.0}, 2.0, 10, k1=1.2, b=0.75)] == []
    assert await rows.index_size() == (2, 3) and await rows.unindexed_forms() == []


async def test_the_change_feed_is_written_at_commit_and_not_on_rollback(db: Sql) -> None:
    rows = EntryRows(db)
    await rows.save(entry("k1"), answer_key="a", snapshot=False)
    with pytest.raises(Failed):
        await failing(db, lambda: rows.add_forms("k1", "s", ["Lost?"], vectors([1, 0]), author=None, case=None,
                                                 at=AT))
    assert await rows.changes_since(0) == [] and await rows.change_seq() == 0
    async with db.transaction():
        [form] = await rows.add_forms("k1", "s", ["How?"], vectors([1, 0]), author=None, case=None, at=AT)
        await rows.kill_forms([form], "s")
        rows.note_forms([form], "s", "add")
    assert [(c[1], c[3]) for c in await rows.changes_since(0)] == [(form, "add"), (form, "remove"), (form, "add")]
    assert [c[0] for c in await rows.changes_since(2)] == [3] and await rows.change_seq() == 3


async def test_a_replica_that_read_the_feed_up_to_n_saw_everything_committed_before(db: Sql, other: Sql) -> None:
    """Two writers at once: every feed number a reader sees is final (no smaller one commits later)."""
    await EntryRows(db).save(entry("k1"), answer_key="a", snapshot=False)
    seen: list[int] = []

    async def write(database: Sql, pause: float) -> None:
        rows = EntryRows(database)
        for n in range(10):
            async with database.transaction():
                await rows.add_forms("k1", "s", [f"q{n}"], vectors([1, 0]), author=None, case=None, at=AT)
                database.before_commit(lambda: asyncio.sleep(pause))  # slow between the feed and the commit

    async def read() -> None:
        rows, last = EntryRows(other), 0
        for _ in range(60):
            for seq, *_ in await rows.changes_since(last):
                assert seq == last + 1, "a reader never steps over a number that commits later"
                seen.append(seq)
                last = seq
            await asyncio.sleep(0.001)

    await asyncio.gather(write(db, 0.02), write(other, 0), read())
    assert await EntryRows(db).change_seq() == 20


async def test_a_conflict_is_flagged_once_and_settled(db: Sql) -> None:
    rows = EntryRows(db)
    assert await rows.flag_conflict("k1", "k2", "s", AT)
    assert not await rows.flag_conflict("k1", "k2", "s", AT)
    assert await rows.flag_conflict("k1", "k3", "s", AT) and await rows.flag_conflict("k4", "k5", "t", AT)
    assert await rows.open_conflicts("s") == [("k1", "k2"), ("k1", "k3")]
    assert await rows.settle_conflicts_of("k1", at(1)) == [("k1", "k2", "s"), ("k1", "k3", "s")]
    assert await rows.settle_pair("k4", "k5", at(2)) == "t" and await rows.settle_pair("k4", "k5", at(2)) is None
    assert await rows.open_conflicts() == []
    assert not await rows.flag_conflict("k1", "k2", "s", at(3)), "a settled pair is never flagged again"
