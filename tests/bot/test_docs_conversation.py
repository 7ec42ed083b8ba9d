"""From a docs folder to a cited answer, as a member sees it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.wire import replay_view
from knowledge.docs import read_docs
from knowledge.embedder import CachedEmbedder
from knowledge.importer import import_drafts
from tests.chat import START, Chat, make_core

DOCS = Path(__file__).parent.parent / "knowledge" / "docs" / "site" / "docs"
RELATIVE_OR_MARKUP = re.compile(r"\]\((?!https?://)|!!!|:::|\{#|<[A-Za-z]")


@pytest.fixture
async def docs_chat(embedder: CachedEmbedder) -> AsyncIterator[Chat]:
    core = await make_core(embedder)
    parsed, source = read_docs(DOCS, base_url="https://tidepool.example.org/")
    await import_drafts(core.kb, parsed.drafts, author="import", at=START - timedelta(days=1),
                        replaces=source.covers)
    try:
        yield Chat(core)
    finally:
        await core.close()


async def test_a_pasted_error_is_answered_from_the_section_with_its_link(docs_chat: Chat) -> None:
    said = await docs_chat.ask("tidepool agent keeps failing with E_LOCK_TIMEOUT: store is locked by "
                               "another tidepool process. what do i do?")
    reply = said.reply
    assert reply.kind == "answer", reply.text
    assert reply.citations[0].section == "docs/troubleshooting.md#Troubleshooting > Sync stops with E_LOCK_TIMEOUT"
    assert "a second copy of the agent is running" in reply.text
    assert "More: https://tidepool.example.org/troubleshooting/#sync" in reply.text
    quoted = reply.text.split("\n\nMore:")[0]
    assert len(quoted) <= 700 and not RELATIVE_OR_MARKUP.search(quoted)
    view = replay_view(reply)
    assert view is not None and view["citations"] == [{
        "entry": "docs:docs/troubleshooting.md#sync",
        "section": "docs/troubleshooting.md#Troubleshooting > Sync stops with E_LOCK_TIMEOUT",
        "url": "https://tidepool.example.org/troubleshooting/#sync"}]


async def test_a_question_the_docs_do_not_cover_goes_to_staff(docs_chat: Chat) -> None:
    said = await docs_chat.ask("which pizza place near the office do you all recommend?")
    assert said.routed and said.reply.kind == "handoff"


async def test_the_decision_records_the_features_it_weighed(docs_chat: Chat) -> None:
    said = await docs_chat.ask("uploads are really slow, is there a limit? TIDEPOOL_UPLOAD_LIMIT maybe?")
    rows = await docs_chat.core.db.fetchall("SELECT body FROM log WHERE kind = 'decision'")
    assert rows, said.kinds()
    import json

    body = json.loads(rows[-1]["body"])
    assert set(body["features"]) >= {"dense", "lead", "agree", "lexical_rank", "coverage", "kind"}
    assert body["candidates"][0]["kind"] == "docs"


async def test_a_date_quoted_from_the_docs_is_not_held_back_as_a_promise(embedder: CachedEmbedder,
                                                                        tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.md").write_text(
        "# API\n\n## Filtering by due date\n\nDocuments whose custom field due is between Aug 1 and Aug 31, "
        "2024: `?custom_field_query=[\"due\", \"range\", [\"2024-08-01\", \"2024-08-31\"]]`.\n\n"
        "## Tokens\n\nCreate a token in your profile.\n", encoding="utf-8")
    core = await make_core(embedder)
    parsed, _ = read_docs(tmp_path / "docs", base_url="https://docs.example.org/")
    await import_drafts(core.kb, parsed.drafts, author="import", at=START - timedelta(days=1))
    try:
        said = await Chat(core).ask("how do i filter documents by the custom field due between aug 1 and aug 31 "
                                    "2024 with custom_field_query?")
        assert said.reply.kind == "answer", said.kinds()
        assert "2024-08-01" in said.reply.text
    finally:
        await core.close()


async def test_with_an_llm_the_answer_is_grounded_in_the_section_and_cites_it(embedder: CachedEmbedder) -> None:
    from bot.generate import Generator
    from bot.settings import LLMSettings
    from tests.fakes.openai_fake import FakeOpenAI

    fake = await FakeOpenAI().start()
    core = await make_core(embedder)
    parsed, _ = read_docs(DOCS, base_url="https://tidepool.example.org/")
    await import_drafts(core.kb, parsed.drafts, author="import", at=START - timedelta(days=1))
    core.generator = Generator(LLMSettings(model="gpt-test", base_url=fake.base_url, timeout_seconds=3.0),
                               api_key="sk-test")
    fake.then(answer="Another agent holds the store: stop it with `tidepool stop --all`, then start one [1].")
    try:
        said = await Chat(core).ask("agent fails with E_LOCK_TIMEOUT: store is locked by another tidepool "
                                    "process, what now?")
        reply = said.reply
        assert reply.kind == "answer" and reply.text.startswith("Another agent holds the store")
        assert "[1] Troubleshooting > Sync stops with E_LOCK_TIMEOUT (https://tidepool.example.org/troubleshooting/#sync)" \
            in reply.text
        assert reply.citations[0].section == "docs/troubleshooting.md#Troubleshooting > Sync stops with E_LOCK_TIMEOUT"
        assert "a second copy of the agent is running" in fake.requests[0].messages[1]["content"]
    finally:
        await core.close()
        await fake.close()


async def test_with_an_llm_the_model_reads_the_passage_that_answers_not_the_whole_section(
        embedder: CachedEmbedder) -> None:
    from bot.generate import Generator
    from bot.settings import LLMSettings
    from tests.fakes.openai_fake import FakeOpenAI

    fake = await FakeOpenAI().start()
    core = await make_core(embedder)
    parsed, _ = read_docs(DOCS, base_url="https://tidepool.example.org/")
    await import_drafts(core.kb, parsed.drafts, author="import", at=START - timedelta(days=1))
    core.generator = Generator(LLMSettings(model="gpt-test", base_url=fake.base_url, timeout_seconds=3.0),
                               api_key="sk-test")
    fake.then(answer="They go to ~/.tidepool/logs/agent.log and rotate at 10 MB [1].")
    try:
        said = await Chat(core).ask("where does the tidepool agent write its log file, agent.log? "
                                    "how big does it get before it rotates?")
        assert said.reply.kind == "answer", said.kinds()
        assert said.reply.citations[0].section == "docs/guide/install.md#Installing Tidepool > Agent settings"
        sent = fake.requests[0].messages[1]["content"]
        assert "rotate at 10 MB, keeping five old files" in sent
        assert "spinning disk" not in sent  # the section's other passage, about scans
    finally:
        await core.close()
        await fake.close()
