"""In replay, adaptation runs inside the event that makes it due, and the same input gives the same output."""

from __future__ import annotations

import io
import json
from pathlib import Path

from adapters.replay import ReplayAdapter
from bot.runtime import Runtime
from knowledge.embedder import CachedEmbedder
from storage.models import LearningRows
from tests.learning.conftest import core_with_learner

QUESTIONS = ["How do I rotate my API key?", "What is the API rate limit?", "How do I reset my password?",
             "How does pagination work in the API?", "How do I set up webhooks?",
             "Are failed webhook deliveries retried?", "regenerate api token", "I forgot my password"]


def stream() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    for i, text in enumerate(QUESTIONS):
        at = f"2026-03-02T{9 + i:02d}:00:00Z"
        events.append({"type": "message", "id": f"m{i}", "at": at, "channel": "help", "user": f"u{i}",
                       "text": text})
        events.append({"type": "feedback", "id": f"f{i}", "about": f"m{i}", "user": f"u{i}", "value": "solved"})
    events.append({"type": "message", "id": "last", "channel": "help", "user": "u99",
                   "text": "how can I rotate the API key"})
    return events


async def play(embedder: CachedEmbedder, db: str) -> tuple[list[dict[str, object]], list[tuple[int, str, str]]]:
    core = await core_with_learner(embedder, db, learning={"every_lessons": 8, "min_lessons": 8,
                                                            "background": False, "steps": 3})

    async def lines():  # type: ignore[no-untyped-def]
        for e in stream():
            yield json.dumps(e)

    out = io.StringIO()
    try:
        await Runtime(core, [ReplayAdapter(lines(), out)]).start()
        models = [(m.version, m.status, m.at) for m in await LearningRows(core.db).models()]
    finally:
        await core.close()
    return [json.loads(line) for line in out.getvalue().splitlines()], models


async def test_adaptation_falls_due_by_the_events_clock_and_replays_identically(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    first, models = await play(embedder, str(tmp_path / "a.db"))
    again, models_again = await play(embedder, str(tmp_path / "b.db"))
    # the eighth lesson (Solved on m7, at 16:00) made it due: it ran inside that event
    assert len(models) == 1 and models[0][2] == "2026-03-02T16:00:00+00:00"
    assert first == again and models == models_again
    answers = [o for o in first if o.get("kind") == "answer"]
    assert answers and all(o.get("model", "").startswith("all-MiniLM-L6-v2") for o in answers)
    if models[0][1] == "promoted":
        assert answers[-1]["model"] == "all-MiniLM-L6-v2+v1"
