"""Privacy end to end: every secret and personal-data string of the corpus,
posted by a member or taught by staff, goes through the whole bot (LLM
included) and survives nowhere — not in the event log, the database, a staff
card, a case, a learned entry or its versions, or a request to the LLM."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.actions import Action, Reply, Route
from bot.core import Core
from bot.generate import Generator
from bot.settings import LLMSettings
from bot.trust.redact import CREDENTIAL_KINDS, redact
from knowledge.embedder import CachedEmbedder
from tests.bot.trust.conftest import read_corpus
from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB
from tests.fakes.openai_fake import FakeOpenAI

ANSWERABLE = "How do I rotate my API key? "  # answered, so the LLM is asked
_RUN = re.compile(r"[A-Za-z0-9]{12,}")
ROWS = read_corpus("secrets")


def pieces(kind: str, value: str) -> set[str]:
    """What must not survive of ``value``: itself, and for tokens and keys any
    12 characters of their random part (so half a key is a leak too)."""
    found = {value}
    if kind in CREDENTIAL_KINDS and kind != "password":
        for run in _RUN.findall(value):
            found |= {run[i : i + 12] for i in range(len(run) - 11)}
    if kind in ("card", "iban"):
        found.add(re.sub(r"[\s-]", "", value))
    return found


def leaks(rows: Iterable[dict[str, Any]], haystacks: dict[str, str]) -> list[tuple[str, str, str]]:
    """(where, kind, value) for every value any piece of which is in a haystack."""
    found = []
    for row in rows:
        for kind, value in zip(row["kinds"], row["values"], strict=True):
            for piece in pieces(kind, value):
                where = next((name for name, text in haystacks.items() if piece in text), None)
                if where is not None:
                    found.append((where, kind, value))
                    break
    return found


def database_text(path: Path) -> dict[str, str]:
    """Every text column of every table, one haystack per table."""
    out: dict[str, str] = {}
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()  # names come from sqlite_master
            out[f"table {table}"] = "\n".join(str(v) for row in rows for v in row if not isinstance(v, bytes))
    return out


def action_text(actions: Iterable[Action]) -> str:
    return "\n".join(json.dumps(dataclasses.asdict(a), ensure_ascii=False, default=str) for a in actions)


@pytest_asyncio.fixture(loop_scope="function")
async def world(embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[tuple[Chat, FakeOpenAI, Path]]:
    fake = await FakeOpenAI(default_answer="Settings → API → Rotate key [1].").start()
    path = tmp_path / "journeybot.db"
    core: Core = await make_core(embedder, kb=DEMO_KB, db=str(path))
    core.generator = Generator(LLMSettings(model="gpt-test", base_url=fake.base_url), api_key="sk-test")
    try:
        yield Chat(core), fake, path
    finally:
        await core.close()
        await fake.close()


async def test_no_secret_survives_anywhere(world: tuple[Chat, FakeOpenAI, Path],
                                           capsys: pytest.CaptureFixture[str],
                                           caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    chat, fake, path = world
    assert len(ROWS) >= 200
    cards: list[Route] = []
    actions: list[Action] = []
    warned = unwarned = 0
    learned: list[str] = []

    # (a) members post them: half with a question the bot answers (so the LLM is asked).
    for i, row in enumerate(ROWS):
        user = f"member{i}"
        said = await chat.ask((ANSWERABLE if i % 2 == 0 else "") + row["text"], user=user)
        actions += said
        cards += [a for a in said if isinstance(a, Route)]
        if set(row["kinds"]) & CREDENTIAL_KINDS:
            warning = [r for r in said.replies if r.private_to == user and "rotate" in r.text]
            warned += bool(warning)
            unwarned += not warning

    # (b) staff put them in answers, which become knowledge.
    for i, row in enumerate(ROWS):
        asked = await chat.ask(f"I'd like to talk to a person please, about my workspace number {i}.",
                               user=f"asker{i}", id=f"q{i}")
        assert asked.routed
        taught = await chat.staff(f"Here is what you need: {row['text']}", card=f"card:q{i}")
        actions += taught
        learned.append(taught.learned.entry)

    core = chat.core
    haystacks = {
        "event log": "\n".join([json.dumps(r.body, ensure_ascii=False) async for r in core.log.records()]),
        "staff cards": "\n".join(f"{c.text}\n{json.dumps(dataclasses.asdict(c.content), default=str)}"
                                 for c in cards if c.content is not None),
        "actions": action_text(actions),
        "LLM requests": "\n".join(json.dumps(r.body, ensure_ascii=False) for r in fake.requests),
    }
    cases = [await core.cases.get("default", f"q{i}") for i in range(len(ROWS))]
    haystacks["case states"] = "\n".join(repr(c) for c in cases)
    entries = []
    for entry_id in sorted(set(learned)):
        entries.append(repr(await core.kb.get(entry_id)))
        entries.append(json.dumps(await core.kb.store.history(entry_id), ensure_ascii=False))
    haystacks["learned entries and versions"] = "\n".join(entries)
    haystacks |= database_text(path)
    logs = "\n".join(logging.Formatter("%(name)s %(message)s").format(r) for r in caplog.records
                     if r.levelno >= logging.INFO)
    haystacks["logs (INFO and above)"] = logs
    assert "about a posted secret" in logs, "the bot's own INFO lines were captured"
    words_logged = [row["text"] for row in ROWS if redact(row["text"]).text in logs]
    assert words_logged == [], "members' words are logged at INFO"

    survived = leaks(ROWS, haystacks)
    values = sum(len(r["values"]) for r in ROWS)
    with capsys.disabled():
        print(f"\nprivacy e2e: {len(ROWS)} strings ({values} values) posted by members and taught by "
              f"staff; {len(fake.requests)} LLM requests, {len(cards)} staff cards, "
              f"{len(set(learned))} learned entries checked; survivors: {len(survived)}; "
              f"secret warnings {warned}/{warned + unwarned}")
    assert not survived, survived[:5]
    assert len(fake.requests) >= len(ROWS) // 3, "most of the answerable half should have asked the LLM"
    assert cards, "some questions should have reached staff"
    assert unwarned == 0


async def test_a_public_secret_gets_a_private_rotate_warning(world: tuple[Chat, FakeOpenAI, Path]) -> None:
    chat, _, _ = world
    token = "xoxb-" + "1234567890-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"

    said = await chat.ask(f"my bot stopped posting, token is {token}", user="ann", id="m1")

    (warning,) = [r for r in said.replies if r.private_to is not None]
    assert isinstance(warning, Reply)
    assert warning.private_to == "ann"
    assert "rotate" in warning.text
    assert "slack token" in warning.text
    assert token not in warning.text
    public = [r for r in said.replies if r.private_to is None]
    assert public
    assert all("rotate it now" not in r.text and token not in r.text for r in public)
