"""The live knowledge store as a contract: every store implementation must pass.

Entries are versioned, never silently overwritten; changes are searchable at
once; retirements stop answering; restarts never re-embed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder
from knowledge.entries import Draft
from knowledge.files import dump, parse_jsonl, parse_yaml
from knowledge.importer import import_drafts
from storage import database_for
from storage.database import Database
from storage.eventlog import EventLog

AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite-memory", "sqlite-file", "postgresql"])
async def kb(request: pytest.FixtureRequest, embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[KnowledgeBase]:
    if request.param == "postgresql":
        path = request.getfixturevalue("postgres_url")
    else:
        path = ":memory:" if request.param == "sqlite-memory" else str(tmp_path / "kb.db")
    db = database_for(path)
    await db.open()
    store = KnowledgeBase(db, embedder)
    await store.open()
    yield store
    await db.close()


async def top(kb: KnowledgeBase, text: str, space: str = "default") -> tuple[str | None, float]:
    vector = (await kb.embedder.embed([text]))[0]
    hits = await kb.search(space, vector)
    return (hits[0].entry.id, hits[0].score) if hits else (None, 0.0)


async def test_a_new_entry_is_searchable_at_once(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("How do I rotate my API key?",), "Settings → API → Rotate."),
                            author="alice", origin="staff", at=AT, case="m1")
    assert entry.id == "k1" and entry.version == 1 and entry.author == "alice"
    found, score = await top(kb, "how to rotate my api key")
    assert found == "k1" and score > 0.8


async def test_versions_are_kept_and_the_index_follows(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("How do I export data?",), "Use Export."), author="a", origin="import", at=AT)
    revised = await kb.revise(entry, author="b", origin="staff", at=AT, answer="Use Settings → Data.",
                              questions=["How do I download a backup?"])
    assert revised.version == 2
    history = await kb.store.history(entry.id)
    assert [h["answer"] for h in history] == ["Use Export.", "Use Settings → Data."]
    assert (await top(kb, "download a backup of my data"))[0] == entry.id
    _, old_score = await top(kb, "How do I export data?")
    assert old_score < 0.99, "the old question form no longer matches exactly"


async def test_a_retired_entry_stops_answering(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("Is there a dark mode?",), "Yes."), author="a", origin="import", at=AT)
    await kb.retire(entry, by="op", at=AT)
    assert (await top(kb, "Is there a dark mode?"))[0] is None
    assert (await kb.get(entry.id)).status == "retired"  # type: ignore[union-attr]


async def test_a_pending_entry_answers_no_one(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("How do I get my data deleted?",), "Email privacy@…", status="pending"),
                            author="a", origin="staff", at=AT, private=True)
    assert (await top(kb, "How do I get my data deleted?"))[0] is None
    approved = await kb.approve(entry, by="lead", at=AT)
    assert approved.status == "live"
    assert (await top(kb, "How do I get my data deleted?"))[0] == entry.id


async def test_a_rolled_back_change_leaves_the_index_as_it_was(kb: KnowledgeBase) -> None:
    async def crash_mid_event() -> None:
        async with kb.db.transaction():
            await kb.create(Draft(("Can I print a notebook?",), "Yes."), author="a", origin="staff", at=AT)
            raise RuntimeError("crash mid-event")

    with pytest.raises(RuntimeError):
        await crash_mid_event()
    assert (await top(kb, "Can I print a notebook?"))[0] is None
    assert await kb.store.entries() == []


async def test_spaces_do_not_see_each_other(kb: KnowledgeBase) -> None:
    await kb.create(Draft(("What is the office wifi password?",), "Ask IT.", space="guild-a"),
                    author="a", origin="import", at=AT)
    assert (await top(kb, "wifi password", space="guild-b"))[0] is None
    assert (await top(kb, "wifi password", space="guild-a"))[0] is not None


async def test_restart_loads_vectors_without_embedding(embedder: CachedEmbedder, store_url: str) -> None:
    path = store_url
    async with database_for(path) as db:
        kb = KnowledgeBase(db, embedder)
        await kb.open()
        await kb.create(Draft(("How do I reset my password?",), "Forgot password link."),
                        author="a", origin="import", at=AT)

    class NoEmbedding(CachedEmbedder):
        def encode(self, texts):  # type: ignore[no-untyped-def]
            raise AssertionError("start-up must not re-embed")

    async with database_for(path) as db:
        kb = KnowledgeBase(db, NoEmbedding(embedder.inner))
        await kb.open()
        vector = embedder.encode(["reset my password"])[0]
        hits = await kb.search("default", vector)
        assert hits[0].entry.title == "How do I reset my password?"


async def test_an_hnsw_index_takes_changes_in_place(embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with Database(str(tmp_path / "h.db")) as db:
        kb = KnowledgeBase(db, embedder, hnsw_min=1, snapshot_dir=tmp_path / "idx")
        await kb.open()
        first = await kb.create(Draft(("How do I change my email?",), "Profile → Email."),
                                author="a", origin="import", at=AT)
        assert kb.index_of("default").kind == "exact"  # chosen at start: the store was empty
        await kb.close()
        kb2 = KnowledgeBase(db, embedder, hnsw_min=1, snapshot_dir=tmp_path / "idx")
        await kb2.open()
        assert kb2.index_of("default").kind == "hnsw"
        second = await kb2.create(Draft(("How do I leave a workspace?",), "Members → Leave."),
                                  author="a", origin="import", at=AT)
        await kb2.retire(first, by="op", at=AT)
        assert (await top(kb2, "leave the workspace"))[0] == second.id
        assert (await top(kb2, "How do I change my email?"))[0] != first.id
        await kb2.close()
        assert (tmp_path / "idx" / "default.faiss").exists()
        kb3 = KnowledgeBase(db, embedder, hnsw_min=1, snapshot_dir=tmp_path / "idx")
        await kb3.open()
        assert (await top(kb3, "leave the workspace"))[0] == second.id


# -- files ----------------------------------------------------------------------------

YAML = """
- id: api-key-rotate
  questions: ["How do I rotate my API key?", "regenerate api token"]
  answer: "Settings → API → Rotate. The old key keeps working for 24 hours."
  tags: [api]
  review_after: 2027-03-01
- questions: "single question as text"
  answer: 42
- id: broken-no-answer
  questions: ["what?"]
- "not a mapping"
- id: bad-date
  questions: [q]
  answer: a
  review_after: someday
"""


def test_yaml_keeps_good_entries_and_names_broken_ones() -> None:
    parsed = parse_yaml(YAML, source="kb.yaml")
    assert [d.id for d in parsed.drafts] == ["api-key-rotate", None]
    assert parsed.drafts[0].review_after == date(2027, 3, 1) and parsed.drafts[0].tags == ("api",)
    assert parsed.drafts[1].questions == ("single question as text",) and parsed.drafts[1].answer == "42"
    reasons = [str(p) for p in parsed.problems]
    assert any("item 3" in r and "answer" in r for r in reasons)
    assert any("item 4" in r and "mapping" in r for r in reasons)
    assert any("item 5" in r and "review_after" in r for r in reasons)


def test_jsonl_reports_the_broken_line_and_reads_the_rest() -> None:
    text = '{"questions": ["a?"], "answer": "A"}\n{not json\n\n{"questions": ["b?"], "answer": "B", "id": "b"}\n'
    parsed = parse_jsonl(text, source="kb.jsonl")
    assert [d.answer for d in parsed.drafts] == ["A", "B"]
    assert [str(p) for p in parsed.problems] == ["kb.jsonl line 2: not valid JSON (Expecting property name enclosed in double quotes)"]


async def test_export_then_import_changes_nothing(kb: KnowledgeBase) -> None:
    parsed = parse_yaml(YAML)
    first = await import_drafts(kb, parsed.drafts, author="op", at=AT)
    assert len(first.created) == 2
    exported = dump(await kb.store.entries(), "jsonl")
    again = await import_drafts(kb, parse_jsonl(exported).drafts, author="op", at=AT)
    assert again.created == [] and again.versioned == [] and len(again.unchanged) == 2
    yaml_again = await import_drafts(kb, parse_yaml(dump(await kb.store.entries(), "yaml")).drafts,
                                     author="op", at=AT)
    assert len(yaml_again.unchanged) == 2


async def test_a_file_without_ids_imported_again_changes_nothing(kb: KnowledgeBase) -> None:
    no_ids = """\
- questions: ["How do I change my avatar?", "new profile picture"]
  answer: "Profile → Avatar → Upload."
- questions: ["Can I pay by invoice?"]
  answer: "Yes, on annual plans."
"""
    first = await import_drafts(kb, parse_yaml(no_ids).drafts, author="op", at=AT)
    assert len(first.created) == 2
    again = await import_drafts(kb, parse_yaml(no_ids).drafts, author="op", at=AT)
    assert again.created == [] and sorted(again.unchanged) == sorted(first.created)
    changed = await import_drafts(kb, parse_yaml(no_ids.replace("annual plans", "every plan")).drafts,
                                  author="op", at=AT)
    assert len(changed.created) == 1, "without an id, a new answer is a new entry (give entries ids)"
    assert len(changed.conflicts) == 1, "beside the old one, flagged for staff to settle"


@pytest.mark.parametrize(("edit", "now"), [
    ("  review_after: 2026-01-01\n", lambda e: e.review_after == date(2026, 1, 1)),
    ("  tags: [billing]\n", lambda e: e.tags == ("billing",)),
    ("  url: https://docs.example/billing\n", lambda e: e.url == "https://docs.example/billing"),
    ("  status: retired\n", lambda e: e.status == "retired"),
])
async def test_an_entry_without_an_id_edited_in_the_file_gets_a_new_version(
        kb: KnowledgeBase, edit: str, now: Any) -> None:
    no_id = '- questions: ["Can I pay by invoice?"]\n  answer: "Yes, on annual plans."\n'
    (made,) = (await import_drafts(kb, parse_yaml(no_id).drafts, author="op", at=AT)).created
    again = await import_drafts(kb, parse_yaml(no_id + edit).drafts, author="op", at=AT)
    entry = await kb.store.get(made)
    assert again.versioned == [made] and entry is not None and now(entry), edit


async def test_reimporting_a_changed_entry_makes_a_version(kb: KnowledgeBase) -> None:
    await import_drafts(kb, parse_yaml(YAML).drafts, author="op", at=AT)
    changed = YAML.replace("keeps working for 24 hours", "stops working at once")
    report = await import_drafts(kb, parse_yaml(changed).drafts, author="op", at=AT)
    assert report.versioned == ["api-key-rotate"]
    entry = await kb.get("api-key-rotate")
    assert entry is not None and entry.version == 2 and "at once" in entry.answer


async def test_conflicting_entries_are_flagged(kb: KnowledgeBase) -> None:
    drafts = parse_yaml("""
- id: a
  questions: ["How long do refunds take?"]
  answer: "Refunds arrive within 5 business days."
- id: b
  questions: ["How long does a refund take?"]
  answer: "We do not offer refunds on monthly plans under any circumstances whatsoever."
""").drafts
    report = await import_drafts(kb, drafts, author="op", at=AT)
    assert report.conflicts == [("a", "b")]
    assert await kb.store.open_conflicts("default") == [("a", "b")]


def test_vectors_are_normalised(embedder: CachedEmbedder) -> None:
    vectors = embedder.encode(["hello", "a much longer sentence about API keys"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


async def test_retiring_twice_changes_nothing(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("Is there a dark mode?",), "Yes."), author="a", origin="import", at=AT)
    once = await kb.retire(entry, by="op", at=AT)
    twice = await kb.retire(once, by="op", at=AT)
    assert twice.version == once.version == 2
    assert len(await kb.store.history(entry.id)) == 2


async def test_knowledge_imported_by_another_process_is_searchable_without_a_restart(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    """`journeybot kb import` while the bot runs: the running bot follows the change feed."""
    path = str(tmp_path / "shared.db")
    async with Database(path) as bot_db, Database(path) as cli_db:
        running = KnowledgeBase(bot_db, embedder)
        await running.open()
        version = await bot_db.data_version()
        cli = KnowledgeBase(cli_db, embedder)
        await cli.open()
        entry = await cli.create(Draft(("How do I archive a workspace?",), "Settings → Archive."),
                                 author="op", origin="import", at=AT)
        assert (await top(running, "archive my workspace"))[0] is None, "not seen yet"
        assert await bot_db.data_version() != version, "the other process's commit is noticed"
        await running.catch_up()
        assert (await top(running, "archive my workspace"))[0] == entry.id
        await cli.retire(entry, by="op", at=AT)
        await running.catch_up()
        assert (await top(running, "archive my workspace"))[0] is None
        await running.catch_up()  # nothing new: nothing changes
        assert running.size() == 0


async def test_a_search_prefetched_before_a_change_is_not_used_after_it(kb: KnowledgeBase) -> None:
    question = "How do I archive a workspace?"
    kb.prefetch("default", question)
    vector = (await kb.embedder.embed([question]))[0]  # waits for the prefetch
    entry = await kb.create(Draft((question,), "Settings → Archive."), author="op", origin="import", at=AT)
    hits = await kb.search("default", vector, text=question)
    assert hits and hits[0].entry.id == entry.id, "the index changed: searched again"

    kb.prefetch("default", "archive workspace please")
    vector = (await kb.embedder.embed(["archive workspace please"]))[0]
    hits = await kb.search("default", vector, text="archive workspace please")
    assert hits[0].entry.id == entry.id


async def test_a_new_version_settles_the_conflicts_of_its_entry(kb: KnowledgeBase) -> None:
    drafts = parse_yaml("""
- id: a
  questions: ["How long do refunds take?"]
  answer: "Refunds arrive within 5 business days."
- id: b
  questions: ["How long does a refund take?"]
  answer: "We do not offer refunds on monthly plans under any circumstances whatsoever."
""").drafts
    await import_drafts(kb, drafts, author="op", at=AT)
    assert await kb.store.conflict_partners("default") == {"a": frozenset({"b"}), "b": frozenset({"a"})}
    entry = await kb.get("b")
    assert entry is not None
    await kb.revise(entry, author="lead", origin="staff", at=AT, answer="Refunds arrive within 5 business days.")
    assert await kb.store.open_conflicts("default") == []
    assert await kb.store.conflict_partners("default") == {}
    settled = [r async for r in EventLog(kb.db).records(kinds=("conflict",))]
    assert [r.body["status"] for r in settled] == ["open", "settled"]


async def test_pending_entries_stay_out_of_the_index_after_a_restart(embedder: CachedEmbedder,
                                                                     store_url: str) -> None:
    """Hundreds of imported threads wait for review: after a restart they must
    not crowd the live answer out of the nearest forms."""
    path = store_url
    async with database_for(path) as db:
        kb = KnowledgeBase(db, embedder)
        await kb.open()
        live = await kb.create(Draft(("How do I reset my password?",), "Use the Forgot password link."),
                               author="a", origin="import", at=AT)
        for n in range(8):
            await kb.create(Draft((f"How do I reset my password? ({n})",), f"Pending answer {n}.",
                                  status="pending", id=f"t{n}"), author="import", origin="thread", at=AT)
    async with database_for(path) as db:
        kb = KnowledgeBase(db, embedder)
        await kb.open()
        assert kb.size("default") == 1
        assert (await top(kb, "reset my password"))[0] == live.id
        approved = await kb.approve((await kb.get("t3")), by="lead", at=AT)  # type: ignore[arg-type]
        assert approved.status == "live" and kb.size("default") == 2


async def test_editing_a_pending_entry_keeps_its_forms_out_of_the_index(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("How do I export my data?",), "Export.", status="pending", id="p1"),
                            author="import", origin="thread", at=AT)
    edited = await kb.revise(entry, author="lead", origin="thread", at=AT, answer="Settings → Data → Export.",
                             questions=["How do I export my data?", "download a backup"])
    assert edited.status == "pending" and kb.size("default") == 0
    assert [text for _, text in await kb.store.live_forms("p1")] == ["How do I export my data?",
                                                                       "download a backup"]
    await kb.approve(edited, by="lead", at=AT)
    assert kb.size("default") == 2
    assert (await top(kb, "download a backup of my data"))[0] == "p1"


async def test_provenance_is_kept_exported_and_read_back(kb: KnowledgeBase) -> None:
    where = {"platform": "slack", "channel": "help", "date": "2024-05-02",
             "link": "https://acme.slack.com/archives/C0HELP/p1714640000000100"}
    entry = await kb.create(Draft(("Why is my upload stuck?",), "Clear the cache, then retry.", id="s1",
                                  provenance=where), author="import", origin="thread", at=AT)
    assert (await kb.get("s1")).provenance == where  # type: ignore[union-attr]
    kb.store.forget_cached()
    assert (await kb.get("s1")).provenance == where  # type: ignore[union-attr]
    revised = await kb.revise(entry, author="lead", origin="thread", at=AT, answer="Clear the cache.")
    assert revised.provenance == where
    text = dump(await kb.store.entries(), "yaml")
    assert "platform: slack" in text
    again = await import_drafts(kb, parse_yaml(text).drafts, author="op", at=AT)
    assert again.unchanged == ["s1"] and parse_yaml(text).drafts[0].provenance == where


async def test_rejecting_a_pending_entry_never_touches_the_index(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("How do I export my data?",), "Export.", status="pending", id="p2"),
                            author="import", origin="thread", at=AT)

    async def reject_then_fail() -> None:
        async with kb.db.transaction():
            await kb.retire(entry, by="lead", at=AT)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await reject_then_fail()
    assert kb.size("default") == 0, "a rolled-back rejection must not put pending forms in the index"
    retired = await kb.retire(entry, by="lead", at=AT)
    assert retired.status == "retired" and await kb.store.live_forms("p2") == []


async def centroid_of(kb: KnowledgeBase, entry_id: str, text: str) -> float | None:
    vector = (await kb.embedder.embed([text]))[0]
    return next((h.centroid for h in await kb.search("default", vector) if h.entry.id == entry_id), None)


async def test_a_hit_knows_how_near_the_question_is_to_its_entry_as_a_whole(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("How do I rotate my API key?",), "Settings → API → Rotate."),
                            author="a", origin="import", at=AT)
    question = "I need a new password for my account"
    only = await centroid_of(kb, entry.id, question)
    vectors = await kb.embedder.embed(["How do I rotate my API key?", question])
    assert only == pytest.approx(float(vectors[0] @ vectors[1]), abs=1e-5)  # one form: the centroid is it
    entry = await kb.add_question(entry, "How do I change my password?", author="b", at=AT)
    widened = await centroid_of(kb, entry.id, question)
    assert widened is not None and widened > only + 0.05  # the new form moved the centroid towards it

    async def crash_mid_event() -> None:
        async with kb.db.transaction():
            await kb.revise(entry, author="c", origin="staff", at=AT, questions=["How do I rotate my API key?"])
            raise RuntimeError("crash mid-event")

    with pytest.raises(RuntimeError):
        await crash_mid_event()
    assert await centroid_of(kb, entry.id, question) == pytest.approx(widened, abs=1e-5)  # undone with the forms
    await kb.revise(entry, author="c", origin="staff", at=AT, questions=["How do I rotate my API key?"])
    assert await centroid_of(kb, entry.id, question) == pytest.approx(only, abs=1e-5)


async def test_only_the_form_an_askers_case_taught_is_withdrawn(kb: KnowledgeBase) -> None:
    entry = await kb.create(Draft(("How do I export data?",), "Use Export."), author=None, origin="import", at=AT)
    before = await kb.add_question(entry, "How do I export data?", author=None, at=AT, case="c0")
    assert before is entry  # already a form: the pick on c0 taught nothing
    entry = await kb.add_question(entry, "get my notes out", author=None, at=AT, case="c1")  # c1's pick
    entry = await kb.add_question(entry, "backup download", author=None, at=AT, case="c2")  # c2's pick
    entry = await kb.add_question(entry, "save everything as files", author="alice", at=AT, case="c1")
    assert await kb.withdraw_question(entry, case="c0", at=AT) == (entry, [])

    withdrawn, gone = await kb.withdraw_question(entry, case="c1", at=AT)
    assert gone == ["get my notes out"] and withdrawn.version == entry.version == 1
    assert withdrawn.questions == ("How do I export data?", "backup download", "save everything as files")
    assert (await kb.get(entry.id)) == withdrawn
    assert [t for _, t in await kb.store.live_forms(entry.id)] == list(withdrawn.questions)
    assert (await top(kb, "get my notes out"))[1] < 0.99  # no longer searchable by it
    assert (await top(kb, "backup download"))[1] > 0.99  # another case's form stays
    assert await kb.withdraw_question(withdrawn, case="c1", at=AT) == (withdrawn, [])  # twice: nothing more

    async def crash_mid_event() -> None:
        async with kb.db.transaction():
            await kb.withdraw_question(withdrawn, case="c2", at=AT)
            raise RuntimeError("crash mid-event")

    with pytest.raises(RuntimeError):
        await crash_mid_event()
    assert (await kb.get(entry.id)) == withdrawn and (await top(kb, "backup download"))[1] > 0.99
