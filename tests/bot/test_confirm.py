"""An entry that leads but may not be what was asked is offered alone: the asker
confirms it with "yes" (or its number) and is answered, or says "no" and a
person takes it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.policy import Decision
from knowledge.embedder import CachedEmbedder
from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB


async def test_yes_confirms_a_lone_option_and_no_hands_it_over(embedder: CachedEmbedder) -> None:
    # A centroid floor no question reaches: every answer that is not sure is confirmed first.
    core = await make_core(embedder, kb=DEMO_KB, policy={"centroid_floor": 0.999, "sure_threshold": 1.5})
    try:
        chat = Chat(core)
        asked = await chat.ask("how do I rotate my API key?", id="m1")
        assert asked.reply.kind == "clarify" and asked.reply.options == ("api-key-rotate",)
        assert "1." in asked.reply.text and "2." not in asked.reply.text

        confirmed = await chat.say("yes", thread="m1")
        assert confirmed.reply.kind == "answer" and confirmed.reply.sources == ("api-key-rotate",)

        await chat.ask("how do I rotate my API key?", id="m2", user="u2")
        refused = await chat.say("no", thread="m2", user="u2")
        assert refused.route.reason == "low_confidence"
    finally:
        await core.close()


def confirming(reason: str | None) -> Callable[..., Any]:
    """The policy offers its best entry alone, with ``reason`` ("likely": one it would
    otherwise have handed over; None: a leader it doubts)."""
    from bot.flows import deciding

    real = deciding.decide

    def offer_the_best(options, signals, t, answer_at=None):  # type: ignore[no-untyped-def]
        if signals.clarifications:
            return real(options, signals, t, answer_at)
        return Decision("clarify", reason=reason, options=(options[0].entry,), confidence=options[0].score)

    return offer_the_best


async def test_a_yes_to_what_staff_would_have_answered_teaches_it_and_a_doubted_leader_does_not(
        embedder: CachedEmbedder, monkeypatch: pytest.MonkeyPatch) -> None:
    """A question the bot would have handed to staff, confirmed by the asker, teaches
    what staff answering it would have: the question becomes a way to ask that entry.
    A "yes" to a leader the bot doubted (a topic next door) teaches nothing."""
    core = await make_core(embedder, kb=DEMO_KB)
    try:
        chat = Chat(core)
        question = "the key for the API got out, what now"
        with monkeypatch.context() as patched:
            patched.setattr("bot.flows.deciding.decide", confirming(None))
            offered = (await chat.ask(question, id="m1")).reply
            assert offered.kind == "clarify" and len(offered.options) == 1
            assert (await chat.say("yes", thread="m1")).reply.kind == "answer"
        entry = await core.kb.get(offered.options[0])
        assert entry is not None and question not in entry.questions

        with monkeypatch.context() as patched:
            patched.setattr("bot.flows.deciding.decide", confirming("likely"))
            assert (await chat.ask(question, id="m2", user="u2")).reply.options == offered.options
            answered = (await chat.say("yes", thread="m2", user="u2")).reply
        assert answered.kind == "answer" and answered.sources == offered.options
        entry = await core.kb.get(offered.options[0])
        assert entry is not None and question in entry.questions
        case = await core.cases.get("default", "m2")
        assert case is not None and not case.options  # answered: nothing left to confirm

        # the asker edits their question before saying yes: what was confirmed is not what is asked
        with monkeypatch.context() as patched:
            patched.setattr("bot.flows.deciding.decide", confirming("likely"))
            [option] = (await chat.ask("my refund never came", id="m3", user="u3")).reply.options
            await chat.edit("m3", "my refund never came, and my card was charged twice", user="u3")
            assert (await chat.say("yes", thread="m3", user="u3")).reply.kind == "answer"
        entry = await core.kb.get(option)
        assert entry is not None and not any("refund never came" in q for q in entry.questions)
    finally:
        await core.close()
