"""Words from the LLM, when one is configured: what it is given, and the
evidence of every call (asked by hash, of whom, and what came of it)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.actions import Candidate
from bot.cases import Case
from bot.handling import Handling
from bot.journeys import Journey, summary
from knowledge.entries import DOCS, LIVE, Entry

if TYPE_CHECKING:  # not a cycle: openai takes seconds to import, so only a configured LLM loads it
    from bot.generate import Generated
    from bot.slowcalls import Writer

logger = logging.getLogger(__name__)

DOCS_SOURCE_CHARS = 1000  # of a docs section, the passages the model reads (the best one at least)


async def generate_answer(handling: Handling, generator: Writer, case: Case, entry: Entry,
                          candidates: Sequence[Candidate]) -> Generated:
    """The generator's answer to ``case`` from ``entry`` and close candidates, recorded."""
    sources = await sources_for(handling, generator, entry, candidates)
    sources = await focused(handling, case.question, sources)
    journey = summary(await handling.journey(case.user), current=case.key, now=handling.now)
    generated = await generator.compose(question=case.question,
                                        thread=[f"{t.who}: {t.text}" for t in case.turns[1:]],
                                        sources=sources, journey=journey)
    await record_generation(handling, generated, case=case.key)
    return generated


async def generate_recap(handling: Handling, generator: Writer, journey: Journey) -> str | None:
    """The journey worded by the generator, recorded; ``None`` to fall back."""
    generated = await generator.recap(journey)
    await record_generation(handling, generated)
    return generated.text


async def sources_for(handling: Handling, generator: Writer, entry: Entry,
                      candidates: Sequence[Candidate]) -> list[Entry]:
    """The decided entry first, then close live entries of the same space."""
    found = [entry]
    floor = handling.services.policy.option_floor
    for candidate in candidates:
        if len(found) >= generator.max_sources:
            break
        if candidate.entry == entry.id or candidate.score < floor:
            continue
        other = await handling.services.kb.get(candidate.entry)
        if other is not None and other.status == LIVE and other.space == handling.space:
            found.append(other)
    return found


async def focused(handling: Handling, question: str, sources: Sequence[Entry]) -> list[Entry]:
    """Each docs section as the passages of it that answer ``question``, best
    first, within ``DOCS_SOURCE_CHARS``: the model reads what answers rather
    than the first screenful of a long section. Other entries are whole."""
    if not any(e.kind == DOCS for e in sources):
        return list(sources)
    kb = handling.services.kb
    vector = (await handling.services.embedder.embed([question]))[0]
    out = []
    for entry in sources:
        if entry.kind != DOCS:
            out.append(entry)
            continue
        kept: list[str] = []
        for passage in await kb.ranked_passages(entry, vector, question):
            if kept and sum(map(len, kept)) + len(passage) > DOCS_SOURCE_CHARS:
                break
            kept.append(passage)
        out.append(replace(entry, answer="\n\n".join(kept)) if kept else entry)
    return out


async def record_generation(handling: Handling, generated: Generated, *, case: str | None = None) -> None:
    """The evidence: what was asked (by hash), of whom, and what came of it."""
    await handling.log("llm_redactions", {"count": generated.redactions}, case=case)
    body: dict[str, Any] = {
        "use": generated.use, "model": generated.model, "prompt_sha256": generated.prompt_hash,
        "prompt_chars": generated.prompt_chars, "used": generated.used, "fallback": generated.fallback,
    }
    if generated.use == "answer":
        body["sources"] = [{"n": n, "entry": e.id, "version": e.version, "policy": e.is_policy}
                           for n, e in enumerate(generated.offered, start=1)]
        body["cited"] = list(generated.cited)
    if generated.promised:
        body["promised"] = list(generated.promised)
    await handling.log("generation", body, case=case)
    if generated.fallback:
        logger.info("LLM %s for %s fell back: %s", generated.use, case or handling.event.id,
                    generated.fallback)
