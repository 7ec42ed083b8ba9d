"""What an asker's pick taught stays only while the answer it chose keeps working.

An asker who picks the second option of a "did you mean" teaches the bot their
question as a way to ask the entry they picked, and a "pick" lesson for the
encoder. When that answer then meets Not solved, both are withdrawn: the next
asker is not pulled towards the entry by that form, and the next adaptation
does not train on it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.core import Core
from knowledge.embedder import CachedEmbedder
from storage.models import LearningRows
from tests.bot.test_conversations import clarifying_always
from tests.chat import Chat
from tests.learning.conftest import core_with_learner

QUESTION = "webhooks"


@pytest.fixture
async def chat(embedder: CachedEmbedder, store_url: str, tmp_path: Path) -> AsyncIterator[Chat]:
    """A learning core on each store (SQLite and PostgreSQL)."""
    core = await core_with_learner(embedder, store_url, learning={"models_dir": str(tmp_path / "models")})
    try:
        yield Chat(core)
    finally:
        await core.close()


async def picked_second(chat: Chat, monkeypatch: pytest.MonkeyPatch, *, id: str, user: str) -> tuple[str, str]:
    """The asker is asked "did you mean", picks the second option and is answered from it:
    (the option the bot put first, the one the asker picked)."""
    with monkeypatch.context() as patched:
        patched.setattr("bot.flows.deciding.decide", clarifying_always())
        offered = (await chat.ask(QUESTION, id=id, user=user)).reply
        assert offered.kind == "clarify" and len(offered.options) == 2
        answered = (await chat.say("2", thread=id, user=user)).reply
    first, picked = offered.options
    assert answered.kind == "answer" and answered.sources == (picked,)
    return first, picked


async def asked_forms(core: Core, entry_id: str) -> tuple[str, ...]:
    entry = await core.kb.get(entry_id)
    assert entry is not None
    return entry.questions


async def pairs(core: Core, kind: str) -> list[tuple[str, str]]:
    return [(p.text, p.entry) for p in await LearningRows(core.db).teaching_pairs() if p.kind == kind]


async def wrong_answers(core: Core) -> list[dict[str, object]]:
    rows = await core.db.fetchall("SELECT body FROM log WHERE kind = 'wrong_answer' ORDER BY seq")
    return [json.loads(r["body"]) for r in rows]


async def test_a_picked_answer_that_did_not_work_unteaches_the_pick(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    core = chat.core
    _, picked = await picked_second(chat, monkeypatch, id="m1", user="u1")
    assert QUESTION in await asked_forms(core, picked)  # learned: another way to ask what was picked
    assert (QUESTION, picked) in await pairs(core, "pick")
    assert (QUESTION, picked) in await pairs(core, "staff")  # the form itself is a taught pair too

    said = await chat.press("m1", "not_solved")
    assert said.route.reason == "reopened"
    assert QUESTION not in await asked_forms(core, picked)
    assert (QUESTION, picked) not in await pairs(core, "pick")
    assert (QUESTION, picked) not in await pairs(core, "staff")
    [record] = await wrong_answers(core)
    assert record["entry"] == picked and record["how"] == "not_solved"
    assert record["withdrawn"] == {"forms": [QUESTION], "lessons": ["pick"]}

    # The next asker with the same words is not answered from the picked entry on the strength of them.
    hits = await core.kb.search("default", (await core.kb.embedder.embed([QUESTION]))[0], text=QUESTION)
    assert all(h.score < 0.99 for h in hits if h.entry.id == picked)
    nxt = (await chat.ask(QUESTION, id="m2", user="u2")).reply
    assert not (nxt.kind == "answer" and nxt.sources == (picked,))


async def test_a_picked_answer_that_worked_keeps_what_it_taught(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: without Not solved, the next asker is answered from the picked entry."""
    core = chat.core
    _, picked = await picked_second(chat, monkeypatch, id="m1", user="u1")
    await chat.press("m1", "solved")
    assert QUESTION in await asked_forms(core, picked)
    assert {(QUESTION, picked)} == set(await pairs(core, "pick")) == set(await pairs(core, "solved"))
    chat.later(hours=80)
    nxt = (await chat.ask(QUESTION, id="m2", user="u2")).reply
    assert nxt.kind == "answer" and nxt.sources == (picked,)


async def test_not_solved_on_an_answer_no_pick_gave_withdraws_nothing(chat: Chat) -> None:
    core = chat.core
    said = await chat.ask("How do I rotate my API key?", id="m1")
    assert said.reply.kind == "answer" and said.reply.sources == ("api-key-rotate",)
    before = await asked_forms(core, "api-key-rotate")
    taught = await LearningRows(core.db).teaching_pairs()

    await chat.press("m1", "not_solved")
    assert await asked_forms(core, "api-key-rotate") == before
    assert await LearningRows(core.db).teaching_pairs() == taught
    [record] = await wrong_answers(core)
    assert record["entry"] == "api-key-rotate" and "withdrawn" not in record


async def test_a_form_staff_taught_the_same_entry_stays(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    core = chat.core
    _, picked = await picked_second(chat, monkeypatch, id="m1", user="u1")
    entry = await core.kb.get(picked)
    assert entry is not None
    staff_form = "hooks that call my server"
    await core.kb.add_question(entry, staff_form, author="alice", at=chat.now, case="m1")  # same case, staff
    await chat.say("that didn't work, still nothing arrives", thread="m1")  # Not solved in words
    forms = await asked_forms(core, picked)
    assert QUESTION not in forms and staff_form in forms
    assert [record.get("withdrawn") for record in await wrong_answers(core)] == [
        {"forms": [QUESTION], "lessons": ["pick"]}]


def offering_the_leader_second() -> Callable[..., Any]:
    """A "did you mean" whose second option is the entry the bot ranks first."""
    from bot.policy import Decision

    def clarify(options, signals, t, answer_at=None):  # type: ignore[no-untyped-def]
        return Decision("clarify", options=(options[1].entry, options[0].entry), confidence=options[0].score)

    return clarify


async def test_a_form_another_askers_pick_taught_stays(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    core = chat.core
    _, picked = await picked_second(chat, monkeypatch, id="m1", user="u1")
    await chat.press("m1", "solved")
    chat.later(hours=80)
    with monkeypatch.context() as patched:  # the next asker picks the same entry, second again
        patched.setattr("bot.flows.deciding.decide", offering_the_leader_second())
        offered = (await chat.ask(QUESTION, id="m2", user="u2")).reply
        assert offered.options[1] == picked
        await chat.say("2", thread="m2", user="u2")  # their words were a form already: nothing new
    await chat.press("m2", "not_solved", user="u2")
    assert QUESTION in await asked_forms(core, picked)  # m1 taught it, and m1's answer worked
    assert (await pairs(core, "pick")) == [(QUESTION, picked)]  # m1's pick; m2's is withdrawn
    assert [r.get("withdrawn") for r in await wrong_answers(core)] == [{"forms": [], "lessons": ["pick"]}]


async def test_staff_correcting_the_picked_answer_keeps_the_pick(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff gave the picked entry a better answer: the asker had the right entry after all."""
    core = chat.core
    _, picked = await picked_second(chat, monkeypatch, id="m1", user="u1")
    said = await chat.say("Correction: set the endpoint under Settings → Integrations → Webhooks.",
                          thread="m1", user="bob", roles=("staff",))
    assert said.learned.entry == picked and said.learned.version == 2
    assert QUESTION in await asked_forms(core, picked)
    assert (QUESTION, picked) in await pairs(core, "pick")
    [record] = await wrong_answers(core)
    assert record["how"] == "corrected" and "withdrawn" not in record


async def test_staff_correcting_a_retired_pick_to_another_entry_withdraws_the_pick(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    core = chat.core
    _, picked = await picked_second(chat, monkeypatch, id="m1", user="u1")
    entry = await core.kb.get(picked)
    assert entry is not None
    await core.kb.retire(entry, by="alice", at=chat.now)
    said = await chat.say("Correction: webhooks are now called Automations, under Settings → Automations.",
                          thread="m1", user="bob", roles=("staff",))
    assert said.learned.entry != picked
    [record] = await wrong_answers(core)
    assert record["how"] == "corrected" and record["withdrawn"] == {"forms": [], "lessons": ["pick"]}
    rows = await core.db.fetchall("SELECT kind, withdrawn FROM lessons WHERE case_key = 'm1'")
    assert [(r["kind"], r["withdrawn"] is not None) for r in rows] == [("pick", True)]
