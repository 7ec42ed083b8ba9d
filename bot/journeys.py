"""Journeys: each person's working memory, carried to every hand-off.

What they told us (their setup, what they tried, the errors they saw), their
cases and how each ended, where they are stuck, and what we told or
promised them. Stored per (space, user), so one space never reads another's.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from pydantic import TypeAdapter

from storage.contract import JourneyRepository
from storage.journeys import JourneyRows
from storage.sql import Sql, Transactions

MAX_FACTS = 30
MAX_CASES = 30
MAX_TOLD = 20

FactKind = Literal["setup", "tried", "error", "said"]


@dataclass(frozen=True, slots=True)
class Fact:
    kind: FactKind
    text: str
    case: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CaseNote:
    case: str
    question: str
    opened_at: datetime
    status: str
    outcome: str | None = None
    stuck: str | None = None


@dataclass(frozen=True, slots=True)
class Told:
    case: str
    what: str
    at: datetime
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Journey:
    space: str
    user: str
    user_name: str | None = None
    facts: tuple[Fact, ...] = ()
    cases: tuple[CaseNote, ...] = ()
    told: tuple[Told, ...] = ()

    def with_case(self, note: CaseNote) -> Journey:
        others = tuple(c for c in self.cases if c.case != note.case)
        return replace(self, cases=(*others, note)[-MAX_CASES:])

    def case_note(self, key: str) -> CaseNote | None:
        return next((c for c in self.cases if c.case == key), None)

    def update_case(self, key: str, **changes: object) -> Journey:
        note = self.case_note(key)
        if note is None:
            return self
        return self.with_case(replace(note, **changes))  # type: ignore[arg-type]

    def learn_facts(self, text: str, case: str, at: datetime) -> Journey:
        known = {f.text.casefold() for f in self.facts}
        fresh = [f for f in extract_facts(text, case, at) if f.text.casefold() not in known]
        if not fresh:
            return self
        return replace(self, facts=(*self.facts, *fresh)[-MAX_FACTS:])

    def tell(self, case: str, what: str, at: datetime, source: str | None = None) -> Journey:
        return replace(self, told=(*self.told, Told(case, what, at, source))[-MAX_TOLD:])


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_TRIED = re.compile(
    r"\b(i|we)\s*(have|'ve|already|also)?\s*(tried|restarted|reinstalled|rebooted|cleared|updated|"
    r"upgraded|reset|checked|disabled|enabled|removed|deleted|followed|ran|re-?installed)\b",
    re.IGNORECASE,
)
_ERROR = re.compile(
    r"\b(error|exception|traceback|failed|failure|errno|status code|code \d{3}|\d{3} (error|response)|"
    r"crash(es|ed)?|timed? ?out)\b",
    re.IGNORECASE,
)
_SETUP = re.compile(
    r"\b(i'?m|i am|we'?re|we are|i use|we use|using|running|on)\s+(on\s+)?"
    r"(windows|mac ?os|macos|linux|ubuntu|debian|android|ios|iphone|ipad|chrome|firefox|safari|"
    r"edge|version|v?\d+(\.\d+)+|the (free|pro|team|business|enterprise) (plan|tier))",
    re.IGNORECASE,
)
# A question, asked with or without its question mark: an interrogative word
# that goes on to ask ("how do I …", "which plan do I need …", "how to …"), or
# an auxiliary verb followed by who or what it asks about ("can I …", "does
# the app …", "is there …"). "I tried …" or "Did a reinstall" is no question.
_ASKS = re.compile(
    r"^(?:(?:how|what|why|when|where|which|who|whom|whose)\b(?:\W+\w+){0,3}?\W+"
    r"(?:to|do|does|did|is|are|was|were|can|could|would|will|should|shall|may|might|has|have|i|we)\b"
    r"|(?:can|could|would|will|should|shall|may|might|must|do|does|did|is|are|was|were|has|have|am)"
    r"(?:n'?t)?\s+(?:i|you|we|it|they|he|she|there|this|that|these|those|the|my|our|your|any|anyone|"
    r"anybody|someone|somebody)\b)",
    re.IGNORECASE,
)
# Where a statement turns into a question in the same sentence ("I'm on Windows 11, how do I …").
_CLAUSE = re.compile(r"\s*(?:[,;:]|\s-\s|\b(?:but|and|so)\b)\s*", re.IGNORECASE)


def is_question(text: str) -> bool:
    """Does ``text`` ask something (with or without its question mark)?"""
    text = text.strip().strip("\"'“”‘’(")
    return text.endswith("?") or _ASKS.match(text) is not None


def stated_part(sentence: str) -> str:
    """The sentence up to where it starts asking: a question is never a fact."""
    if is_question(sentence):
        return ""
    for clause in _CLAUSE.finditer(sentence):
        if is_question(sentence[clause.end():]):
            return sentence[: clause.start()].strip()
    return sentence


def extract_facts(text: str, case: str, at: datetime) -> list[Fact]:
    """Statements worth not asking again: setup, attempts, errors.

    Questions are not facts, with or without their question mark, nor is the
    question a statement turns into ("I'm on Windows 11, how do I export"
    keeps "I'm on Windows 11"). Sentences are kept verbatim (already redacted
    by the caller) and short, so a staff card stays readable.
    """
    facts: list[Fact] = []
    for raw in _SENTENCE.split(text):
        sentence = stated_part(raw.strip())
        if len(sentence) < 6:
            continue
        sentence = sentence[:240]
        if _TRIED.search(sentence):
            facts.append(Fact("tried", sentence, case, at))
        elif _ERROR.search(sentence):
            facts.append(Fact("error", sentence, case, at))
        elif _SETUP.search(sentence):
            facts.append(Fact("setup", sentence, case, at))
    return facts


def summary(journey: Journey | None, *, current: str | None = None, now: datetime | None = None) -> str:
    """The journey in a few lines, for staff cards and recaps.

    Always non-empty: a first-time asker's summary says so, which is itself
    context a staff member needs.
    """
    if journey is None or not journey.cases:
        return "First contact: no earlier questions or details on record."
    lines: list[str] = []
    earlier = [c for c in journey.cases if c.case != current]
    if earlier:
        lines.append(f"Earlier questions ({len(earlier)}):")
        for note in earlier[-5:]:
            outcome = note.outcome or note.status
            stuck = f"; stuck: {note.stuck}" if note.stuck else ""
            lines.append(f"- {note.opened_at:%b %d %H:%M} “{short(note.question)}” → {outcome}{stuck}")
    else:
        lines.append("First question on record.")
    by_kind = {"setup": "Their setup", "tried": "Already tried", "error": "Errors seen"}
    for kind, label in by_kind.items():
        said = [f.text for f in journey.facts if f.kind == kind]
        if said:
            lines.append(f"{label}: " + " | ".join(short(s, 120) for s in said[-4:]))
    told = [t for t in journey.told if t.case != current][-3:]
    if told:
        lines.append("We told them: " + " | ".join(
            f"{short(t.what, 90)}" + (f" [{t.source}]" if t.source else "") for t in told))
    return "\n".join(lines)


def short(text: str, limit: int = 80) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_JOURNEY = TypeAdapter(Journey)


class JourneyStore:
    """Journeys in the store, with the recently used ones kept in memory
    (only the bot writes journeys; ``forget`` after anyone else might have)."""

    CACHE = 20_000

    def __init__(self, db: Sql) -> None:
        self.db: Transactions = db
        self.rows: JourneyRepository = JourneyRows(db)
        self._cache: OrderedDict[tuple[str, str], Journey] = OrderedDict()

    def forget(self) -> None:
        self._cache.clear()

    async def get(self, space: str, user: str) -> Journey:
        key = (space, user)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        state = await self.rows.get(space, user)
        journey = _JOURNEY.validate_python(state) if state is not None else Journey(space, user)
        self._remember(key, journey)
        return journey

    async def save(self, journey: Journey) -> None:
        await self.rows.save(journey.space, journey.user, _JOURNEY.dump_python(journey, mode="json"))
        key = (journey.space, journey.user)
        before = self._cache.get(key)
        self._remember(key, journey)

        def undo() -> None:  # the transaction rolled back: so does the cache
            if before is None:
                self._cache.pop(key, None)
            else:
                self._cache[key] = before

        self.db.on_rollback(undo)

    def _remember(self, key: tuple[str, str], journey: Journey) -> None:
        self._cache[key] = journey
        self._cache.move_to_end(key)
        while len(self._cache) > self.CACHE:
            self._cache.popitem(last=False)
