"""Where the flows and the casework verbs meet the learning loop (``learning.loop``): calibrated
options before a decision, and what became of a decision after it.

Each helper does nothing when the core runs without a learner (some tests
build a bare core).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from bot.cases import Case
from bot.handling import Handling
from bot.policy import Decision, Option
from knowledge.entries import answer_key
from knowledge.retrieval import Hit

logger = logging.getLogger(__name__)


async def calibrate(handling: Handling, text: str | None, hits: list[Hit],
                    options: list[Option]) -> tuple[list[Option], float | None, list[list[float]]]:
    """Options with their calibrated probability and hold-backs; the probability to answer at."""
    learner = handling.services.learner
    if learner is None or not hits:
        return options, None, []
    from learning.loop import hit_features

    calibrated = await learner.calibrated(handling.space)
    features = hit_features(text or "", hits, handling.now)
    probs = calibrated.model.probs(features)
    held = await learner.held_back([h.entry.id for h in hits[:3]])
    out = [replace(o, probability=p, held_back=held.get(o.entry)) for o, p in zip(options, probs, strict=True)]
    if out:
        out[0] = replace(out[0], together=calibrated.together(features[0]))
    return out, calibrated.answer_at, [[float(x) for x in f] for f in features]


def evidence(options: list[Option], answer_at: float | None, handling: Handling) -> dict[str, Any]:
    learner = handling.services.learner
    if answer_at is None or learner is None:
        return {}
    return {"probabilities": [round(o.probability or 0.0, 4) for o in options[:5]],
            "answer_at": round(answer_at, 4),
            "target_wrong_rate": handling.services.policy.target_wrong_rate,
            "model_version": learner.version}


async def observe(handling: Handling, case: Case, decision: Decision, hits: list[Hit],
                  features: list[list[float]]) -> None:
    learner = handling.services.learner
    if learner is None or not features:
        return
    import numpy as np

    await learner.observe(space=handling.space, case=case.key, at=handling.now, hits=hits,
                          features=[np.asarray(f) for f in features], decision=decision.kind)
    if decision.kind == "route" and hits and decision.why.startswith(f"{hits[0].entry.id} is held back"):
        await handling.log("held_back", {"entry": hits[0].entry.id, "why": decision.why}, case=case.key)


async def settled(handling: Handling, case: Case, *, right: str | None = None, wrong: str | None = None,
                  lesson: str | None = None, text: str | None = None) -> None:
    """What became of ``case``'s decision: ``right`` entry (staff, a pick, Solved) or
    ``wrong`` (Not solved, a reopen, a correction); a pick or Solved is also a lesson."""
    learner = handling.services.learner
    if learner is None:
        return
    # one failure per case: a reopen and then Not solved (or a correction) are the same answer failing
    counted = wrong is not None and await learner.store.shown_wrong(handling.space, case.key) == wrong
    await learner.settle(space=handling.space, case=case.key, at=handling.now, right=right, wrong=wrong)
    if wrong is not None and not counted:
        await learner.store.count_answer(handling.space, wrong, await _answer_given(handling, case, wrong),
                                         failed=True)
    if lesson is not None and right is not None and text and not case.private:  # private words teach no one
        await learner.store.add_lesson(space=handling.space, entry=right, text=text, kind=lesson,
                                       at=handling.now, case=case.key)


async def withdrawn(handling: Handling, case: Case, entry_id: str) -> dict[str, Any]:
    """The bot's answer from ``entry_id`` on ``case`` failed (Not solved, a staff
    correction to another entry): what the asker taught with it no longer stands.
    The question form their pick added to the entry (``KnowledgeBase.withdraw_question``)
    stops answering, and the case's lessons about the entry (its pick, a Solved
    before the Not solved) stop being training pairs. What was withdrawn, for the
    log record that says why (empty when the case taught nothing)."""
    kb = handling.services.kb
    entry = await kb.get(entry_id)
    _, forms = (entry, []) if entry is None else await kb.withdraw_question(entry, case=case.key, at=handling.now)
    learner = handling.services.learner
    lessons = [] if learner is None else await learner.store.withdraw_lessons(
        space=handling.space, case=case.key, entry=entry_id, at=handling.now)
    if not forms and not lessons:
        return {}
    logger.info("case %s: %s's answer failed; withdrew %d form(s) and the %s lesson(s) the case taught it",
                case.key, entry_id, len(forms), "/".join(lessons) or "no")
    return {"withdrawn": {"forms": forms, "lessons": lessons}}


async def _answer_given(handling: Handling, case: Case, entry_id: str) -> str | None:
    """The key of the answer ``case`` got from ``entry_id``, when the entry has changed since
    (None: the answer it gives now, which the store knows)."""
    kb = handling.services.kb
    entry = await kb.get(entry_id)
    version = case.entry_version if case.entry == entry_id else None
    if entry is None or version in (None, entry.version):
        return None
    then = await kb.store.version(entry_id, version)
    return answer_key(str(then.get("answer", ""))) if then else ""


async def answered(handling: Handling, entry: str) -> None:
    """The bot answered from ``entry`` with the answer it gives now (its survival counts from here)."""
    learner = handling.services.learner
    if learner is not None:
        await learner.store.count_answer(handling.space, entry)


async def vouched(handling: Handling, case: Case, entry: str, *, by: str) -> None:
    """Staff answered the card of a question routed because ``entry`` was held back: their
    answer is its answer now, even one that says what it said (their word that it is right), so
    its survival record starts again."""
    learner = handling.services.learner
    if learner is not None:
        await learner.store.afresh(entry)
        await handling.log("held_back", {"entry": entry, "released_by": by}, case=case.key)
