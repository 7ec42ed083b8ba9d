"""One pass over the event log: what it says about each case, and the counts
the scorecard needs. One method per kind of record (``storage.vocabulary``).

Cases belong to the period they were opened in; counts of things (replies,
cards, presses, redactions …) to the period they happened in.

With a ``channel``, only the cases asked there count (the message that opened
them was posted in it), with what is recorded about them; an event counts
where it was posted (or in the thread of such a case); knowledge and
conflicts stay the space's, and any other record about no such case is left out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from storage.eventlog import EventLog, Record
from storage.sql import Sql

# The fields of each kind of record that the tally and the figures read: all that
# ``learning.ledger`` keeps of a record. A figure that reads another field adds it
# here (``tests/learning/test_ledger.py`` checks the two modules against this list).
FIELDS: dict[str, tuple[str, ...]] = {
    "case": ("to", "user", "reason", "staff", "by", "entry", "fresh", "taught", "confirmed"),
    "decision": ("decision", "entry", "model", "candidates"),
    "action": ("type", "kind", "private_to", "owner", "next_step"),
    "card": ("with_journey",),
    "event": ("type", "channel", "thread", "user", "redactions"),
    "llm_redactions": ("count",),
    "feedback": ("value", "asker"),
    "repeat": ("earlier",),
    "learn": ("entry", "how"),
    "knowledge": ("entry", "what", "origin", "status", "review_after"),
    "conflict": ("a", "b", "status"),
    "promise_blocked": (), "private_move": (), "wrong_answer": (), "restated": (), "human_requested": (),
}
# Of a decision's candidates, the figures ask only whether each names its version.
CANDIDATE_FIELDS = ("version",)


class HasWindows(Protocol):
    """Anything that names the scorecard's windows (the policy settings do)."""

    @property
    def repeat_window_hours(self) -> float: ...
    @property
    def auto_resolve_hours(self) -> float: ...
    @property
    def owner_sla_minutes(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Windows:
    """The times the figures are judged by: a repeat within ``repeat_window_hours``
    is the same issue; silence for ``auto_resolve_hours`` ends a case; a named
    owner within ``owner_sla_minutes`` is on time. Defaults are the policy's."""

    repeat_window_hours: float = 72.0
    auto_resolve_hours: float = 48.0
    owner_sla_minutes: float = 60.0

    @classmethod
    def of(cls, policy: HasWindows) -> Windows:
        return cls(policy.repeat_window_hours, policy.auto_resolve_hours, policy.owner_sla_minutes)


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


@dataclass(slots=True)
class Tally:
    """Everything the figures are computed from, gathered record by record."""

    since: datetime | None = None
    until: datetime | None = None
    windows: Windows = field(default_factory=Windows)
    cases: dict[tuple[str, str], CaseLine] = field(default_factory=dict)
    replies: list[dict[str, Any]] = field(default_factory=list)
    cards: list[dict[str, Any]] = field(default_factory=list)
    decisions: defaultdict[tuple[str, str], list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list))
    counts: Counter[str] = field(default_factory=Counter)
    feedback: Counter[str] = field(default_factory=Counter)
    knowledge: dict[str, dict[str, Any]] = field(default_factory=dict)  # entry -> its latest change
    updates: Counter[str] = field(default_factory=Counter)  # "all", and "staff" of them
    learned: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # entry -> (taught, asker)
    taught_entries: set[str] = field(default_factory=set)
    wrong: set[tuple[str, str]] = field(default_factory=set)
    conflicts: dict[tuple[str, str], bool] = field(default_factory=dict)  # pair -> still open
    last_at: datetime | None = None
    space: str | None = None  # the space read (every space when None)
    channel: str | None = None
    asked_in: dict[tuple[str, str], str] = field(default_factory=dict)  # (space, event id) -> channel

    def in_period(self, at: datetime) -> bool:
        return (self.since is None or at >= self.since) and (self.until is None or at < self.until)

    def add(self, rec: Record) -> None:
        """Take one record into account; kinds no figure reads are passed over."""
        self.last_at = rec.at
        on = _ON.get(rec.kind)
        if on is None:
            return
        line = self._line(rec)
        if self.channel is None or self._in_channel(rec, line):
            on(self, rec, line)

    def _line(self, rec: Record) -> CaseLine | None:
        return self.cases.get((rec.space, rec.case)) if rec.case else None

    def _in_channel(self, rec: Record, line: CaseLine | None) -> bool:
        """Whether ``rec`` counts when only ``channel``'s cases do (see the module docstring)."""
        if rec.kind in ("knowledge", "conflict"):
            return True
        if rec.kind == "event":
            if rec.body.get("type") == "message":
                self.asked_in[(rec.space, rec.event_id or "")] = rec.body.get("channel", "")
            return rec.body.get("channel") == self.channel or (
                (rec.space, rec.body.get("thread") or "") in self.cases)
        if rec.kind == "case" and rec.body.get("to") == "opened" and line is None:
            return self.asked_in.get((rec.space, rec.event_id or "")) == self.channel
        return line is not None

    # -- one method per kind of record ---------------------------------------------

    def on_case(self, rec: Record, line: CaseLine | None) -> None:
        to = rec.body.get("to")
        key = (rec.space, rec.case) if rec.case else None
        if to == "opened" and key is not None and key not in self.cases:
            line = self.cases[key] = CaseLine(rec.case or "", rec.space, rec.body.get("user", ""),
                                              rec.at, self.in_period(rec.at), last_asker_at=rec.at)
        if line is None:
            return
        line.transitions.append((rec.at, to or "", rec.body))
        if to == "routed" and line.routed_at is None:
            line.routed_at = rec.at
        if to == "routed" and rec.body.get("reason") == "human_requested":
            line.human = True

    def on_decision(self, rec: Record, line: CaseLine | None) -> None:
        if line is None:
            return
        if line.first_decision is None:
            line.first_decision = rec.body.get("decision")
        self.decisions[(rec.space, rec.case or "")].append(rec.body)

    def on_action(self, rec: Record, line: CaseLine | None) -> None:
        body = rec.body
        if body.get("type") != "reply":
            return
        if self.in_period(rec.at):
            self.replies.append(body)
        # The first answer, hand-over or clarifying question to the asker; a
        # private notice (a secret warning, say) is no response to the question.
        if line is not None and line.first_reply_at is None and (
                body.get("kind") == "clarify" or not body.get("private_to")):
            line.first_reply_at = rec.at

    def on_card(self, rec: Record, line: CaseLine | None) -> None:
        if self.in_period(rec.at):
            self.cards.append(rec.body)

    def on_event(self, rec: Record, line: CaseLine | None) -> None:
        if self.in_period(rec.at):
            self.counts["redactions"] += int(rec.body.get("redactions") or 0)
        if rec.body.get("type") == "message":
            asked = self.cases.get((rec.space, rec.body.get("thread") or ""))
            if asked is not None and rec.body.get("user") == asked.user:
                asked.last_asker_at = rec.at

    def on_counted(self, rec: Record, line: CaseLine | None) -> None:
        """``promise_blocked`` and ``private_move``: counted in their period."""
        if self.in_period(rec.at):
            self.counts[rec.kind] += 1

    def on_llm_redactions(self, rec: Record, line: CaseLine | None) -> None:
        if self.in_period(rec.at):
            self.counts["redactions"] += int(rec.body.get("count") or 0)

    def on_feedback(self, rec: Record, line: CaseLine | None) -> None:
        value = rec.body.get("value")
        if self.in_period(rec.at) and rec.body.get("asker") and value in ("solved", "not_solved"):
            self.feedback[value] += 1

    def on_wrong_answer(self, rec: Record, line: CaseLine | None) -> None:
        if rec.case:
            self.wrong.add((rec.space, rec.case))

    def on_repeat(self, rec: Record, line: CaseLine | None) -> None:
        earlier = self.cases.get((rec.space, rec.body.get("earlier", "")))
        if earlier is not None and rec.at - earlier.opened_at <= timedelta(
                hours=self.windows.repeat_window_hours):
            earlier.repeated = True
        current = self.cases.get((rec.space, rec.event_id or ""))
        if current is not None:
            current.restated = True

    def on_restated(self, rec: Record, line: CaseLine | None) -> None:
        if line is not None:
            line.restated = True

    def on_human_requested(self, rec: Record, line: CaseLine | None) -> None:
        if line is not None:
            line.human = True

    def on_learn(self, rec: Record, line: CaseLine | None) -> None:
        entry = rec.body.get("entry", "")
        if rec.body.get("how") in ("new", "version"):
            self.taught_entries.add(entry)
            if self.in_period(rec.at):
                self.counts["entries_taught"] += 1
        if line is not None and line.learned_at is None:
            line.learned_at = rec.at
        if entry and entry not in self.learned:
            self.learned[entry] = (rec.at, line.user if line else "")

    def on_knowledge(self, rec: Record, line: CaseLine | None) -> None:
        self.knowledge[rec.body.get("entry", "")] = rec.body
        if rec.body.get("what") in ("created", "revised") and self.in_period(rec.at):
            self.updates["all"] += 1
            if rec.body.get("origin") in ("staff", "correction"):
                self.updates["staff"] += 1

    def on_conflict(self, rec: Record, line: CaseLine | None) -> None:
        self.conflicts[(rec.body.get("a", ""), rec.body.get("b", ""))] = rec.body.get("status") == "open"


_ON: dict[str, Callable[[Tally, Record, CaseLine | None], None]] = {
    "case": Tally.on_case,
    "decision": Tally.on_decision,
    "action": Tally.on_action,
    "card": Tally.on_card,
    "event": Tally.on_event,
    "promise_blocked": Tally.on_counted,
    "private_move": Tally.on_counted,
    "llm_redactions": Tally.on_llm_redactions,
    "feedback": Tally.on_feedback,
    "wrong_answer": Tally.on_wrong_answer,
    "repeat": Tally.on_repeat,
    "restated": Tally.on_restated,
    "human_requested": Tally.on_human_requested,
    "learn": Tally.on_learn,
    "knowledge": Tally.on_knowledge,
    "conflict": Tally.on_conflict,
}


async def tally(db: Sql, *, since: datetime | None = None, until: datetime | None = None,
                space: str | None = None, windows: Windows | None = None, channel: str | None = None) -> Tally:
    """Read the log of ``space`` (every space when ``None``) up to ``until``;
    ``channel``: only the cases asked there (the module docstring says what counts)."""
    counted = Tally(since, until, windows or Windows(), space=space, channel=channel)
    async for rec in EventLog(db).records(until=until, space=space):
        counted.add(rec)
    return counted
