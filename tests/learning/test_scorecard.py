"""The scorecard, computed from the event log of conversations we know."""

from __future__ import annotations

from datetime import timedelta

from learning.scorecard import Windows, compute
from tests.chat import START, Chat


async def card(chat: Chat, **kw: object) -> dict:  # type: ignore[type-arg]
    result = await compute(chat.core.db, windows=Windows.of(chat.core.settings.policy), **kw)  # type: ignore[arg-type]
    return {name: fig for name, fig in result.figures.items()}


async def test_an_empty_log_has_no_ratios_only_nulls(chat: Chat) -> None:
    figures = await card(chat)
    for name in ("task_success", "csat", "wrong_answer_rate", "abstention_rate", "escalation_success"):
        assert figures[name].value is None and figures[name].denominator == 0
    assert figures["time_to_resolve_p50"].value is None


async def test_resolution_trust_and_learning_for_a_small_day(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1", user="u1")
    await chat.say("thanks, that worked", thread="m1", user="u1")

    await chat.ask("does tidepool have a gantt chart view?", id="m2", user="u2")
    chat.later(minutes=10)
    await chat.staff("Not yet: a Timeline view is planned; use the Board view meanwhile.", card="card:m2")
    await chat.press("m2", "solved", user="u2")

    await chat.ask("how do I enable 2FA?", id="m3", user="u3")
    await chat.press("m3", "not_solved", user="u3")

    f = await card(chat)
    assert (f["task_success"].numerator, f["task_success"].denominator) == (2, 2)
    assert f["task_success_confirmed"].value == 1.0
    assert (f["first_contact_resolution"].numerator, f["first_contact_resolution"].denominator) == (1, 2)
    assert (f["escalation_success"].numerator, f["escalation_success"].denominator) == (1, 2)
    assert (f["owner_assignment_rate"].numerator, f["owner_assignment_rate"].denominator) == (1, 2)
    assert f["abstention_rate"].numerator == 1 and f["abstention_rate"].denominator == 3
    assert (f["wrong_answer_rate"].numerator, f["wrong_answer_rate"].denominator) == (1, 2)
    # m3 was reopened but never resolved: not a reopened one among the two resolved
    assert (f["reopen_rate"].numerator, f["reopen_rate"].denominator) == (0, 2)
    assert f["csat"].numerator == 1 and f["csat"].denominator == 2
    assert f["entries_taught"].value == 1
    assert f["time_to_knowledge_p50"].value == 601.0  # routed, then the staff answer 10 min 1 s later
    assert f["next_step_clarity"].value == 1.0
    assert f["handoffs_with_context"].value == 1.0
    assert f["evidence_coverage"].value == 1.0
    assert f["answers_from_fresh_sources"].value == 1.0
    assert f["time_to_first_response_p50"].value == 0.0


async def test_taught_knowledge_reused_by_someone_else_is_uplift(chat: Chat) -> None:
    await chat.ask("is there a dark theme in the app?", id="m1", user="u1")
    await chat.staff("Yes: Settings → Appearance → Theme → Dark.", card="card:m1")
    await chat.ask("is there a dark theme in this app?", id="m2", user="u2")
    await chat.say("thanks, that worked!", thread="m2", user="u2")
    f = await card(chat)
    assert f["taught_reuse"].value == 1
    assert (f["learning_uplift"].numerator, f["learning_uplift"].denominator) == (1, 1)


async def test_silence_after_an_answer_is_presumed_not_confirmed(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1")
    before = await card(chat)
    assert before["task_success"].denominator == 0, "not ended yet"
    await chat.tick(hours=49)
    after = await card(chat)
    assert (after["task_success"].numerator, after["task_success"].denominator) == (1, 1)
    assert after["task_success_confirmed"].numerator == 0


async def test_a_routed_case_nobody_answers_ends_unresolved(chat: Chat) -> None:
    await chat.ask("does tidepool have a gantt chart view?", id="m1")
    await chat.tick(hours=72)
    f = await card(chat)
    assert (f["task_success"].numerator, f["task_success"].denominator) == (0, 1)


async def test_repeats_and_requests_for_a_person(chat: Chat) -> None:
    await chat.ask("the tidepool widget is a blank square on my windows pc", id="m1", user="u1")
    await chat.press("m1", "human", user="u1")
    chat.later(hours=3)
    await chat.ask("the tidepool widget shows a blank square", id="m2", user="u1")
    f = await card(chat)
    assert f["human_request_rate"].numerator == 1
    assert f["repeat_contact_rate"].numerator == 1
    assert f["self_repeat_rate"].numerator == 1


async def test_the_period_and_space_filters(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1")
    chat.later(days=3)
    await chat.ask("how do I rotate my API key?", id="m2", user="u2", space="elsewhere")
    since = START + timedelta(days=1)
    f = await card(chat, since=since)
    assert f["abstention_rate"].denominator == 1
    only_default = await card(chat, space="default")
    assert only_default["abstention_rate"].denominator == 1


async def test_redactions_promises_and_private_moves_are_counted(chat: Chat) -> None:
    await chat.ask("my email is jo@example.com and my key sk-proj-abcdefghijklmnopqrstuvwx123456 leaked",
                   id="m1", user="u1")
    await chat.command("private", user="mod", roles=("moderator",), thread="m1")
    f = await card(chat)
    assert f["redactions"].value >= 2
    assert f["private_moves"].value == 1


async def test_reopen_rate_counts_reopened_cases_among_the_resolved(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1", user="u1")
    await chat.say("thanks, that worked", thread="m1", user="u1")  # resolved, never reopened
    await chat.ask("how do I enable 2FA?", id="m2", user="u2")
    await chat.press("m2", "not_solved", user="u2")  # reopened, never resolved
    f = await card(chat)
    assert (f["reopen_rate"].numerator, f["reopen_rate"].denominator) == (0, 1)

    await chat.ask("how do I enable 2FA?", id="m3", user="u3")
    await chat.press("m3", "not_solved", user="u3")
    await chat.staff("Settings → Security → Two-factor: scan the code with your app.", card="card:m3")
    await chat.press("m3", "solved", user="u3")  # reopened, then resolved
    f = await card(chat)
    assert (f["reopen_rate"].numerator, f["reopen_rate"].denominator) == (1, 2)
