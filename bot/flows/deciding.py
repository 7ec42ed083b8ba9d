"""Retrieve, weigh and act: the shared path from a question to an answer,
a clarifying question or a hand-over, with its evidence recorded."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import numpy as np

from bot.actions import FEEDBACK_BUTTONS, Candidate, Citation
from bot.cases import BOT, Case
from bot.flows import learned
from bot.handling import Handling
from bot.policy import Decision, Option, Signals, decide
from bot.text import asks_for_person
from bot.trust.promises import asks_for_commitment, find_commitments
from knowledge.base import Hit
from knowledge.entries import Entry

logger = logging.getLogger(__name__)

MAX_CANDIDATES = 5


async def retrieve(handling: Handling, vector: np.ndarray,
                   text: str | None = None) -> tuple[list[Hit], list[Option]]:
    core = handling.core
    hits = await core.kb.search(handling.space, vector, text=text)
    partners = await core.kb.store.conflict_partners(handling.space) if hits else {}
    options = [
        Option(entry=h.entry.id, score=h.score, support=h.support, second=h.second,
               stale=h.entry.is_stale(handling.now), policy=h.entry.is_policy,
               conflicts_with=tuple(sorted(partners.get(h.entry.id, ()))))
        for h in hits
    ]
    return hits, options


def signals_for(handling: Handling, text: str, vector: np.ndarray, case: Case) -> Signals:
    detector = handling.core.sensitive
    sensitive = detector.classify(text, vector) if detector is not None else None
    return Signals(
        human_requested=asks_for_person(text),
        sensitive=sensitive.category if sensitive else None,
        wants_commitment=bool(asks_for_commitment(text)),
        clarifications=case.clarifications,
    )


def candidates_of(hits: list[Hit]) -> tuple[Candidate, ...]:
    return tuple(Candidate(h.entry.id, round(h.score, 4), h.entry.title, h.entry.version)
                 for h in hits[:MAX_CANDIDATES])


async def record_decision(handling: Handling, case: Case, decision: Decision, hits: list[Hit],
                          **extra: Any) -> None:
    core = handling.core
    body = decision.evidence(core.settings.policy)
    body.update(
        candidates=[{"entry": h.entry.id, "version": h.entry.version, "score": round(h.score, 4),
                     "second": None if h.second is None else round(h.second, 4),
                     "support": h.support, "stale": h.entry.is_stale(handling.now)}
                    for h in hits[:MAX_CANDIDATES]],
        model=core.embedder.name,
        generator=getattr(core.generator, "model", None),
        **extra,
    )
    await handling.log("decision", body, case=case.key)


async def decide_and_act(handling: Handling, case: Case, text: str, vector: np.ndarray,
                         *, signals: Signals | None = None, avoid: str | None = None,
                         linked: str | None = None) -> Case:
    """Run the policy for ``text`` and carry out its decision on ``case``.

    ``avoid`` names an entry the asker already got and came back from: it is
    not offered again as if it were new.
    """
    hits, options = await retrieve(handling, vector, text)
    signals = signals or signals_for(handling, text, vector, case)
    options, answer_at, features = await learned.calibrate(handling, text, hits, options)
    decision = decide(options, signals, handling.core.settings.policy, answer_at)
    if avoid and decision.kind == "answer" and decision.entry == avoid:
        decision = Decision("route", reason="reopened", confidence=decision.confidence,
                            why=f"the asker already had {avoid} and is still asking")
    await record_decision(handling, case, decision, hits, **learned.evidence(options, answer_at, handling))
    await learned.observe(handling, case, decision, hits, features)
    by_id = {h.entry.id: h for h in hits}
    candidates = candidates_of(hits)
    case = replace(case, candidates=candidates)
    if decision.kind == "answer" and decision.entry is not None:
        return await answer_with(handling, case, by_id[decision.entry].entry,
                                 confidence=decision.confidence, candidates=candidates)
    if decision.kind == "clarify":
        return await clarify(handling, case, [by_id[e].entry for e in decision.options],
                             confidence=decision.confidence)
    case = await handling.route(case, decision.reason or "low_confidence", candidates=candidates,
                                linked=linked)
    if options and options[0].held_back and decision.why == options[0].held_back:
        await handling.update_card(case, decision.why)
    return case


async def answer_with(handling: Handling, case: Case, entry: Entry, *, confidence: float,
                      candidates: tuple[Candidate, ...] = (), by: str | None = None,
                      generate: bool = True) -> Case:
    """Answer from ``entry`` — unless the reply would promise what no policy entry says.

    ``generate=False`` keeps it extractive even with an LLM configured (one
    staff answer fanning out to many waiting cases must not make many calls).
    """
    core = handling.core
    text, said = core.composer.answer(entry), entry.answer
    cited: tuple[Entry, ...] = (entry,)
    # Grounded generation, when configured, words the answer; it checks its own
    # output and otherwise falls back (``used`` False) to the extractive words.
    generated = None
    if core.generator is not None and by is None and generate:
        generated = await core.generator.compose(handling, case, entry, candidates)
        if generated.text is not None:
            text, said, cited = generated.text, generated.answer or text, generated.sources
    refused = () if generated is None else generated.promised
    # Staff sending an entry speak for the company themselves; the gate is for the bot.
    commitments = find_commitments(said) if by is None else ()
    if commitments and not any(e.is_policy for e in cited):
        kinds = sorted({c.kind for c in commitments} | set(refused))
        logger.info("held back an answer from %s for case %s: it would promise %s",
                    entry.id, case.key, ", ".join(kinds))
        await handling.log("promise_blocked", {"entry": entry.id, "kinds": kinds,
                                               "generated": bool(refused)}, case=case.key)
        return await handling.route(case, "promise", candidates=candidates)
    if refused:  # the model's promise was refused; the extractive answer promises nothing
        await handling.log("promise_blocked", {"entry": entry.id, "kinds": list(refused),
                                               "generated": True}, case=case.key)
    text = f"{text}\n\n{core.composer.answer_footer()}"
    handling.reply(case, text, kind="relay" if by else "answer", sources=tuple(e.id for e in cited),
                   confidence=1.0 if by else confidence, by=by, model=None if by else core.embedder.name,
                   citations=tuple(Citation(e.id, e.version, e.title, e.url) for e in cited),
                   buttons=FEEDBACK_BUTTONS)
    if by is None:
        await learned.answered(handling, entry.id)
    case = replace(case, status="answered", owner=BOT if by is None else by, entry=entry.id,
                   entry_version=entry.version, options=(), answered_by=by,
                   next_step="the asker tries it and tells us if it worked")
    case = case.said("staff" if by else "bot", by or core.settings.bot_name, said, handling.now)
    await handling.transition(case, "answered", entry=entry.id, version=entry.version,
                              confidence=round(confidence, 4), taught=entry.taught,
                              fresh=not entry.is_stale(handling.now), by=by or "bot")
    journey = (await handling.journey(case.user)).tell(case.key, entry.title, handling.now, entry.id)
    handling.keep_journey(journey.update_case(case.key, status="answered", stuck=None,
                                              outcome=f"answered from {entry.id}"))
    return case


async def clarify(handling: Handling, case: Case, entries: list[Entry], *, confidence: float) -> Case:
    words = handling.core.composer.clarify(entries)
    handling.reply(case, words, kind="clarify", options=tuple(e.id for e in entries),
                   confidence=confidence, model=handling.core.embedder.name)
    case = replace(case, status="open", owner=BOT, options=tuple(e.id for e in entries),
                   clarifications=case.clarifications + 1, next_step=words.next_step or "")
    case = case.said("bot", handling.core.settings.bot_name, words.text, handling.now)
    await handling.transition(case, "clarified", options=list(case.options))
    return case
