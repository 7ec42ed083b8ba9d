"""The tally: one pass over the log, one method per kind of record."""

from __future__ import annotations

from bot.settings import PolicySettings
from learning.figures import Period
from learning.tally import _ON, Windows
from storage.vocabulary import LOG_KINDS
from tests.learning.records import DAY, answered, at, moved, rec, reply, tallied


def test_every_kind_the_tally_reads_is_a_kind_the_log_has() -> None:
    assert set(_ON) <= LOG_KINDS
    assert {"case", "decision", "action", "learn", "knowledge"} <= set(_ON)


def test_the_windows_default_to_the_policys() -> None:
    assert Windows() == Windows.of(PolicySettings())
    assert Windows.of(PolicySettings(auto_resolve_hours=2)).auto_resolve_hours == 2


def test_cases_belong_to_the_period_they_opened_in_and_counts_to_when_they_happened() -> None:
    counted = tallied(moved("c1", "opened", 0), rec("private_move", "c1", minutes=1),
                      moved("c2", "opened", 2 * DAY), rec("private_move", "c1", minutes=2 * DAY),
                      since=at(DAY))
    assert [(key, line.in_period) for key, line in counted.cases.items()] == [
        (("s", "c1"), False), (("s", "c2"), True)]
    assert counted.counts["private_move"] == 1


def test_records_about_unknown_cases_and_unread_kinds_change_nothing() -> None:
    counted = tallied(answered("ghost", 0), rec("decision", "ghost", decision="answer"),
                      rec("recap", user="u1"), rec("reminder", "ghost", minutes=1, card="card:ghost"))
    assert counted.cases == {} and counted.decisions == {}
    assert counted.last_at == at(1)


def test_the_asker_writing_again_keeps_a_case_from_being_presumed_solved() -> None:
    records = [moved("c1", "opened", 0), answered("c1", 1)]
    quiet = Period.of(tallied(*records), at(3 * DAY)).cases[0]
    asked = rec("event", minutes=2, type="message", thread="c1", user="u1")
    other = rec("event", minutes=2, type="message", thread="c1", user="someone else")
    back = Period.of(tallied(*records, asked), at(3 * DAY)).cases[0]
    bystander = Period.of(tallied(*records, other), at(3 * DAY)).cases[0]
    assert quiet.outcome == "presumed"
    assert back.outcome == "unresolved"  # they wrote after the answer, then nobody followed up
    assert bystander.outcome == "presumed"


def test_a_channel_counts_the_cases_asked_there_and_what_happened_in_them() -> None:
    records = [
        rec("event", event="c1", type="message", channel="help", user="u1", redactions=1),
        moved("c1", "opened", 0, event="c1"),
        rec("event", event="c2", minutes=1, type="message", channel="random", user="u2", redactions=2),
        moved("c2", "opened", 1, user="u2", event="c2"),
        reply("c1", 2, kind="handoff", owner="staff", next_step="they answer here"),
        reply("c2", 2, kind="handoff", owner="staff", next_step="they answer here"),
        rec("feedback", "c2", minutes=3, value="solved", asker=True),
        rec("knowledge", minutes=3, entry="k1", what="created", status="live"),
        rec("event", event="m3", minutes=5, type="message", channel="help", thread="c1", user="u1"),
        rec("private_move", minutes=6),  # about no case
    ]
    help_only = tallied(*records, channel="help")
    everything = tallied(*records)
    assert list(help_only.cases) == [("s", "c1")] and len(everything.cases) == 2
    assert len(help_only.replies) == 1 and len(everything.replies) == 2
    assert help_only.feedback["solved"] == 0 and everything.feedback["solved"] == 1
    assert help_only.counts["redactions"] == 1 and everything.counts["redactions"] == 3
    assert help_only.counts["private_move"] == 0 and everything.counts["private_move"] == 1
    assert "k1" in help_only.knowledge, "knowledge stays the space's"
    assert help_only.cases[("s", "c1")].last_asker_at == at(5)
    assert help_only.last_at == everything.last_at == at(6)
