"""Every learned entry keeps earning its place: answers that stop working hold it back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.core import Core
from knowledge.embedder import CachedEmbedder
from storage.models import LearningRows
from tests.chat import Chat
from tests.learning.conftest import core_with_learner


@asynccontextmanager
async def entry_held_back(embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[tuple[Core, Chat]]:
    """A store where both answers api-key-rotate gave met Not solved: it is held back."""
    core = await core_with_learner(embedder, str(tmp_path / "s.db"),
                                   learning={"survival_min_answers": 2, "survival_threshold": 0.5})
    try:
        chat = Chat(core)
        for user in ("u1", "u2"):
            said = await chat.ask("How do I rotate my API key?", user=user)
            await chat.press(said.reply.case or "", "not_solved", user=user)
            chat.later(hours=80)
        yield core, chat
    finally:
        await core.close()


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


@asynccontextmanager
async def solved_hours_ago(embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[tuple[Core, Chat]]:
    """api-key-rotate answered thread m1, the asker said it worked, and five hours went by."""
    core = await core_with_learner(embedder, str(tmp_path / "s.db"))
    try:
        chat = Chat(core)
        said = await chat.ask("How do I rotate my API key?", id="m1")
        assert said.reply.sources == ("api-key-rotate",)
        await chat.say("thanks, that worked!", thread="m1")
        chat.later(hours=5)
        yield core, chat
    finally:
        await core.close()


async def test_saying_it_did_not_work_after_the_thread_was_resolved_is_a_not_solved(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with solved_hours_ago(embedder, tmp_path) as (core, chat):
        back = await chat.say("it still doesn't work, the old key keeps being accepted", thread="m1")
        assert back.route.reason == "reopened", "as the Not solved button: to staff, with what was tried"
        assert await LearningRows(core.db).records(["api-key-rotate"]) == {"api-key-rotate": (1, 1)}
        rows = await core.db.fetchall("SELECT body FROM log WHERE kind = 'wrong_answer'")
        assert [json.loads(r["body"])["how"] for r in rows] == ["not_solved"]


async def test_coming_back_with_the_same_problem_counts_against_the_entry_and_a_new_question_does_not(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await core_with_learner(embedder, str(tmp_path / "s.db"))
    try:
        chat = Chat(core)
        for user, thread in (("u1", "m1"), ("u2", "m2")):
            said = await chat.ask("How do I rotate my API key?", id=thread, user=user)
            assert said.reply.sources == ("api-key-rotate",)
            await chat.say("thanks, that worked!", thread=thread, user=user)
        chat.later(hours=5)
        await chat.say("How do I rotate my API key? It stopped working again", thread="m1", user="u1")
        await chat.say("and how do I enable two-factor authentication?", thread="m2", user="u2")
        # one of its two answers did not last; the new question in the other thread says nothing about it
        assert await LearningRows(core.db).records(["api-key-rotate"]) == {"api-key-rotate": (2, 1)}
        rows = await core.db.fetchall("SELECT body FROM log WHERE kind = 'wrong_answer'")
        assert rows == [], "not marked Not solved: the scorecard's wrong answers stay what the asker said"
    finally:
        await core.close()


async def test_asking_the_same_again_in_a_new_thread_counts_against_the_entry_that_answered(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await core_with_learner(embedder, str(tmp_path / "s.db"))
    try:
        chat = Chat(core)
        first = await chat.ask("How do I rotate my API key?", id="m1")
        assert first.reply.sources == ("api-key-rotate",)
        chat.later(hours=1)
        again = await chat.ask("how do I rotate my API key?", id="m2")
        assert again.route.reason == "reopened"
        assert await LearningRows(core.db).records(["api-key-rotate"]) == {"api-key-rotate": (1, 1)}
        await chat.press("m1", "not_solved")  # the same answer failing, said twice: one failure
        assert await LearningRows(core.db).records(["api-key-rotate"]) == {"api-key-rotate": (1, 1)}
    finally:
        await core.close()


async def test_staff_answering_a_held_back_entrys_card_gives_it_a_new_version_that_answers_again(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with entry_held_back(embedder, tmp_path) as (core, chat):
        held = await chat.ask("How do I rotate my API key?", user="u3", id="m9")
        assert held.routed and held.route.reason == "low_confidence"

        fixed = "Settings → API → Rotate key, then update the key in every integration within 24 hours."
        taught = await chat.staff(fixed, card="card:m9")
        assert (taught.learned.entry, taught.learned.version) == ("api-key-rotate", 2), "a new version, not a new entry"
        chat.later(hours=80)
        again = await chat.ask("How do I rotate my API key?", user="u4")
        assert again.reply.kind == "answer" and again.reply.sources == ("api-key-rotate",)
        assert fixed in again.reply.text
        rows = LearningRows(core.db)
        assert await rows.records_now(["api-key-rotate"]) == {"api-key-rotate": (1, 0)}
        assert await rows.records(["api-key-rotate"]) == {"api-key-rotate": (3, 2)}


async def test_a_card_routed_for_another_reason_does_not_revise_a_held_back_entry_near_it(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with entry_held_back(embedder, tmp_path) as (core, chat):
        vague = await chat.ask("can I share my API key with a colleague?", user="u3", id="m9")
        assert vague.routed and not any("held back" in u.text for u in vague.card_updates)
        case = await core.cases.get("default", "m9")
        assert case is not None and case.candidates and case.candidates[0].entry == "api-key-rotate"
        taught = await chat.staff("No: each person makes their own key under Settings → API.", card="card:m9")
        assert taught.learned.entry != "api-key-rotate", "a new entry; the held-back one keeps its answer"
        entry = await core.kb.get("api-key-rotate")
        assert entry is not None and entry.version == 1


async def test_much_later_a_problem_in_a_solved_thread_is_a_new_one_not_a_failed_answer(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await core_with_learner(embedder, str(tmp_path / "s.db"))
    try:
        chat = Chat(core)
        await chat.ask("How do I rotate my API key?", id="m1")
        await chat.say("thanks, that worked!", thread="m1")
        chat.later(days=6)
        await chat.say("Another thing: my webhook doesn't work since yesterday, any idea?", thread="m1")
        assert await LearningRows(core.db).records(["api-key-rotate"]) == {"api-key-rotate": (1, 0)}
        assert await core.db.fetchall("SELECT body FROM log WHERE kind = 'wrong_answer'") == []
    finally:
        await core.close()


async def test_a_held_back_entry_renewed_or_retagged_with_the_same_answer_stays_held_back(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with entry_held_back(embedder, tmp_path) as (core, chat):
        entry = await core.kb.get("api-key-rotate")
        assert entry is not None
        await core.kb.revise(entry, author="ann", origin="import", at=chat.now, tags=["api", "keys"])
        said = await chat.ask("How do I rotate my API key?", user="u3")
        assert said.routed and any("api-key-rotate is held back" in u.text for u in said.card_updates)


async def test_staff_answering_a_held_back_entrys_card_with_its_own_answer_vouch_for_it(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with entry_held_back(embedder, tmp_path) as (core, chat):
        held = await chat.ask("How do I rotate my API key?", user="u3", id="m9")
        assert held.routed and held.route.reason == "low_confidence"
        entry = await core.kb.get("api-key-rotate")
        assert entry is not None
        await chat.staff(entry.answer, card="card:m9")  # "that answer is right": the same words
        chat.later(hours=80)
        again = await chat.ask("How do I rotate my API key?", user="u4")
        assert again.reply.kind == "answer", "staff vouched for it: it answers with a fresh record"
        assert await LearningRows(core.db).records_now(["api-key-rotate"]) == {"api-key-rotate": (1, 0)}
        rows = await core.db.fetchall("SELECT body FROM log WHERE kind = 'held_back'")
        assert json.loads(rows[-1]["body"]) == {"entry": "api-key-rotate", "released_by": "alice"}


async def test_a_card_routed_because_handling_failed_does_not_revise_an_entry_held_back_before(
        embedder: CachedEmbedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.flows.questions as questions

    async with entry_held_back(embedder, tmp_path) as (core, chat):
        await chat.ask("How do I rotate my API key?", user="u3", id="m9")
        await chat.staff("noteach: I rotated it for you; the new key is in your inbox.", card="card:m9")

        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the embedder fell over")

        monkeypatch.setattr(questions, "decide_and_act", broken)
        await chat.say("and how do I turn on two-factor authentication?", thread="m9", user="u3")
        monkeypatch.undo()
        case = await core.cases.get("default", "m9")
        assert case is not None and case.route_reason == "low_confidence" and case.held_entry is None
        taught = await chat.staff("Settings → Security → Two-factor → Enable, then scan the QR code.",
                                  card="card:m9")
        assert taught.learned.entry != "api-key-rotate", "an answer to another question is not its new version"


async def test_a_public_answer_to_a_held_back_entrys_card_answers_though_a_private_one_waits(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with entry_held_back(embedder, tmp_path) as (core, chat):
        await chat.ask("How do I rotate my API key?", user="u3", id="m9")
        await chat.ask("how do I rotate my api key", user="u4", id="m10")
        await chat.command("private", user="mod1", roles=("moderator",), thread="m9")
        await chat.staff("For you: I rotated it; the new key is in ticket 4411.", card="card:m9")
        fixed = "Settings → API → Rotate key, then update the key in every integration within 24 hours."
        await chat.staff(fixed, card="card:m10")
        entry = await core.kb.get("api-key-rotate")
        assert entry is not None and (entry.answer, entry.status) == (fixed, "live")
        chat.later(hours=1)
        said = await chat.ask("How do I rotate my API key?", user="u5")
        assert said.reply.kind == "answer" and "4411" not in said.reply.text


async def test_coming_back_in_the_solved_thread_is_a_wrong_answer_the_calibration_keeps(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with solved_hours_ago(embedder, tmp_path) as (core, chat):
        await chat.say("How do I rotate my API key? It stopped working again", thread="m1")
        # the bot decided again on the same case; the first decision's outcome is kept beside it
        rows = await core.db.fetchall("SELECT case_key, wrong FROM observations ORDER BY case_key")
        assert [(r["case_key"], r["wrong"]) for r in rows] == [("m1", None), ("m1#0", "api-key-rotate")]


async def test_a_private_answer_on_a_held_back_card_that_staff_reject_does_not_release_the_entry(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    async with entry_held_back(embedder, tmp_path) as (core, chat):
        await chat.ask("How do I rotate my API key?", user="u3", id="m9")
        await chat.command("private", user="mod1", roles=("moderator",), thread="m9")
        await chat.staff("For you: I rotated it; the new key is in ticket 4411.", card="card:m9")
        await chat.command("reject", user="alice", roles=("staff",), args="api-key-rotate only for that account",
                           channel="staff")
        entry = await core.kb.get("api-key-rotate")
        assert entry is not None and entry.status == "live", "back to the answer that kept failing …"
        chat.later(hours=80)
        again = await chat.ask("How do I rotate my API key?", user="u5")
        assert again.routed, "… which nobody vouched for in public: still held back"

