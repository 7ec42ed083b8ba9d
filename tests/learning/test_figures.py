"""Each figure of the scorecard on a handful of records (``spec/scorecard.md``)."""

from __future__ import annotations

from learning import figures as fig
from learning.figures import Figure
from storage.eventlog import Record
from tests.learning.records import DAY, answered, moved, period, rec, reply

LATER = 3 * DAY  # past the 48 h window


def basis(figure: Figure) -> tuple[float | int | None, int | None]:
    return figure.numerator, figure.denominator


def solved(case: str, minutes: float, user: str = "u1") -> list[Record]:
    """Opened, answered by the bot, confirmed solved."""
    return [moved(case, "opened", minutes, user), answered(case, minutes + 1, user=user),
            moved(case, "resolved", minutes + 2, user, confirmed=True)]


# -- Resolution -------------------------------------------------------------------


def test_task_success_counts_resolved_of_ended_and_confirmed_apart() -> None:
    p = period(*solved("c1", 0),
               moved("c2", "opened", 0), answered("c2", 1),  # silent for 3 days: presumed
               moved("c3", "opened", 0), moved("c3", "routed", 1, reason="low_confidence"),  # abandoned
               moved("c4", "opened", LATER - 5),  # still in progress
               now=LATER)
    assert basis(fig.task_success(p)) == (2, 3)
    assert basis(fig.task_success_confirmed(p)) == (1, 3)


def test_first_contact_resolution_excludes_hand_offs_reopens_and_repeats() -> None:
    p = period(*solved("c1", 0),
               moved("c2", "opened", 0), moved("c2", "routed", 1, reason="low_confidence"),
               answered("c2", 5, by="alice", staff=True), moved("c2", "resolved", 6, confirmed=True),
               moved("c3", "opened", 0), answered("c3", 1), moved("c3", "reopened", 2, why="x"),
               answered("c3", 3), moved("c3", "resolved", 4, confirmed=True))
    assert basis(fig.first_contact_resolution(p)) == (1, 3)


def test_repeat_contact_rate_counts_cases_followed_by_the_same_issue_within_the_window() -> None:
    p = period(moved("c1", "opened", 0), moved("c2", "opened", 60),
               rec("repeat", "c1", minutes=60, event="c2", earlier="c1"),
               moved("c3", "opened", 0), moved("c4", "opened", 4 * DAY),
               rec("repeat", "c3", minutes=4 * DAY, event="c4", earlier="c3"))  # too late to count
    assert basis(fig.repeat_contact_rate(p)) == (1, 4)


def test_reopen_rate_counts_reopened_cases_among_the_resolved_only() -> None:
    p = period(*solved("c1", 0),
               moved("c2", "opened", 0), answered("c2", 1), moved("c2", "reopened", 2, why="not solved"),
               moved("c3", "opened", 0), answered("c3", 1), moved("c3", "reopened", 2, why="not solved"),
               answered("c3", 3, by="alice", staff=True), moved("c3", "resolved", 4, confirmed=True),
               now=10)
    assert basis(fig.reopen_rate(p)) == (1, 2)


def test_time_to_resolve_from_open_to_resolution() -> None:
    p = period(*solved("c1", 0), *solved("c2", 10), *solved("c3", 20),
               moved("c4", "opened", 0), answered("c4", 30),  # presumed: resolved when answered
               now=LATER)
    assert fig.time_to_resolve_p50(p).value == 120.0
    assert fig.time_to_resolve_p90(p).value == 1296.0  # 120 + 0.7 × (1800 − 120)
    assert fig.time_to_resolve_p50(p).denominator == 4


def test_escalation_success_is_routed_cases_staff_answered_that_resolved() -> None:
    p = period(moved("c1", "opened", 0), moved("c1", "routed", 1, reason="low_confidence"),
               answered("c1", 5, by="alice", staff=True), moved("c1", "resolved", 6, confirmed=True),
               moved("c2", "opened", 0), moved("c2", "routed", 1, reason="low_confidence"),
               answered("c2", 5, by="alice", staff=True),
               *solved("c3", 0), now=10)
    assert basis(fig.escalation_success(p)) == (1, 2)


def test_owner_assignment_rate_is_a_named_owner_within_the_sla() -> None:
    p = period(moved("c1", "opened", 0), moved("c1", "routed", 1, reason="low_confidence"),
               moved("c1", "claimed", 30, by="alice"),
               moved("c2", "opened", 0), moved("c2", "routed", 1, reason="low_confidence"),
               answered("c2", 120, by="bob", staff=True),  # after the hour
               moved("c3", "opened", 0), moved("c3", "routed", 1, reason="low_confidence"))
    assert basis(fig.owner_assignment_rate(p)) == (1, 3)


def test_next_step_clarity_is_non_resolving_replies_naming_owner_and_next_step() -> None:
    p = period(moved("c1", "opened", 0),
               reply("c1", 1, "handoff", owner="staff", next_step="a person replies"),
               reply("c1", 2, "notice", owner="staff"),
               reply("c1", 3, "answer"))
    assert basis(fig.next_step_clarity(p)) == (1, 2)


# -- Context ---------------------------------------------------------------------------


def test_answers_from_fresh_sources_counts_bot_answers_only() -> None:
    p = period(moved("c1", "opened", 0), answered("c1", 1, fresh=True),
               moved("c2", "opened", 0), answered("c2", 1, fresh=False),
               moved("c3", "opened", 0), answered("c3", 1, by="alice", staff=True))
    assert basis(fig.answers_from_fresh_sources(p)) == (1, 2)


def test_stale_entries_and_open_conflicts_as_they_stand_now() -> None:
    p = period(rec("knowledge", entry="k1", what="created", status="live", review_after="2026-03-01"),
               rec("knowledge", entry="k2", what="created", status="live", review_after="2026-04-01"),
               rec("knowledge", entry="k3", what="created", status="live", review_after="2026-01-01"),
               rec("knowledge", entry="k3", what="retired", status="retired", review_after="2026-01-01"),
               rec("conflict", a="k1", b="k2", status="open"),
               rec("conflict", a="k1", b="k4", status="open"),
               rec("conflict", a="k1", b="k4", status="settled"))
    assert fig.stale_entries(p).value == 1
    assert fig.open_conflicts(p).value == 1


def test_knowledge_updates_and_the_share_from_staff() -> None:
    p = period(rec("knowledge", entry="k1", what="created", origin="import"),
               rec("knowledge", entry="k2", what="created", origin="staff"),
               rec("knowledge", entry="k1", what="revised", origin="correction"),
               rec("knowledge", entry="k2", what="retired", origin="staff"))
    assert basis(fig.knowledge_updates(p)) == (2, 3)


def test_handoffs_with_context() -> None:
    p = period(rec("card", "c1", card="card:c1", with_journey=True),
               rec("card", "c2", card="card:c2", with_journey=False))
    assert basis(fig.handoffs_with_context(p)) == (1, 2)


# -- Trust ---------------------------------------------------------------------------------


def test_abstention_rate_reads_the_first_decision() -> None:
    p = period(moved("c1", "opened", 0), rec("decision", "c1", minutes=1, decision="route"),
               moved("c2", "opened", 0), rec("decision", "c2", minutes=1, decision="clarify"),
               rec("decision", "c2", minutes=2, decision="answer"),
               moved("c3", "opened", 0), rec("decision", "c3", minutes=1, decision="answer"))
    assert basis(fig.abstention_rate(p)) == (2, 3)


def test_wrong_answer_rate_is_cases_marked_wrong_of_bot_answers() -> None:
    p = period(moved("c1", "opened", 0), answered("c1", 1), rec("wrong_answer", "c1", minutes=2),
               moved("c2", "opened", 0), answered("c2", 1))
    assert basis(fig.wrong_answer_rate(p)) == (1, 2)


def test_counts_of_promises_private_moves_and_redactions_in_the_period() -> None:
    p = period(rec("promise_blocked", "c1"), rec("private_move", "c1"), rec("private_move", "c2"),
               rec("event", redactions=2, type="message"), rec("llm_redactions", "c1", count=3))
    assert fig.promises_blocked(p).value == 1
    assert fig.private_moves(p).value == 2
    assert fig.redactions(p).value == 5


def test_evidence_coverage_needs_the_model_and_every_version() -> None:
    full = {"entry": "k1", "model": "minilm", "candidates": [{"entry": "k1", "version": 1}]}
    p = period(moved("c1", "opened", 0), rec("decision", "c1", minutes=1, decision="answer", **full),
               answered("c1", 1),
               moved("c2", "opened", 0), rec("decision", "c2", minutes=1, decision="answer", entry="k1",
                                             model="minilm", candidates=[{"entry": "k1"}]),
               answered("c2", 1))
    assert basis(fig.evidence_coverage(p)) == (1, 2)


# -- Learning ---------------------------------------------------------------------------


def taught_then_reused(resolve: bool) -> list[Record]:
    records = [moved("c1", "opened", 0, "u1"), moved("c1", "routed", 1, "u1", reason="low_confidence"),
               rec("learn", "c1", minutes=11, entry="k9", how="new"),
               answered("c1", 11, entry="k9", by="alice", staff=True),
               moved("c2", "opened", 20, "u2"), answered("c2", 21, user="u2", entry="k9", taught=True)]
    if resolve:
        records.append(moved("c2", "resolved", 22, "u2", confirmed=True))
    return records


def test_entries_taught_and_taught_reuse() -> None:
    p = period(*taught_then_reused(resolve=False), rec("learn", "c3", entry="k1", how="form"))
    assert fig.entries_taught(p).value == 1
    assert fig.taught_reuse(p).value == 1


def test_learning_uplift_needs_someone_else_answered_and_resolved() -> None:
    assert basis(fig.learning_uplift(period(*taught_then_reused(resolve=True)))) == (1, 1)
    assert basis(fig.learning_uplift(period(*taught_then_reused(resolve=False)))) == (0, 1)


def test_time_to_knowledge_is_route_to_the_lesson() -> None:
    p = period(*taught_then_reused(resolve=True))
    assert (fig.time_to_knowledge_p50(p).value, fig.time_to_knowledge_p50(p).denominator) == (600.0, 1)


# -- Experience -------------------------------------------------------------------------------


def test_human_requests_by_button_words_or_route_reason() -> None:
    p = period(moved("c1", "opened", 0), rec("human_requested", "c1", how="button"),
               moved("c2", "opened", 0), moved("c2", "routed", 1, reason="human_requested"),
               moved("c3", "opened", 0), moved("c3", "routed", 1, reason="low_confidence"))
    assert basis(fig.human_request_rate(p)) == (2, 3)


def test_self_repeat_rate_counts_restatements_and_repeated_questions() -> None:
    p = period(moved("c1", "opened", 0), rec("restated", "c1", minutes=1, similarity=0.9),
               moved("c2", "opened", 0), moved("c3", "opened", 30),
               rec("repeat", "c2", minutes=30, event="c3", earlier="c2"),
               moved("c4", "opened", 0))
    assert basis(fig.self_repeat_rate(p)) == (2, 4)


def test_time_to_first_response_skips_private_notices() -> None:
    p = period(moved("c1", "opened", 0), reply("c1", 1, "notice", private_to="u1"),
               reply("c1", 2, "answer"),
               moved("c2", "opened", 0), reply("c2", 4, "clarify", private_to="u1"))
    assert fig.time_to_first_response_p50(p).value == 180.0


def test_csat_counts_the_askers_presses_only() -> None:
    p = period(rec("feedback", "c1", value="solved", asker=True),
               rec("feedback", "c2", value="not_solved", asker=True),
               rec("feedback", "c2", value="solved", asker=False),
               rec("feedback", "c3", value="human", asker=True))
    assert basis(fig.csat(p)) == (1, 2)


def test_an_empty_period_has_nulls_not_zeros() -> None:
    p = period(rec("event", type="tick"))
    for figure in fig.FIGURES:
        result = figure(p)
        assert result.unit == "count" or result.value is None, result.name


def test_every_figure_of_the_spec_has_its_function_once() -> None:
    from learning.scorecard import SECTIONS

    names = [figure(period(rec("event", type="tick"))).name for figure in fig.FIGURES]
    assert names == [name for section in SECTIONS.values() for name in section]


# -- presentation: open cases beside rates over ended cases, counts in words --------------


def test_rates_over_ended_cases_carry_how_many_are_still_open() -> None:
    p = period(*solved("c1", 0),
               *[r for n in range(2, 32) for r in (moved(f"c{n}", "opened", 5),
                                                   moved(f"c{n}", "routed", 6, reason="low_confidence"))],
               now=60)  # 30 questions still with staff
    for name in ("task_success", "task_success_confirmed", "first_contact_resolution", "reopen_rate",
                 "time_to_resolve_p50", "time_to_resolve_p90"):
        figure = getattr(fig, name)(p)
        assert figure.open == 30, name
        assert figure.as_json()["open"] == 30, name
    assert basis(fig.task_success(p)) == (1, 1)
    assert fig.abstention_rate(p).open is None  # over every case: nothing left out
    assert "open" not in fig.abstention_rate(p).as_json()


def test_the_table_shows_open_cases_and_says_what_a_part_of_a_count_is() -> None:
    from rich.console import Console

    from learning.report import render_table
    from learning.scorecard import SECTIONS, Scorecard

    p = period(*solved("c1", 0),
               *[r for n in range(2, 32) for r in (moved(f"c{n}", "opened", 5),
                                                   moved(f"c{n}", "routed", 6, reason="low_confidence"))],
               rec("knowledge", None, minutes=1, what="created", entry="k1", version=1, origin="import"),
               rec("knowledge", None, minutes=2, what="created", entry="k2", version=1, origin="staff"),
               now=60)
    figures = {f.__name__: f(p) for f in fig.FIGURES}
    console = Console(record=True, width=160)
    render_table(Scorecard(figures, None, None, None), console)
    rows = {line.split("│")[2].strip(): line for line in console.export_text().splitlines()
            if line.count("│") >= 4 and line.split("│")[2].strip() in {n for ns in SECTIONS.values() for n in ns}}
    assert "1 / 1" in rows["task_success"] and "30 still open" in rows["task_success"]
    assert "still open" not in rows["abstention_rate"]
    assert "1 of 2 from staff" in rows["knowledge_updates"]
