"""Every learned entry keeps earning its place: answers that stop working hold it back."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.embedder import CachedEmbedder
from storage.models import LearningRows
from tests.chat import Chat
from tests.learning.conftest import core_with_learner


async def test_an_entry_whose_answers_keep_failing_stops_answering_and_the_card_says_why(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await core_with_learner(embedder, str(tmp_path / "s.db"),
                                   learning={"survival_min_answers": 2, "survival_threshold": 0.5})
    try:
        chat = Chat(core)
        for user in ("u1", "u2"):
            said = await chat.ask("How do I rotate my API key?", user=user)
            assert said.reply.kind == "answer" and said.reply.sources == ("api-key-rotate",)
            case = said.reply.case
            assert case is not None
            pressed = await chat.press(case, "not_solved", user=user)
            assert pressed.routed
            chat.later(hours=80)  # a new day, a new question: not the same person's repeat
        assert await LearningRows(core.db).records(["api-key-rotate"]) == {"api-key-rotate": (2, 2)}

        said = await chat.ask("How do I rotate my API key?", user="u3")
        assert said.reply.kind == "handoff" and said.route.reason == "low_confidence"
        assert any("api-key-rotate is held back: 2 of its 2 answers" in u.text for u in said.card_updates)
        rows = await core.db.fetchall("SELECT body FROM log WHERE kind = 'held_back'")
        assert [json.loads(r["body"])["entry"] for r in rows] == ["api-key-rotate"]
    finally:
        await core.close()


async def test_an_entry_whose_answers_work_keeps_answering(embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await core_with_learner(embedder, str(tmp_path / "s.db"),
                                   learning={"survival_min_answers": 2, "survival_threshold": 0.5})
    try:
        chat = Chat(core)
        for user in ("u1", "u2", "u3"):
            said = await chat.ask("How do I rotate my API key?", user=user)
            assert said.reply.kind == "answer"
            await chat.press(said.reply.case or "", "solved", user=user)
            chat.later(hours=80)
        said = await chat.ask("How do I rotate my API key?", user="u4")
        assert said.reply.kind == "answer"
        # Solved presses are lessons the encoder can learn from
        pairs = await LearningRows(core.db).teaching_pairs()
        assert sum(1 for p in pairs if p.kind == "solved") == 3
    finally:
        await core.close()
