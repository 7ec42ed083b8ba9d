"""Exact words find their passage: an error message, a config key, a command
pasted by a member matches the docs text that quotes it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.base import KnowledgeBase
from knowledge.docs import read_docs
from knowledge.embedder import CachedEmbedder
from knowledge.importer import import_drafts
from knowledge.lexical import query_terms, stem, terms
from storage.database import Database

SITE = Path(__file__).parent / "docs" / "site" / "docs"


@pytest.fixture
async def kb(embedder: CachedEmbedder) -> AsyncIterator[KnowledgeBase]:
    db = Database(":memory:")
    await db.open()
    store = KnowledgeBase(db, embedder)
    await store.open()
    parsed, _ = read_docs(SITE, base_url="https://tidepool.example.org/")
    await import_drafts(store, parsed.drafts, author="op", at=datetime(2026, 3, 1, tzinfo=UTC))
    yield store
    await db.close()


def test_terms_keep_compounds_whole_and_stem_consistently() -> None:
    found = terms("Set TIDEPOOL_UPLOAD_LIMIT in docker-compose.yml; files were consumed")
    assert "tidepool_upload_limit" in found and "docker_compose_yml" in found
    assert {"tidepool", "upload", "limit"} <= set(found)
    assert stem("files") == stem("file") and stem("consuming") == stem("consumed") == stem("consume")
    assert "the" not in query_terms("what is the limit") and "limit" in query_terms("what is the limit")


async def test_a_pasted_error_message_finds_the_section_that_quotes_it(kb: KnowledgeBase) -> None:
    question = ("agent died overnight, log says:\n2026-03-01 02:11:09 ERROR agent: E_LOCK_TIMEOUT: store is "
                "locked by another tidepool process\nany idea?")
    vector = (await kb.embedder.embed([question]))[0]
    hits = await kb.search("default", vector, text=question)
    by_words = min((h for h in hits if h.lexical_rank), key=lambda h: h.lexical_rank or 99)
    assert by_words.entry.id == "docs:docs/troubleshooting.md#sync" and by_words.lexical_rank == 1
    assert by_words.coverage > 0.5


async def test_a_config_key_finds_the_passage_that_names_it_not_only_the_heading(kb: KnowledgeBase) -> None:
    question = "what does TIDEPOOL_SCAN_INTERVAL do"
    vector = (await kb.embedder.embed([question]))[0]
    hits = await kb.search("default", vector, text=question)
    first = next(h for h in hits if h.lexical_rank == 1)
    assert first.entry.id == "docs:docs/guide/install.md#agent-settings"
    assert first.passage_score is not None  # reached through the text, not the heading "Agent settings"


async def test_a_space_of_question_answer_entries_only_skips_the_full_text_search(kb: KnowledgeBase) -> None:
    from knowledge.entries import Draft

    await kb.create(Draft(("How do I rotate my API key?",), "Settings → API → Rotate.", space="faq"),
                    author="op", origin="import", at=datetime(2026, 3, 1, tzinfo=UTC))
    vector = (await kb.embedder.embed(["rotate API key"]))[0]
    hits = await kb.search("faq", vector, text="rotate API key")
    assert hits and hits[0].lexical_rank is None  # decided on its question forms alone
    docs = await kb.search("default", vector, text="TIDEPOOL_SCAN_INTERVAL")
    assert any(h.lexical_rank == 1 for h in docs)


async def test_a_question_in_its_heading_words_is_marked_as_covered_by_the_heading(kb: KnowledgeBase) -> None:
    question = "why does the tray icon stay grey"
    vector = (await kb.embedder.embed([question]))[0]
    hits = {h.entry.id: h for h in await kb.search("default", vector, text=question)}
    tray = next(h for h in hits.values() if "tray" in (h.entry.section or "").lower())
    assert tray.heading_coverage > 0.9  # tray, icon, stay, grey: all in "Why does the tray icon stay grey?"
    assert all(h.heading_coverage < 0.5 for h in hits.values() if h is not tray)


async def test_words_the_docs_never_use_lower_the_known_share_of_every_candidate(kb: KnowledgeBase) -> None:
    inside = "tidepool agent settings upload limit"
    outside = "tidepool kubernetes helm chart ingress"
    for question, expected in ((inside, 1.0), (outside, 0.2)):
        vector = (await kb.embedder.embed([question]))[0]
        hits = await kb.search("default", vector, text=question)
        assert hits and {round(h.known, 2) for h in hits} == {expected}
