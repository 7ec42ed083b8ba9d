"""A staff answer becomes knowledge, searchable at once.

Three outcomes, chosen so one answer never becomes two entries:

- the staff member corrects an entry (in a thread after the bot used it, or
  on a card routed because that entry was stale, in conflict or held back): a new
  **version** of that entry (from a private thread, pending approval);
- the answer is the same as an existing entry's answer: the question becomes
  a new **form** of that entry (it was asked in words the entry lacked);
- otherwise a **new** entry: the asker's question and the staff answer.

Text reaching here is already redacted. What staff teach from a private
thread is stored ``pending``: it answers no one until a staff member
approves it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.entries import LIVE, PENDING, Draft, Entry

logger = logging.getLogger(__name__)

How = Literal["new", "form", "version"]


@dataclass(frozen=True, slots=True)
class Lesson:
    entry: Entry
    how: How
    supersedes: str | None


_SENTENCES = re.compile(r"(?<=[.!?])\s+")


def question_part(text: str) -> str:
    """The question sentences of what the asker wrote, without their own
    circumstances ("I'm on an iPad Pro…"): that is what the next person asks."""
    asked = [s.strip() for s in _SENTENCES.split(text) if s.strip().endswith("?")]
    return " ".join(asked) if asked else text.strip()


async def asked_form(kb: KnowledgeBase, question: str,
                     vector: np.ndarray | None) -> tuple[str, np.ndarray | None]:
    """The question part of what the asker wrote, and its vector (``vector`` when
    nothing was cut, else embedded again): what becomes a question form."""
    asked = question_part(question)
    if asked == question:
        return question, vector
    return asked, (await kb.embedder.embed([asked]))[0]


async def learn(
    kb: KnowledgeBase,
    *,
    space: str,
    question: str,
    question_vector: np.ndarray | None,
    answer: str,
    staff: str,
    case: str,
    at: datetime,
    correcting: Entry | None = None,
    private: bool = False,
    staff_name: str | None = None,
) -> Lesson:
    """Turn one staff answer into knowledge; see the module docstring.

    ``staff_name`` is how the platform names the staff member now: kept with
    what they taught (``provenance["answered_by"]``, as for past threads), so
    an answer cites a person, not a user id.
    """
    question, question_vector = await asked_form(kb, question, question_vector)
    if correcting is not None and correcting.status != "retired":
        # From a private thread the new version waits for approval, as a new entry would:
        # the old one stops answering meanwhile (staff just said it was wrong or out of date).
        # In public it answers at once, also over a private correction still waiting (a public
        # entry's; one first taught in private keeps waiting: its questions are the asker's words).
        status = PENDING if private else (LIVE if correcting.status == PENDING and not correcting.private
                                          else None)
        entry = await kb.revise(correcting, author=staff, origin="correction", at=at, case=case,
                                answer=answer, provenance=_answered_by(correcting.provenance, staff_name),
                                status=status)
        if question and question not in entry.questions and not private:
            entry = await kb.add_question(entry, question, author=staff, at=at, case=case,
                                          vector=question_vector)
        logger.info("staff %s corrected %s (now version %d%s)", staff, entry.id, entry.version,
                    ", pending approval: private thread" if private else "")
        return Lesson(entry, "version", correcting.id)

    if question_vector is not None:
        same = await kb.similar_entry(space, answer, question_vector)
    else:
        same = await kb.same_answer_entry(space, answer)
    if same is not None and not private:
        entry = await kb.add_question(same, question, author=staff, at=at, case=case,
                                      vector=question_vector)
        logger.info("staff %s answered like %s: learned a new way to ask it", staff, entry.id)
        return Lesson(entry, "form", None)

    draft = Draft(questions=(question,), answer=answer, space=space,
                  status=PENDING if private else LIVE, provenance=_answered_by(None, staff_name))
    vectors = None if question_vector is None else np.asarray(question_vector).reshape(1, -1)
    entry = await kb.create(draft, author=staff, origin="staff", at=at, case=case,
                            vectors=vectors, private=private)
    logger.info("staff %s taught a new entry %s%s", staff, entry.id,
                " (pending approval: private thread)" if private else "")
    return Lesson(entry, "new", None)


def _answered_by(provenance: dict[str, str] | None, name: str | None) -> dict[str, str] | None:
    """``provenance`` naming who answered this version (or without a name, when none is known)."""
    kept = {k: v for k, v in (provenance or {}).items() if k != "answered_by"}
    if name:
        kept["answered_by"] = name
    return kept or None
