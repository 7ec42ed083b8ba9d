"""The learning loop's rows on each store: model versions and the atomic swap of
their vectors, calibrators, observed outcomes, lessons and each entry's record."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from storage.knowledge import EntryRows
from storage.models import LearningRows, ModelRecord
from storage.sql import Sql
from tests.storage.conftest import AT, Failed, at, failing
from tests.storage.test_entries import entry


async def two_entries(db: Sql) -> list[int]:
    rows = EntryRows(db)
    async with db.transaction():
        await rows.save(entry("k1"), answer_key="a", snapshot=False)
        await rows.save(entry("k2", origin="staff"), answer_key="b", snapshot=False)
        ids = await rows.add_forms("k1", "s", ["How do I export?"], np.array([[1, 0]], np.float32),
                                   author=None, case=None, at=AT)
        ids += await rows.add_forms("k2", "s", ["Where is my bill?"], np.array([[0, 1]], np.float32),
                                    author="sam", case="c1", at=at(1))
    return ids


async def test_a_promoted_model_swaps_every_vector_in_one_transaction(db: Sql) -> None:
    ids = await two_entries(db)
    rows = LearningRows(db)
    assert await rows.current_model() == 0 and await rows.next_version() == 1
    await rows.record_model(ModelRecord(1, 0, "staged", at(2).isoformat(), {"held_out": {"right": 44}}))
    await rows.stage_vectors(1, ids, np.array([[0.6, 0.8], [0.8, 0.6]], np.float32))
    assert await rows.staged_ids(1) == set(ids)

    async def swap() -> None:
        await rows.swap_in(1)
        await rows.set_status(1, "promoted")

    with pytest.raises(Failed):
        await failing(db, swap)  # a crash mid-swap: nothing half-swapped
    assert await rows.current_model() == 0
    assert (await rows.form_vectors())[1].tolist() == [[1.0, 0.0], [0.0, 1.0]]
    async with db.transaction():
        await swap()
    assert await rows.current_model() == 1 and await rows.staged_ids(1) == set()
    assert np.allclose((await rows.form_vectors())[1], [[0.6, 0.8], [0.8, 0.6]])
    [model] = await rows.models()
    assert (model.version, model.status, model.body) == (1, "promoted", {"held_out": {"right": 44}})
    assert await rows.next_version() == 2 and await rows.model(2) is None


async def test_staged_vectors_of_a_swap_that_never_happened_are_dropped(db: Sql) -> None:
    ids = await two_entries(db)
    rows = LearningRows(db)
    await rows.stage_vectors(3, ids[:1], np.array([[0.0, 1.0]], np.float32))
    await rows.stage_vectors(4, ids, np.array([[0.0, 1.0], [1.0, 0.0]], np.float32))
    assert await rows.drop_staged(keep=4) == 1
    assert await rows.staged_ids(3) == set() and await rows.staged_ids(4) == set(ids)


async def test_what_was_taught_is_read_back_with_where_it_came_from(db: Sql) -> None:
    await two_entries(db)
    rows = LearningRows(db)
    await rows.add_lesson(space="s", entry="k1", text="export please", kind="pick", at=at(3))
    pairs = [(p.text, p.entry, p.kind) for p in await rows.teaching_pairs()]
    assert pairs == [("How do I export?", "k1", "import"), ("Where is my bill?", "k2", "staff"),
                     ("export please", "k1", "pick")]
    assert [(f[1], f[3], f[4]) for f in await rows.all_forms()] == [
        ("k1", "How do I export?", "import"), ("k2", "Where is my bill?", "staff")]
    assert await rows.lessons_since(at(0).isoformat()) == 2  # the staff form and the pick
    assert await rows.lessons_since(at(2).isoformat()) == 1
    await rows.set_last_adaptation(at(3).isoformat())
    assert await rows.last_adaptation() == at(3).isoformat()


async def test_a_cases_lessons_are_withdrawn_and_kept_out_of_the_pairs(db: Sql) -> None:
    await two_entries(db)
    rows = LearningRows(db)
    await rows.add_lesson(space="s", entry="k1", text="export please", kind="pick", at=at(3), case="c1")
    await rows.add_lesson(space="s", entry="k1", text="export please", kind="solved", at=at(4), case="c1")
    await rows.add_lesson(space="s", entry="k1", text="export please", kind="pick", at=at(4), case="c2")
    await rows.add_lesson(space="s", entry="k2", text="my bill", kind="pick", at=at(4), case="c1")
    assert await rows.withdraw_lessons(space="s", case="c1", entry="k1", at=at(5)) == ["pick", "solved"]
    assert await rows.withdraw_lessons(space="s", case="c1", entry="k1", at=at(6)) == []  # once
    assert await rows.withdraw_lessons(space="t", case="c2", entry="k1", at=at(6)) == []  # another space
    lessons = [(p.text, p.entry, p.kind) for p in await rows.teaching_pairs() if p.kind != "import"]
    assert lessons == [("Where is my bill?", "k2", "staff"), ("export please", "k1", "pick"),
                       ("my bill", "k2", "pick")]  # c2's pick, and c1's lesson about another entry
    assert await rows.lessons_since(at(3).isoformat()) == 2
    kept = await db.fetchall("SELECT case_key, withdrawn FROM lessons ORDER BY id")
    assert [(r["case_key"], r["withdrawn"]) for r in kept] == [
        ("c1", at(5).isoformat()), ("c1", at(5).isoformat()), ("c2", None), ("c1", None)]


async def test_a_decision_is_observed_then_settled_and_counted(db: Sql) -> None:
    rows = LearningRows(db)
    candidates = [{"entry": "k1", "features": [0.7, 0.2]}, {"entry": "k2", "features": [0.5, 0.0]}]
    await rows.observe(space="s", case="c1", model=1, at=AT, candidates=candidates, decision="clarify")
    await rows.observe(space="s", case="c2", model=1, at=AT, candidates=candidates, decision="answer")
    assert await rows.outcomes("s", 1) == []  # nothing known yet
    await rows.settle(space="s", case="c1", right="k2")
    await rows.settle(space="s", case="c2", wrong="k1")
    assert sorted(await rows.outcomes("s", 1), key=str) == sorted(
        [(candidates, "k2", None), (candidates, None, "k1")], key=str)
    await rows.observe(space="s", case="c3", model=1, at=AT, candidates=candidates, decision="answer")
    await rows.observe(space="s", case="c3", model=2, at=at(1), candidates=candidates, decision="route")
    assert await rows.outcomes("s", 2) == [], "a decision nothing is known of yet is replaced"
    for again in (2, 3):  # the bot decides again on a case whose first decisions were shown wrong
        await rows.observe(space="s", case="c2", model=2, at=at(again), candidates=candidates, decision="answer")
        await rows.settle(space="s", case="c2", wrong="k1")
    await rows.observe(space="s", case="c2", model=2, at=at(4), candidates=candidates, decision="answer")
    assert len(await rows.outcomes("s", 1)) == 2 and len(await rows.outcomes("s", 2)) == 2, "each outcome kept"
    assert await rows.shown_wrong("s", "c2") is None, "the decision now is a new one"
    await rows.save_calibrator("s", 1, {"weights": [0.5, -1.0]}, AT)
    await rows.save_calibrator("s", 1, {"weights": [0.25]}, at(1))
    assert await rows.calibrator("s", 1) == {"weights": [0.25]} and await rows.calibrator("s", 2) is None


async def test_each_entry_keeps_its_record_of_answers(db: Sql) -> None:
    rows = LearningRows(db)
    for failed in (False, False, True):
        await rows.count_answer("s", "k1", "a", failed=failed)
    await rows.count_answer("t", "k9", "z")
    assert await rows.records(["k1", "k2"]) == {"k1": (2, 1)}
    assert await rows.all_records() == [("k1", "s", 2, 1), ("k9", "t", 1, 0)]
    assert await rows.measured() == (3, 1) and await rows.measured("t") == (1, 0)
    assert await rows.records([]) == {}


async def test_an_entrys_current_answer_keeps_a_record_of_its_own(db: Sql) -> None:
    await two_entries(db)  # k1 answers "a", k2 "b"
    rows = LearningRows(db)
    for failed in (False, True, True):
        await rows.count_answer("s", "k1", failed=failed)  # the answer it gives now
    assert await rows.records_now(["k1"]) == {"k1": (1, 2)}
    await EntryRows(db).save(entry("k1", version=2, answer="Use Export > CSV."), answer_key="c", snapshot=False)
    assert await rows.records_now(["k1"]) == {}, "a new answer starts afresh"
    await rows.count_answer("s", "k1")
    await rows.count_answer("s", "k1", "a", failed=True)  # an outcome of the old answer, come in late
    assert await rows.records_now(["k1", "k2"]) == {"k1": (1, 0)}
    assert await rows.records(["k1"]) == {"k1": (2, 3)}, "the lifetime counts every answer and failure"
    await EntryRows(db).save(entry("k1", version=3, answer="Use Export > CSV.", tags=["csv"]), answer_key="c",
                             snapshot=False)
    await rows.count_answer("s", "k1", failed=True)
    assert await rows.records_now(["k1"]) == {"k1": (1, 1)}, "a new version with the same answer keeps its record"
    await rows.count_answer("s", "k2", failed=True)
    await EntryRows(db).save(entry("k2", version=2, origin="staff"), answer_key="d", snapshot=False)
    assert await rows.current_records() == [("k1", "s", 1, 1)], "k2's record is of an answer it no longer gives"
    await rows.afresh("k1")  # staff vouched for its answer as it is
    assert await rows.records_now(["k1"]) == {"k1": (0, 0)} and await rows.records(["k1"]) == {"k1": (2, 4)}
    await rows.count_answer("s", "k1", failed=True)
    await EntryRows(db).save(entry("k1", version=4, answer="Use Export > CSV.", status="retired"), answer_key="c",
                             snapshot=False)
    assert await rows.current_records() == [], "a retired entry is not held back: it answers no one anyway"


async def test_an_answer_shown_wrong_after_it_was_confirmed_is_no_longer_a_right_one(db: Sql) -> None:
    rows = LearningRows(db)
    candidates = [{"entry": "k1", "features": [1.0, 0.8]}]
    await rows.observe(space="s", case="c1", model=0, at=AT, candidates=candidates, decision="answer")
    await rows.settle(space="s", case="c1", right="k1")
    assert await rows.shown_wrong("s", "c1") is None
    await rows.settle(space="s", case="c1", wrong="k1")
    assert await rows.outcomes("s", 0) == [(candidates, None, "k1")]
    assert await rows.shown_wrong("s", "c1") == "k1" and await rows.shown_wrong("s", "c2") is None


async def test_a_failed_transaction_leaves_no_learning_rows(db: Sql) -> None:
    await two_entries(db)
    rows = LearningRows(db)

    async def work() -> None:
        await rows.record_model(ModelRecord(1, 0, "staged", AT.isoformat(), {}))
        await rows.stage_vectors(1, [1], np.zeros((1, 2), np.float32))
        await rows.save_calibrator("s", 1, {}, AT)
        await rows.observe(space="s", case="c1", model=1, at=AT, candidates=[], decision="route")
        await rows.add_lesson(space="s", entry="k1", text="x", kind="solved", at=AT)
        await rows.count_answer("s", "k1", "a")

    with pytest.raises(Failed):
        await failing(db, work)
    assert (await rows.models(), await rows.staged_ids(1), await rows.calibrator("s", 1),
            await rows.outcomes("s", 1), await rows.records(["k1"]), await rows.lessons_since("")) == (
        [], set(), None, [], {}, 1)  # the staff form only: the lesson went with the transaction


OLD_ENTRY = ("INSERT INTO entries (id, space, version, status, questions, answer, answer_key, tags, origin, "
             "created_at, updated_at) VALUES ('k1', 's', 3, 'live', '[]', 'a', 'a', '[]', 'import', 'x', 'x')")
OLD_RECORDS = "INSERT INTO entry_record VALUES ('k1', 's', 5, 3), ('gone', 's', 2, 0)"


def sqlite_store_before_11(path: Path) -> str:
    import sqlite3

    from storage.migrations import MIGRATIONS

    with sqlite3.connect(path) as old:
        old.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, script in enumerate(MIGRATIONS[:10], start=1):
            old.executescript(script)
            old.execute("INSERT INTO schema_version VALUES (?)", (version,))
        old.execute(OLD_ENTRY)
        old.execute(OLD_RECORDS)
    return str(path)


async def postgres_store_before_11(url: str) -> str:
    import asyncpg

    from storage.postgres.migrations import MIGRATIONS

    old = await asyncpg.connect(url)
    try:
        await old.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, script in enumerate(MIGRATIONS[:10], start=1):
            await old.execute(script)
            await old.execute("INSERT INTO schema_version VALUES ($1)", version)
        await old.execute(OLD_ENTRY)
        await old.execute(OLD_RECORDS)
    finally:
        await old.close()
    return url


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_records_kept_before_versions_were_counted_become_the_current_versions(
        backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """A store from before migration 11, upgraded in place: each record is taken as its entry's
    current answer's (an entry held back before stays held back until its answer changes)."""
    from storage import database_for

    if backend == "sqlite":
        url = sqlite_store_before_11(tmp_path / "old.db")
    else:
        url = await postgres_store_before_11(request.getfixturevalue("new_postgres_database"))
    async with database_for(url) as db:
        rows = LearningRows(db)
        assert await rows.records_now(["k1", "gone"]) == {"k1": (5, 3)}
        assert await rows.current_records() == [("k1", "s", 5, 3)]
        await rows.count_answer("s", "k1", failed=True)
        assert await rows.records_now(["k1"]) == {"k1": (5, 4)}
