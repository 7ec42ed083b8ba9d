"""The scorecard's figures (``spec/scorecard.md``), one small function each.

Every figure is a ratio with its numerator and denominator (``None`` when
the denominator is zero, never 0 or 100 %), a count, or a percentile of
seconds. Each reads a ``Period``: the tally of the log and how each of the
period's cases ended as of "now".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from learning.tally import CaseLine, Tally

RESOLVED = ("confirmed", "presumed")


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure. ``open``: for a figure over ended (or resolved) cases only, how
    many of the period's cases are still in progress and so not counted, so a
    rate of 1 / 1 is never read without the 30 questions still with staff.
    ``part``: what the numerator of a count with a denominator counts, in words."""

    name: str
    value: float | int | None
    numerator: float | int | None = None
    denominator: int | None = None
    unit: str = ""
    note: str = ""
    open: int | None = None
    part: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "numerator": self.numerator,
                               "denominator": self.denominator}
        if self.unit:
            out["unit"] = self.unit
        if self.note:
            out["note"] = self.note
        if self.open is not None:
            out["open"] = self.open
        return out


def ratio(name: str, num: int, den: int, note: str = "") -> Figure:
    return Figure(name, (num / den) if den else None, num, den, "ratio", note)


def count(name: str, value: int, note: str = "") -> Figure:
    return Figure(name, value, value, None, "count", note)


def percentile(name: str, values: list[float], q: float, note: str = "") -> Figure:
    if not values:
        return Figure(name, None, None, 0, "seconds", note)
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
    return Figure(name, round(value, 3), None, len(values), "seconds", note)


# -- how each case ended -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ended:
    """One case of the period and how it stands as of "now": ``outcome`` is
    confirmed, presumed, unresolved, or ``None`` while in progress."""

    line: CaseLine
    outcome: str | None
    resolved_at: datetime | None
    answers: tuple[tuple[datetime, dict[str, Any]], ...] = ()  # the bot's, read once (figures ask often)
    reopened: bool = False

    @classmethod
    def of(cls, line: CaseLine, now: datetime, window: timedelta) -> Ended:
        answers = tuple((at, body) for at, to, body in line.transitions
                        if to == "answered" and body.get("by", "bot") == "bot")
        return cls(line, *settle(line, now, window), answers,
                   any(to == "reopened" for _, to, _ in line.transitions))

    @property
    def resolved(self) -> bool:
        return self.outcome in RESOLVED

    @property
    def handed_off(self) -> bool:
        return self.line.routed_at is not None

    def staff_answers(self) -> Iterator[datetime]:
        """When staff answered or corrected it."""
        return (at for at, to, body in self.line.transitions
                if to in ("answered", "corrected") and body.get("staff"))

    def bot_answers(self) -> tuple[tuple[datetime, dict[str, Any]], ...]:
        """(when, the ``answered`` record's body) of every answer the bot gave."""
        return self.answers


def settle(case: CaseLine, now: datetime, window: timedelta) -> tuple[str | None, datetime | None]:
    """How the case ended as of ``now``: confirmed, presumed, unresolved, or
    ``None`` while it is still in progress. Also when it was resolved."""
    state, state_at, answered_at = "open", case.opened_at, None
    for at, to, body in case.transitions:
        if to in ("answered", "corrected"):
            state, state_at, answered_at = "answered", at, at
        elif to == "resolved":
            state, state_at = ("confirmed" if body.get("confirmed") else "presumed"), at
        elif to in ("routed", "reopened", "clarified", "closed"):
            state, state_at = to, at
    if state == "confirmed":
        return "confirmed", state_at
    if state == "presumed":
        return "presumed", answered_at or state_at
    if state == "closed":
        return "unresolved", None
    quiet_since = max(state_at, case.last_asker_at or state_at)
    if state == "answered":
        asker_silent = case.last_asker_at is None or case.last_asker_at <= state_at
        if asker_silent and now - state_at >= window and not case.repeated:
            return "presumed", answered_at
        if now - quiet_since >= window:
            return "unresolved", None
        return None, None
    if now - quiet_since >= window:
        return "unresolved", None  # abandoned: nobody got it to a result
    return None, None


@dataclass(frozen=True, slots=True)
class Period:
    """The tally, and the period's cases as they stand at ``now``."""

    tally: Tally
    cases: tuple[Ended, ...]
    now: datetime

    @classmethod
    def of(cls, tally: Tally, now: datetime) -> Period:
        window = timedelta(hours=tally.windows.auto_resolve_hours)
        ended = tuple(Ended.of(line, now, window) for line in tally.cases.values() if line.in_period)
        return cls(tally, ended, now)

    def number(self, test: Callable[[Ended], bool]) -> int:
        return sum(1 for case in self.cases if test(case))

    @property
    def still_open(self) -> int:
        """The period's cases still in progress: left out of figures over ended cases."""
        return self.number(lambda c: c.outcome is None)

    def with_open(self, figure: Figure) -> Figure:
        """``figure``, which counts ended cases only, with how many are still open."""
        return replace(figure, open=self.still_open)


# -- 1 Resolution ------------------------------------------------------------------


def task_success(p: Period) -> Figure:
    return p.with_open(ratio("task_success", p.number(lambda c: c.resolved), p.number(lambda c: c.outcome is not None),
                 "resolved (confirmed + presumed) ÷ ended cases"))


def task_success_confirmed(p: Period) -> Figure:
    return p.with_open(ratio("task_success_confirmed", p.number(lambda c: c.outcome == "confirmed"),
                             p.number(lambda c: c.outcome is not None), "confirmed ÷ ended cases"))


def first_contact_resolution(p: Period) -> Figure:
    first = p.number(lambda c: c.resolved and not c.reopened and not c.line.repeated and not c.handed_off)
    return p.with_open(ratio("first_contact_resolution", first, p.number(lambda c: c.outcome is not None)))


def repeat_contact_rate(p: Period) -> Figure:
    return ratio("repeat_contact_rate", p.number(lambda c: c.line.repeated), len(p.cases))


def reopen_rate(p: Period) -> Figure:
    """Resolved cases that had been reopened on the way, of the resolved cases."""
    return p.with_open(ratio("reopen_rate", p.number(lambda c: c.resolved and c.reopened),
                             p.number(lambda c: c.resolved)))


def _resolve_seconds(p: Period) -> list[float]:
    return [(c.resolved_at - c.line.opened_at).total_seconds()
            for c in p.cases if c.resolved and c.resolved_at is not None]


def time_to_resolve_p50(p: Period) -> Figure:
    return p.with_open(percentile("time_to_resolve_p50", _resolve_seconds(p), 0.5))


def time_to_resolve_p90(p: Period) -> Figure:
    return p.with_open(percentile("time_to_resolve_p90", _resolve_seconds(p), 0.9))


def escalation_success(p: Period) -> Figure:
    ok = p.number(lambda c: c.handed_off and c.resolved and any(c.staff_answers()))
    return ratio("escalation_success", ok, p.number(lambda c: c.handed_off))


def owner_assignment_rate(p: Period) -> Figure:
    sla = timedelta(minutes=p.tally.windows.owner_sla_minutes)

    def on_time(case: Ended) -> bool:
        named = [at for at, to, body in case.line.transitions
                 if to == "claimed" or (to in ("answered", "corrected") and body.get("staff"))]
        return bool(named) and named[0] - (case.line.routed_at or case.line.opened_at) <= sla

    return ratio("owner_assignment_rate", p.number(lambda c: c.handed_off and on_time(c)),
                 p.number(lambda c: c.handed_off),
                 f"named owner within {p.tally.windows.owner_sla_minutes:g} min")


def next_step_clarity(p: Period) -> Figure:
    non_resolving = [r for r in p.tally.replies if r.get("kind") in ("handoff", "clarify", "notice")]
    clear = [r for r in non_resolving if r.get("owner") and r.get("next_step")]
    return ratio("next_step_clarity", len(clear), len(non_resolving))


# -- 2 Context -----------------------------------------------------------------------


def answers_from_fresh_sources(p: Period) -> Figure:
    answers = [body for c in p.cases for _, body in c.bot_answers()]
    return ratio("answers_from_fresh_sources", sum(1 for b in answers if b.get("fresh", True)), len(answers))


def stale_entries(p: Period) -> Figure:
    today = p.now.date()
    return count("stale_entries", sum(1 for k in p.tally.knowledge.values()
                                      if k.get("status") == "live" and _past(k.get("review_after"), today)))


def open_conflicts(p: Period) -> Figure:
    return count("open_conflicts", sum(1 for is_open in p.tally.conflicts.values() if is_open))


def knowledge_updates(p: Period) -> Figure:
    updates = p.tally.updates
    return Figure("knowledge_updates", updates["all"], updates["staff"], updates["all"], "count",
                  "numerator: from staff answers or corrections", part="from staff")


def handoffs_with_context(p: Period) -> Figure:
    cards = p.tally.cards
    return ratio("handoffs_with_context", sum(1 for c in cards if c.get("with_journey")), len(cards))


# -- 3 Trust ---------------------------------------------------------------------------


def abstention_rate(p: Period) -> Figure:
    return ratio("abstention_rate", p.number(lambda c: c.line.first_decision in ("route", "clarify")),
                 len(p.cases))


def wrong_answer_rate(p: Period) -> Figure:
    wrong = p.number(lambda c: (c.line.space, c.line.key) in p.tally.wrong)
    return ratio("wrong_answer_rate", wrong, _bot_answer_count(p))


def promises_blocked(p: Period) -> Figure:
    return count("promises_blocked", p.tally.counts["promise_blocked"])


def private_moves(p: Period) -> Figure:
    return count("private_moves", p.tally.counts["private_move"])


def redactions(p: Period) -> Figure:
    return count("redactions", p.tally.counts["redactions"])


def evidence_coverage(p: Period) -> Figure:
    """Bot answers whose decision names the model and every weighed entry's version."""
    def complete(case: Ended, entry: str) -> bool:
        decisions = p.tally.decisions[(case.line.space, case.line.key)]
        decision = next((d for d in decisions if d.get("entry") == entry), None)
        return bool(decision and decision.get("model") and decision.get("candidates")
                    and all("version" in c for c in decision["candidates"]))

    covered = sum(1 for c in p.cases for _, body in c.bot_answers() if complete(c, body.get("entry", "")))
    return ratio("evidence_coverage", covered, _bot_answer_count(p))


def _bot_answer_count(p: Period) -> int:
    return sum(len(c.answers) for c in p.cases)


# -- 4 Learning -----------------------------------------------------------------------


def entries_taught(p: Period) -> Figure:
    return count("entries_taught", p.tally.counts["entries_taught"])


def taught_reuse(p: Period) -> Figure:
    return count("taught_reuse", sum(1 for c in p.cases for _, body in c.bot_answers() if body.get("taught")))


def learning_uplift(p: Period) -> Figure:
    """Taught entries that later answered someone else, whose case resolved."""
    reused: set[str] = set()
    for case in p.cases:
        for at, body in case.bot_answers():
            entry = body.get("entry", "")
            taught = p.tally.learned.get(entry)
            if taught and taught[0] <= at and taught[1] != case.line.user and case.resolved:
                reused.add(entry)
    taught_entries = p.tally.taught_entries
    return ratio("learning_uplift", len(reused & taught_entries), len(taught_entries))


def time_to_knowledge_p50(p: Period) -> Figure:
    seconds = [(c.line.learned_at - c.line.routed_at).total_seconds() for c in p.cases
               if c.line.learned_at is not None and c.line.routed_at is not None]
    return percentile("time_to_knowledge_p50", seconds, 0.5)


# -- 5 Experience ----------------------------------------------------------------------


def human_request_rate(p: Period) -> Figure:
    return ratio("human_request_rate", p.number(lambda c: c.line.human), len(p.cases))


def self_repeat_rate(p: Period) -> Figure:
    return ratio("self_repeat_rate", p.number(lambda c: c.line.restated), len(p.cases))


def time_to_first_response_p50(p: Period) -> Figure:
    seconds = [(c.line.first_reply_at - c.line.opened_at).total_seconds()
               for c in p.cases if c.line.first_reply_at is not None]
    return percentile("time_to_first_response_p50", seconds, 0.5)


def csat(p: Period) -> Figure:
    pressed = p.tally.feedback
    return ratio("csat", pressed["solved"], pressed["solved"] + pressed["not_solved"])


FIGURES: Sequence[Callable[[Period], Figure]] = (
    task_success, task_success_confirmed, first_contact_resolution, repeat_contact_rate, reopen_rate,
    time_to_resolve_p50, time_to_resolve_p90, escalation_success, owner_assignment_rate,
    next_step_clarity, answers_from_fresh_sources, stale_entries, open_conflicts, knowledge_updates,
    handoffs_with_context, abstention_rate, wrong_answer_rate, promises_blocked, private_moves,
    redactions, evidence_coverage, entries_taught, taught_reuse, learning_uplift,
    time_to_knowledge_p50, human_request_rate, self_repeat_rate, time_to_first_response_p50, csat,
)


def _past(review_after: Any, today: date) -> bool:
    if not review_after:
        return False
    try:
        return date.fromisoformat(str(review_after)[:10]) < today
    except ValueError:
        return False
