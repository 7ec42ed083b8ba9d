"""The tally: one pass over the log, one method per kind of record."""

from __future__ import annotations

from bot.settings import PolicySettings
from learning.figures import Period
from learning.tally import _ON, Windows
from storage.vocabulary import LOG_KINDS
from tests.learning.records import DAY, answered, at, moved, rec, tallied


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
