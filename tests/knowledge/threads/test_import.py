"""Past threads into the store: pending, all or nothing, and re-imports that
change nothing staff decided."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder
from knowledge.threads.importer import import_threads, read_export
from knowledge.threads.source import ExportError
from storage.database import Database
from tests.knowledge.threads.conftest import DISCORD, DISCORD_STAFF, SLACK, SLACK_STAFF, redacted

AT = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def kb(embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[KnowledgeBase]:
    async with Database(str(tmp_path / "kb.db")) as db:
        store = KnowledgeBase(db, embedder)
        await store.open()
        yield store


async def slack_import(kb: KnowledgeBase, path: Path = SLACK):  # type: ignore[no-untyped-def]
    reading = read_export(path, staff=SLACK_STAFF, redact=redacted)
    return await import_threads(kb, reading.drafts, author="import", at=AT)


async def test_imported_threads_are_pending_and_answer_no_one(kb: KnowledgeBase) -> None:
    report = await slack_import(kb)
    assert len(report.created) == 4
    entries = await kb.store.entries(status="pending")
    assert {e.origin for e in entries} == {"thread"} and len(entries) == 4
    assert kb.size("default") == 0
    vector = (await kb.embedder.embed(["how can I export boards as csv"]))[0]
    assert await kb.search("default", vector) == []


async def test_reimporting_the_same_export_changes_nothing(kb: KnowledgeBase) -> None:
    await slack_import(kb)
    before = await kb.db.fetchone("SELECT count(*) AS n FROM entry_versions")
    again = await slack_import(kb)
    assert again.created == [] and again.versioned == [] and len(again.unchanged) == 4
    after = await kb.db.fetchone("SELECT count(*) AS n FROM entry_versions")
    assert before["n"] == after["n"]  # type: ignore[index]


async def test_a_reviewed_entry_is_never_touched_by_a_later_import(kb: KnowledgeBase) -> None:
    await slack_import(kb)
    approved = await kb.approve((await kb.get("slack-C0HELP0001-1714640400000100")), by="dana", at=AT)  # type: ignore[arg-type]
    edited = await kb.revise((await kb.get("slack-C0GENERAL1-1714644000000100")), author="dana",  # type: ignore[arg-type]
                             origin="thread", at=AT, answer="Members → Invite → Guest.")
    rejected = await kb.retire((await kb.get("slack-C0HELP0001-1714665600000100")), by="dana", at=AT)  # type: ignore[arg-type]
    again = await slack_import(kb)
    assert again.created == [] and again.versioned == []
    for entry in (approved, edited, rejected):
        assert await kb.get(entry.id) == entry


async def test_a_thread_that_grew_updates_its_pending_entry(kb: KnowledgeBase, slack_copy: Path) -> None:
    await slack_import(kb)
    day = slack_copy / "general" / "2024-05-02.json"
    messages = json.loads(day.read_text(encoding="utf-8"))
    messages.append({"type": "message", "user": "U0STAFF002", "ts": "1714644600.000100",
                     "thread_ts": "1714644000.000100", "parent_user_id": "U0MEMBER02",
                     "text": "Guests can also be limited to a single board from the board's Share menu."})
    day.write_text(json.dumps(messages), encoding="utf-8")
    again = await slack_import(kb, slack_copy)
    assert again.versioned == ["slack-C0GENERAL1-1714644000000100"] and len(again.unchanged) == 3
    grown = await kb.get("slack-C0GENERAL1-1714644000000100")
    assert grown.version == 2 and grown.status == "pending"  # type: ignore[union-attr]
    assert grown.answer.endswith("from the board's Share menu.")  # type: ignore[union-attr]


def _break_a_timestamp(folder: Path) -> None:
    path = next(folder.glob("*Upload stuck*.json"))
    path.write_text(path.read_text(encoding="utf-8").replace('"timestamp": "2024-05-02T13:10:00.000+00:00"',
                                                             '"timestamp": "yesterday"'), encoding="utf-8")


async def test_a_malformed_file_imports_nothing_at_all(kb: KnowledgeBase, discord_copy: Path) -> None:
    _break_a_timestamp(discord_copy)
    with pytest.raises(ExportError, match=r"Upload stuck at 99% \[1400000000000000001\]\.json line \d+, "
                                          r"messages\[1\]\.timestamp: must be an ISO date and time"):
        read_export(discord_copy, staff=DISCORD_STAFF, redact=redacted)
    assert await kb.store.entries(status=None) == []


async def test_a_failure_while_writing_rolls_the_whole_import_back(kb: KnowledgeBase,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    reading = read_export(DISCORD, staff=DISCORD_STAFF, redact=redacted)
    real_create, calls = kb.create, []

    async def failing_third(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return await real_create(*args, **kwargs)

    monkeypatch.setattr(kb, "create", failing_third)
    with pytest.raises(OSError, match="disk full"):
        await import_threads(kb, reading.drafts, author="import", at=AT)
    assert await kb.store.entries(status=None) == []
    log = await kb.db.fetchone("SELECT count(*) AS n FROM log WHERE kind = 'knowledge'")
    assert log["n"] == 0  # type: ignore[index]
