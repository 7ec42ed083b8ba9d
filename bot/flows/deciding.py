"""Retrieve, weigh and act: the shared path from a question to an answer,
a clarifying question or a hand-over, with its evidence recorded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np

from bot import casework, learned
from bot.actions import Candidate
from bot.cases import Case
from bot.flows.wording import generate_answer
from bot.handling import Handling
from bot.policy import Decision, Option, Signals, decide
from bot.text import asks_for_person, is_social
from bot.trust.promises import asks_for_commitment, find_commitments
from bot.trust.sensitive import cleared_for
from knowledge.entries import DOCS, Entry
from knowledge.retrieval import Hit

logger = logging.getLogger(__name__)

MAX_CANDIDATES = 5


async def retrieve(handling: Handling, vector: np.ndarray,
                   text: str | None = None) -> tuple[list[Hit], list[Option]]:
    services = handling.services
    hits = await services.kb.search(handling.space, vector, text=text)
    partners = await services.kb.store.conflict_partners(handling.space) if hits else {}
    return hits, options_of(hits, partners, handling.now)


def options_of(hits: Sequence[Hit], partners: Mapping[str, frozenset[str]], now: datetime) -> list[Option]:
    """What the policy weighs of each hit: its scores and retrieval features."""
    return [
        Option(entry=h.entry.id, score=h.score, support=h.support, second=h.second, centroid=h.centroid,
               stale=h.entry.is_stale(now), policy=h.entry.is_policy,
               conflicts_with=tuple(sorted(partners.get(h.entry.id, ()))),
               kind=h.kind, section=h.entry.section, dense_rank=h.dense_rank,
               lexical_rank=h.lexical_rank, lexical_score=h.lexical_score, coverage=h.coverage,
               fused=h.fused, age_days=_age_days(h.entry, now), form_score=h.form_score,
               passage_score=h.passage_score, heading_coverage=h.heading_coverage,
               known=h.known, cleared=cleared_for(h.entry.tags))
        for h in hits
    ]


def _age_days(entry: Entry, now: datetime) -> float | None:
    return None if entry.updated_at is None else (now - entry.updated_at).total_seconds() / 86400


async def signals_for(handling: Handling, text: str, vector: np.ndarray, case: Case) -> Signals:
    detector = handling.services.sensitive
    model = handling.services.embedder.name
    if detector is None:
        sensitive = None
    elif detector.model in (None, model):
        sensitive = detector.classify(text, vector, model=model)
    else:  # an adapted model answers: the detector embeds the question with its own, off the loop
        sensitive = await asyncio.to_thread(detector.classify, text, vector, model=model)
    return Signals(
        human_requested=asks_for_person(text),
        sensitive=sensitive.category if sensitive else None,
        sensitive_clearable=bool(sensitive and sensitive.clearable),
        wants_commitment=bool(asks_for_commitment(text)),
        clarifications=case.clarifications,
        social=is_social(text),
        words=len(text.split()),
    )


def candidates_of(hits: list[Hit]) -> tuple[Candidate, ...]:
    return tuple(Candidate(h.entry.id, round(h.score, 4), h.entry.title, h.entry.version)
                 for h in hits[:MAX_CANDIDATES])


async def record_decision(handling: Handling, case: Case, decision: Decision,
                          considered: Sequence[Hit | Candidate], *, may_generate: bool = True,
                          **extra: Any) -> None:
    """The one builder of a decision's evidence: what was decided and why, the
    thresholds, every entry weighed (with its version), the embedding model and
    the LLM that may word the answer (``may_generate=False``: none will)."""
    services = handling.services
    body = decision.evidence(services.policy)
    body.update(
        candidates=[_weighed(c, handling.now) for c in considered[:MAX_CANDIDATES]],
        model=services.embedder.name,
        generator=getattr(services.generator, "model", None) if may_generate else None,
        **extra,
    )
    await handling.log("decision", body, case=case.key)


def _weighed(considered: Hit | Candidate, now: datetime) -> dict[str, Any]:
    if isinstance(considered, Candidate):  # weighed earlier (an option the asker picked)
        return {"entry": considered.entry, "version": considered.version, "score": considered.score}
    return {"entry": considered.entry.id, "version": considered.entry.version,
            "score": round(considered.score, 4),
            "second": None if considered.second is None else round(considered.second, 4),
            "centroid": None if considered.centroid is None else round(considered.centroid, 4),
            "support": considered.support, "stale": considered.entry.is_stale(now),
            "kind": considered.kind, "dense_rank": considered.dense_rank,
            "lexical_rank": considered.lexical_rank, "coverage": round(considered.coverage, 4)}


async def decide_and_act(handling: Handling, case: Case, text: str, vector: np.ndarray,
                         *, signals: Signals | None = None, avoid: str | None = None,
                         linked: str | None = None) -> Case:
    """Run the policy for ``text`` and carry out its decision on ``case``.

    ``avoid`` names an entry the asker already got and came back from: it is
    not offered again as if it were new.
    """
    hits, options = await retrieve(handling, vector, text)
    signals = signals or await signals_for(handling, text, vector, case)
    options, answer_at, features = await learned.calibrate(handling, text, hits, options)
    decision = decide(options, signals, handling.services.policy, answer_at=answer_at)
    decision, asking = await within_budget(handling, case, decision, options)
    detail = None  # "reopened" alone would tell staff the asker said the answer failed
    if avoid and decision.kind == "answer" and decision.entry == avoid:
        decision = Decision("route", reason="reopened", confidence=decision.confidence,
                            why=f"the asker already had {avoid} and is still asking")
        detail = (f"the asker asked the same again in a new thread after the answer from {avoid} ({linked})"
                  if linked else f"the asker wrote again after the answer from {avoid}, still the closest entry")
    await record_decision(handling, case, decision, hits, **learned.evidence(options, answer_at, handling),
                          **asking)
    await learned.observe(handling, case, decision, hits, features)
    by_id = {h.entry.id: h for h in hits}
    candidates = candidates_of(hits)
    held = decision.reason == "sensitive" and signals.sensitive_clearable
    case = replace(case, candidates=candidates, clearable=signals.sensitive if held else None,
                   held_entry=None)
    if decision.kind == "answer" and decision.entry is not None:
        return await answer_with(handling, case, by_id[decision.entry].entry,
                                 confidence=decision.confidence, candidates=candidates)
    if decision.kind == "clarify":
        return await casework.clarify(handling, case, [by_id[e].entry for e in decision.options],
                                      confidence=decision.confidence, confirming=decision.reason == "likely")
    held_back = bool(options and options[0].held_back and decision.why == options[0].held_back)
    case = await casework.route(handling, replace(case, held_entry=options[0].entry if held_back else None),
                                decision.reason or "low_confidence", candidates=candidates, linked=linked,
                                detail=detail)
    if held_back:
        await handling.update_card(case, decision.why)
    return case


async def within_budget(handling: Handling, case: Case, decision: Decision,
                        options: Sequence[Option]) -> tuple[Decision, dict[str, Any]]:
    """The decision once the asking budget has weighed it (``bot.asking``): a "did you
    mean" that did not make the cut goes to staff instead; and the budget's evidence."""
    budget = handling.services.asking
    if budget is None:
        return decision, {}
    verdict = await budget.weigh(handling.space, case.key, decision, options)
    if verdict is None:
        return decision, {"asking": {"likelihood": None, "asked": False}}
    if not verdict.ask:
        logger.info("not asking \"did you mean\" in %s: %s", handling.space, verdict.why(budget.budget))
        decision = Decision("route", reason="low_confidence", confidence=decision.confidence,
                            margin=decision.margin,
                            why=f"{decision.why}; not asked, {verdict.why(budget.budget)}")
    return decision, {"asking": verdict.evidence()}


async def answer_with(handling: Handling, case: Case, entry: Entry, *, confidence: float,
                      candidates: tuple[Candidate, ...] = (), by: str | None = None,
                      generate: bool = True) -> Case:
    """Answer from ``entry`` — unless the reply would promise what no policy entry says.

    ``generate=False`` keeps it extractive even with an LLM configured (one
    staff answer fanning out to many waiting cases must not make many calls).
    """
    services = handling.services
    text, said = await _extractive(handling, case, entry)
    cited: tuple[Entry, ...] = (entry,)
    # Grounded generation, when configured, words the answer; it checks its own
    # output and otherwise falls back (``used`` False) to the extractive words.
    generated = None
    if services.generator is not None and by is None and generate:
        generated = await generate_answer(handling, services.generator, case, entry, candidates)
        if generated.text is not None:
            text, said, cited = generated.text, generated.answer or text, generated.sources
    refused = () if generated is None else generated.promised
    # Staff sending an entry speak for the company themselves; the gate is for the bot.
    # So does the published documentation, quoted word for word (dates in a
    # changelog or an API example are not the bot's promises).
    quoting_docs = entry.kind == DOCS and (generated is None or not generated.used)
    commitments = find_commitments(said) if by is None and not quoting_docs else ()
    word_for_word = generated is None or not generated.used  # the entry's own words, as staff vouched them
    if commitments and not any(e.is_policy for e in cited) and not (word_for_word and entry.vouched):
        kinds = sorted({c.kind for c in commitments} | set(refused))
        logger.info("held back an answer from %s for case %s: it would promise %s",
                    entry.id, case.key, ", ".join(kinds))
        await handling.log("promise_blocked", {"entry": entry.id, "kinds": kinds,
                                               "generated": bool(refused)}, case=case.key)
        return await casework.route(handling, replace(case, held_entry=entry.id), "promise",
                                    candidates=candidates)
    if refused:  # the model's promise was refused; the extractive answer promises nothing
        await handling.log("promise_blocked", {"entry": entry.id, "kinds": list(refused),
                                               "generated": True}, case=case.key)
    return await casework.answer_from(handling, case, entry, text=text, said=said, cited=cited,
                                      confidence=confidence, by=by)


async def _extractive(handling: Handling, case: Case, entry: Entry) -> tuple[str, str]:
    """(reply text, what it says) without a model: a docs section quotes the
    passage that answers the question; any other entry is its own answer."""
    services = handling.services
    if entry.kind != DOCS:
        return services.composer.answer(entry), entry.answer
    vector = (await services.embedder.embed([case.question]))[0]
    passages = await services.kb.ranked_passages(entry, vector, case.question)
    text = services.composer.docs_answer(entry, passages)
    return text, text
