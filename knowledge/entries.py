"""What a knowledge entry is."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

LIVE, RETIRED, PENDING = "live", "retired", "pending"
DOCS, TAUGHT, CURATED = "docs", "taught", "curated"
PROMISE_OK = "promise-ok"  # an entry whose commitments staff vouched for (``Entry.vouched``)
QUESTION, PASSAGE = "question", "passage"  # the kinds of searchable forms


@dataclass(frozen=True, slots=True)
class Entry:
    """One answer and the ways people ask for it, at one version.

    ``origin`` says where the current version came from: ``import``,
    ``staff`` (an answer on a card) or ``correction`` (staff in a thread).
    ``section`` is set on a documentation section: its file (relative to the
    docs root) and heading path, ``docs/setup.md#Installation > Docker``.
    A ``pending`` entry (learned in a private thread, or imported from a past
    thread: origin ``thread``) answers no one until a staff member approves it.
    ``provenance`` says where its text came from when that is more than a
    file: for a past thread its platform, channel, date and a link to it.
    """

    id: str
    space: str
    version: int
    status: str
    questions: tuple[str, ...]
    answer: str
    tags: tuple[str, ...] = ()
    url: str | None = None
    review_after: date | None = None
    author: str | None = None
    source_case: str | None = None
    origin: str = "import"
    private: bool = False
    created_at: datetime | None = None
    updated_at: datetime | None = None
    section: str | None = None
    provenance: dict[str, str] | None = None

    @property
    def title(self) -> str:
        return self.questions[0] if self.questions else self.id

    @property
    def is_policy(self) -> bool:
        return "policy" in self.tags

    @property
    def vouched(self) -> bool:
        """Staff said this answer's commitments (a date, a price…) themselves, in
        public, when the bot had held it back for them (``bot.flows.staff``), or
        the operator tagged it ``promise-ok``: the bot may repeat them word for word."""
        return PROMISE_OK in self.tags

    @property
    def taught(self) -> bool:
        """Created from a staff answer or correction rather than imported."""
        return self.origin in ("staff", "correction")

    @property
    def kind(self) -> str:
        """The kind of source, as the policy weighs it: ``docs`` (a documentation
        section), ``taught`` (from staff) or ``curated`` (a FAQ file entry)."""
        if self.section is not None:
            return DOCS
        return TAUGHT if self.taught else CURATED

    def is_stale(self, now: datetime) -> bool:
        return self.review_after is not None and now.date() > self.review_after


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry as a file or a staff member gives it, before it is stored."""

    questions: tuple[str, ...]
    answer: str
    id: str | None = None
    tags: tuple[str, ...] = ()
    space: str = "default"
    url: str | None = None
    review_after: date | None = None
    status: str = LIVE
    section: str | None = None
    extra: dict[str, object] = field(default_factory=dict)
    provenance: dict[str, str] | None = None


_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def answer_key(answer: str) -> str:
    """The answer reduced to its words, so the same answer in other spacing,
    case or punctuation is recognised as the same."""
    folded = unicodedata.normalize("NFKC", answer).casefold()
    return " ".join(_WORD.findall(folded))


def same_answer(a: str, b: str) -> bool:
    """Do two answers say the same thing in (nearly) the same words?

    Exact after normalising, or word-shingle overlap high enough that only a
    typo or a trailing remark differs. Deliberately strict: two answers that
    are worded alike but name different things stay different entries.
    """
    ka, kb = answer_key(a), answer_key(b)
    if ka == kb:
        return True
    wa, wb = ka.split(), kb.split()
    if min(len(wa), len(wb)) < 8:
        return False
    sa = {tuple(wa[i : i + 2]) for i in range(len(wa) - 1)}
    sb = {tuple(wb[i : i + 2]) for i in range(len(wb) - 1)}
    return len(sa & sb) / max(1, len(sa | sb)) >= 0.85
