"""The quality scorecard (``spec/scorecard.md``), from the event log alone.

One pass over the log rebuilds each case's timeline; every figure is then a
ratio with its numerator and denominator (``None`` when the denominator is
zero, never 0 or 100 %) or a count. Cases belong to the period they were
opened in; "now" is ``until`` or, without it, the time of the last record.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.settings import PolicySettings
from bot.storage.database import Database
from bot.storage.eventlog import EventLog, Record

SECTIONS: dict[str, tuple[str, ...]] = {
    "Resolution": ("task_success", "task_success_confirmed", "first_contact_resolution",
                   "repeat_contact_rate", "reopen_rate", "time_to_resolve_p50", "time_to_resolve_p90",
                   "escalation_success", "owner_assignment_rate", "next_step_clarity"),
    "Context": ("answers_from_fresh_sources", "stale_entries", "open_conflicts", "knowledge_updates",
                "handoffs_with_context"),
    "Trust": ("abstention_rate", "wrong_answer_rate", "promises_blocked", "private_moves", "redactions",
              "evidence_coverage"),
    "Learning": ("entries_taught", "taught_reuse", "learning_uplift", "time_to_knowledge_p50"),
    "Experience": ("human_request_rate", "self_repeat_rate", "time_to_first_response_p50", "csat"),
}


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: float | int | None
    numerator: float | int | None = None
    denominator: int | None = None
    unit: str = ""
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "numerator": self.numerator,
                               "denominator": self.denominator}
        if self.unit:
            out["unit"] = self.unit
        if self.note:
            out["note"] = self.note
        return out


@dataclass(slots=True)
class Scorecard:
    figures: dict[str, Figure]
    since: datetime | None
    until: datetime | None
    space: str | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: fig.as_json() for name, fig in self.figures.items()}
        out["period"] = {"since": self.since.isoformat() if self.since else None,
                         "until": self.until.isoformat() if self.until else None, "space": self.space}
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


@dataclass(slots=True)
class CaseLine:
    """What the log says happened to one case."""

    key: str
    space: str
    user: str
    opened_at: datetime
    in_period: bool
    transitions: list[tuple[datetime, str, dict[str, Any]]] = field(default_factory=list)
    first_decision: str | None = None
    first_reply_at: datetime | None = None
    last_asker_at: datetime | None = None
    routed_at: datetime | None = None
    human: bool = False
    restated: bool = False
    repeated: bool = False  # a later same-issue case followed
    learned_at: datetime | None = None


async def compute(
    db: Database,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    space: str | None = None,
    policy: PolicySettings | None = None,
    channel: str | None = None,
) -> Scorecard:
    """``channel``: only cases asked in that channel (and what happened in them);
    knowledge figures (stale entries, conflicts, updates) are the space's."""
    policy = policy or PolicySettings()
    log = EventLog(db)
    cases: dict[tuple[str, str], CaseLine] = {}
    replies: list[dict[str, Any]] = []
    cards: list[dict[str, Any]] = []
    decisions: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    feedback = {"solved": 0, "not_solved": 0}
    knowledge: dict[str, dict[str, Any]] = {}
    updates = {"all": 0, "staff": 0}
    learned: dict[str, tuple[datetime, str]] = {}  # entry -> (when taught, user asked)
    taught_entries: set[str] = set()
    wrong: set[tuple[str, str]] = set()
    conflicts: dict[tuple[str, str], bool] = {}
    last_at: datetime | None = None
    asked_in: dict[tuple[str, str], str] = {}

    def in_period(at: datetime) -> bool:
        return (since is None or at >= since) and (until is None or at < until)

    async for rec in log.records(until=until, space=space):
        last_at = rec.at
        key = (rec.space, rec.case) if rec.case else None
        line = cases.get(key) if key else None
        body = rec.body
        if channel is not None and line is None and rec.kind not in ("case", "event", "knowledge", "conflict"):
            continue  # not about a case asked in the chosen channel
        if rec.kind == "case":
            to = body.get("to")
            if channel is not None and asked_in.get((rec.space, rec.event_id or "")) != channel:
                pass  # asked elsewhere: not counted
            elif to == "opened" and key is not None and key not in cases:
                line = cases[key] = CaseLine(rec.case or "", rec.space, body.get("user", ""), rec.at,
                                             in_period(rec.at), last_asker_at=rec.at)
            if line is not None:
                line.transitions.append((rec.at, to or "", body))
                if to == "routed" and line.routed_at is None:
                    line.routed_at = rec.at
                if to == "routed" and body.get("reason") == "human_requested":
                    line.human = True
        elif rec.kind == "decision" and line is not None:
            if line.first_decision is None:
                line.first_decision = body.get("decision")
            decisions[(rec.space, rec.case or "")].append(body)
        elif rec.kind == "action":
            if body.get("type") == "reply" and in_period(rec.at):
                replies.append(body)
            if body.get("type") in ("reply",) and line is not None and body.get("kind") != "clarify" \
                    and line.first_reply_at is None and not body.get("private_to"):
                line.first_reply_at = rec.at
            if body.get("type") == "reply" and line is not None and body.get("kind") == "clarify" \
                    and line.first_reply_at is None:
                line.first_reply_at = rec.at
        elif rec.kind == "card" and in_period(rec.at):
            cards.append(body)
        elif rec.kind == "event":
            if channel is not None and body.get("type") == "message":
                asked_in[(rec.space, rec.event_id or "")] = body.get("channel", "")
                if body.get("channel") != channel and cases.get((rec.space, body.get("thread") or "")) is None:
                    continue
            if in_period(rec.at):
                counts["redactions"] += int(body.get("redactions") or 0)
            if body.get("type") == "message":
                thread_key = (rec.space, body.get("thread") or "")
                asked = cases.get(thread_key)
                if asked is not None and body.get("user") == asked.user:
                    asked.last_asker_at = rec.at
        elif rec.kind in ("promise_blocked", "private_move") and in_period(rec.at):
            counts[rec.kind] += 1
        elif rec.kind == "llm_redactions" and in_period(rec.at):
            counts["redactions"] += int(body.get("count") or 0)
        elif rec.kind == "feedback" and in_period(rec.at) and body.get("asker"):
            if body.get("value") in feedback:
                feedback[body["value"]] += 1
        elif rec.kind == "wrong_answer" and key is not None:
            wrong.add(key)
        elif rec.kind == "repeat":
            earlier = cases.get((rec.space, body.get("earlier", "")))
            if earlier is not None and rec.at - earlier.opened_at <= timedelta(hours=policy.repeat_window_hours):
                earlier.repeated = True
            current = cases.get((rec.space, rec.event_id or ""))
            if current is not None:
                current.restated = True
        elif rec.kind == "restated" and line is not None:
            line.restated = True
        elif rec.kind == "human_requested" and line is not None:
            line.human = True
        elif rec.kind == "learn":
            entry = body.get("entry", "")
            if body.get("how") in ("new", "version"):
                taught_entries.add(entry)
                if in_period(rec.at):
                    counts["entries_taught"] += 1
            if line is not None and line.learned_at is None:
                line.learned_at = rec.at
            if entry and entry not in learned:
                learned[entry] = (rec.at, line.user if line else "")
        elif rec.kind == "knowledge":
            entry = body.get("entry", "")
            knowledge[entry] = body
            if body.get("what") in ("created", "revised") and in_period(rec.at):
                updates["all"] += 1
                if body.get("origin") in ("staff", "correction"):
                    updates["staff"] += 1
        elif rec.kind == "conflict":
            conflicts[(body.get("a", ""), body.get("b", ""))] = body.get("status") == "open"

    now = until or last_at or datetime.now().astimezone()
    window = timedelta(hours=policy.auto_resolve_hours)
    sla = timedelta(minutes=policy.owner_sla_minutes)
    period = [c for c in cases.values() if c.in_period]

    ended = resolved = confirmed = fcr = reopened_cases = 0
    resolve_times: list[float] = []
    routed = escalated_ok = owned = 0
    questions = abstained = humans = restated = repeats = 0
    first_response: list[float] = []
    knowledge_times: list[float] = []
    bot_answers = fresh = wrong_n = evidence = taught_reuse = 0
    reused_ok: set[str] = set()
    for case in period:
        questions += 1
        outcome, at_resolved = settle(case, now, window)
        ever_reopened = any(t == "reopened" for _, t, _ in case.transitions)
        handed_off = case.routed_at is not None
        if outcome is not None:
            ended += 1
        if outcome in ("confirmed", "presumed"):
            resolved += 1
            confirmed += outcome == "confirmed"
            if at_resolved is not None:
                resolve_times.append((at_resolved - case.opened_at).total_seconds())
            if not ever_reopened and not case.repeated and not handed_off:
                fcr += 1
        reopened_cases += ever_reopened
        repeats += case.repeated
        humans += case.human
        restated += case.restated
        if case.first_decision in ("route", "clarify"):
            abstained += 1
        if case.first_reply_at is not None:
            first_response.append((case.first_reply_at - case.opened_at).total_seconds())
        if handed_off:
            routed += 1
            staff_answered = any(t in ("answered", "corrected") and b.get("staff")
                                 for _, t, b in case.transitions)
            if staff_answered and outcome in ("confirmed", "presumed"):
                escalated_ok += 1
            named = [at for at, t, b in case.transitions
                     if (t == "claimed" or (t in ("answered", "corrected") and b.get("staff")))]
            if named and named[0] - (case.routed_at or case.opened_at) <= sla:
                owned += 1
            if case.learned_at is not None and case.routed_at is not None:
                knowledge_times.append((case.learned_at - case.routed_at).total_seconds())
        for at, t, b in case.transitions:
            if t != "answered" or b.get("by", "bot") != "bot":
                continue
            bot_answers += 1
            fresh += bool(b.get("fresh", True))
            if b.get("taught"):
                taught_reuse += 1
            entry = b.get("entry", "")
            decision = next((d for d in decisions[(case.space, case.key)] if d.get("entry") == entry), None)
            if decision and decision.get("model") and decision.get("candidates") and all(
                    "version" in c for c in decision["candidates"]):
                evidence += 1
            taught_at = learned.get(entry)
            if taught_at and taught_at[0] <= at and taught_at[1] != case.user and outcome in ("confirmed", "presumed"):
                reused_ok.add(entry)
        wrong_n += (case.space, case.key) in wrong

    non_resolving = [r for r in replies if r.get("kind") in ("handoff", "clarify", "notice")]
    clear = [r for r in non_resolving if r.get("owner") and r.get("next_step")]
    today = now.date()
    stale = sum(1 for k in knowledge.values() if k.get("status") == "live" and _past(k.get("review_after"), today))
    open_conflicts = sum(1 for is_open in conflicts.values() if is_open)

    figures = [
        ratio("task_success", resolved, ended, "resolved (confirmed + presumed) ÷ ended cases"),
        ratio("task_success_confirmed", confirmed, ended, "confirmed ÷ ended cases"),
        ratio("first_contact_resolution", fcr, ended),
        ratio("repeat_contact_rate", repeats, questions),
        ratio("reopen_rate", reopened_cases, resolved),
        percentile("time_to_resolve_p50", resolve_times, 0.5),
        percentile("time_to_resolve_p90", resolve_times, 0.9),
        ratio("escalation_success", escalated_ok, routed),
        ratio("owner_assignment_rate", owned, routed, f"named owner within {policy.owner_sla_minutes:g} min"),
        ratio("next_step_clarity", len(clear), len(non_resolving)),
        ratio("answers_from_fresh_sources", fresh, bot_answers),
        count("stale_entries", stale),
        count("open_conflicts", open_conflicts),
        Figure("knowledge_updates", updates["all"], updates["staff"], updates["all"], "count",
               "numerator: from staff answers or corrections"),
        ratio("handoffs_with_context", sum(1 for c in cards if c.get("with_journey")), len(cards)),
        ratio("abstention_rate", abstained, questions),
        ratio("wrong_answer_rate", wrong_n, bot_answers),
        count("promises_blocked", counts["promise_blocked"]),
        count("private_moves", counts["private_move"]),
        count("redactions", counts["redactions"]),
        ratio("evidence_coverage", evidence, bot_answers),
        count("entries_taught", counts["entries_taught"]),
        count("taught_reuse", taught_reuse),
        ratio("learning_uplift", len(reused_ok & taught_entries), len(taught_entries)),
        percentile("time_to_knowledge_p50", knowledge_times, 0.5),
        ratio("human_request_rate", humans, questions),
        ratio("self_repeat_rate", restated, questions),
        percentile("time_to_first_response_p50", first_response, 0.5),
        ratio("csat", feedback["solved"], feedback["solved"] + feedback["not_solved"]),
    ]
    return Scorecard({f.name: f for f in figures}, since, until, space)


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


def _past(review_after: Any, today: date) -> bool:
    if not review_after:
        return False
    try:
        return date.fromisoformat(str(review_after)[:10]) < today
    except ValueError:
        return False


__all__ = ["SECTIONS", "Figure", "Record", "Scorecard", "compute"]
