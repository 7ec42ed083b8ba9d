"""journeybot learn status / rollback and journeybot report, on a store that learned."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from knowledge.embedder import CachedEmbedder
from learning.adapt import Trainer
from storage.models import LearningRows
from tests.chat import Chat
from tests.learning.conftest import core_with_learner
from tests.learning.test_models import judged

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


async def a_store_that_learned(embedder: CachedEmbedder, db: str) -> None:
    core = await core_with_learner(embedder, db)
    try:
        chat = Chat(core)
        first = await chat.ask("How do I rotate my API key?", user="u1")
        await chat.press(first.reply.case or "", "not_solved", user="u1")
        chat.later(hours=80)
        second = await chat.ask("How do I rotate my API key?", user="u2")
        await chat.press(second.reply.case or "", "solved", user="u2")
        await core.learner.adapt(NOW, core.adopt)
    finally:
        await core.close()


def test_status_shows_the_model_its_history_and_the_wrong_rate_against_the_target(
        embedder: CachedEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "store.db")
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: judged(promote=True))
    asyncio.run(a_store_that_learned(embedder, db))

    runner = CliRunner()
    status = runner.invoke(app, ["learn", "status", "--db", db])
    assert status.exit_code == 0, status.output
    assert "answering with all-MiniLM-L6-v2+v1 (version 1)" in status.output
    assert "target 1.0%, measured 50.0% (1 of 2 answers shown wrong)" in status.output
    assert "* v1 from v0 promoted" in status.output and "right 5 → 7" in status.output
    as_json = json.loads(runner.invoke(app, ["learn", "status", "--db", db, "--json"]).output)
    assert as_json["current"]["version"] == 1 and as_json["history"][0]["status"] == "promoted"

    report = runner.invoke(app, ["report", "--db", db])
    assert report.exit_code == 0, report.output
    assert "target 1.0%, measured 50.0%" in report.output

    back = runner.invoke(app, ["learn", "rollback", "--db", db])
    assert back.exit_code == 0, back.output
    assert "now answering with version 0" in back.output
    from storage.database import Database

    async def look() -> tuple[int, list[str]]:
        async with Database(db) as database:
            store = LearningRows(database)
            return await store.current_model(), [m.status for m in await store.models()]

    assert asyncio.run(look()) == (0, ["rolled_back"])


def test_status_needs_a_store(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["learn", "status", "--db", str(tmp_path / "none.db")])
    assert out.exit_code != 0 and "no store at" in out.output


def test_status_says_what_a_docs_adaptation_learned_not_empty_held_out_figures(tmp_path: Path) -> None:
    # `kb import docs/` tunes the model to the docs' own words: no taught pairs, no held-out slice.
    db = str(tmp_path / "store.db")
    from storage.database import Database
    from storage.models import ModelRecord

    async def docs_adapted() -> None:
        async with Database(db) as database:
            store = LearningRows(database)
            body = {"kind": "docs", "sections": 132, "rows": 712, "steps": 200, "seconds": 244.0, "file": "m1"}
            await store.record_model(ModelRecord(1, 0, "promoted", NOW.isoformat(), body))
            await store.set_current(1)

    asyncio.run(docs_adapted())
    status = CliRunner().invoke(app, ["learn", "status", "--db", db])
    assert status.exit_code == 0, status.output
    line = next(li for li in status.output.splitlines() if li.startswith("* v1 from v0"))
    assert "adapted to 132 docs sections (712 rows, 200 steps) trained in 244.0 s, before re-embedding" in line, line
    assert "held-out" not in line and "0 pairs" not in line, line
