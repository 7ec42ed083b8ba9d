"""Answer, ask one clarifying question, or route to staff: a pure decision.

No I/O. Inputs are the retrieval results (one per entry, best first) and what
the core already knows about the message and the case; the output says what
to do and why, with the thresholds that decided it so the evidence trail can
show them. A hand-over with a clear owner is a good outcome; a confidently
wrong answer is the worst one, so every doubt leans towards asking or routing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bot.settings import PolicySettings

Kind = Literal["answer", "clarify", "route"]


@dataclass(frozen=True, slots=True)
class Option:
    """An entry as the policy sees it."""

    entry: str
    score: float
    support: int = 1
    second: float | None = None
    stale: bool = False
    policy: bool = False
    conflicts_with: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Signals:
    """What the message itself tells us, before any retrieval.

    ``wants_commitment`` is recorded as evidence, not a reason to route: a
    question may ask for a refund; only a *reply* that would promise one
    without a policy entry is held back (see ``bot.flows.deciding``).
    """

    human_requested: bool = False
    sensitive: str | None = None
    wants_commitment: bool = False
    clarifications: int = 0
    options_refused: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Kind
    reason: str | None = None
    entry: str | None = None
    options: tuple[str, ...] = ()
    confidence: float = 0.0
    margin: float = 0.0
    why: str = ""

    def evidence(self, thresholds: PolicySettings) -> dict[str, object]:
        return {"decision": self.kind, "reason": self.reason, "entry": self.entry,
                "options": list(self.options), "confidence": round(self.confidence, 4),
                "margin": round(self.margin, 4), "why": self.why,
                "thresholds": asdict_thresholds(thresholds)}


def asdict_thresholds(thresholds: PolicySettings) -> dict[str, float]:
    return {k: v for k, v in thresholds.model_dump().items() if isinstance(v, int | float)}


def plausible(score: float, t: PolicySettings) -> bool:
    """Is an entry scoring ``score`` close enough to put before the asker at all?

    The policy's own line: below ``clarify_floor`` nothing is close enough to
    answer with or to offer as an option. Staff are offered to send the best
    candidate in one click only above it.
    """
    return score >= t.clarify_floor


def route(reason: str, why: str, confidence: float = 0.0, margin: float = 0.0) -> Decision:
    return Decision("route", reason=reason, confidence=confidence, margin=margin, why=why)


def decide(options: Sequence[Option], signals: Signals, t: PolicySettings) -> Decision:
    """The one place that chooses between answering, clarifying and routing."""
    top = options[0] if options else None
    score = top.score if top else 0.0
    margin = score - options[1].score if len(options) > 1 else score
    if signals.human_requested:
        return route("human_requested", "the asker asked for a person", score, margin)
    if signals.sensitive:
        return route("sensitive", f"sensitive ({signals.sensitive}): a person should handle it",
                     score, margin)
    if top is None or not plausible(score, t):
        return route("low_confidence", "nothing in the knowledge base is close enough", score, margin)

    agreed = top.second is not None and top.second >= score - t.agree_gap
    floor = t.answer_threshold if agreed else t.lone_threshold
    sure = score >= t.sure_threshold and margin >= t.sure_margin
    leading = score >= floor and margin >= t.answer_margin
    if sure or leading:
        close = {o.entry for o in options[1:] if score - o.score <= t.clarify_band}
        if top.stale:
            return route("stale", f"the best entry {top.entry} is past its review date", score, margin)
        if close.intersection(top.conflicts_with):
            return route("conflict", f"{top.entry} conflicts with a close entry", score, margin)
        return Decision("answer", entry=top.entry, confidence=score, margin=margin,
                        why="sure" if sure else ("leads clearly, forms agree" if agreed
                                                 else "leads clearly on one form"))

    if signals.clarifications >= t.max_clarifications or signals.options_refused:
        return route("low_confidence", "still unsure after asking once", score, margin)
    choices = [o for o in options
               if score - o.score <= t.clarify_band and o.score >= t.option_floor and not o.stale]
    choices = choices[: t.max_options]
    if len(choices) >= 2:
        return Decision("clarify", options=tuple(o.entry for o in choices), confidence=score,
                        margin=margin, why="several entries are close")
    return route("low_confidence", "not sure enough to answer or to offer options", score, margin)


__all__ = ["Decision", "Option", "Signals", "decide", "plausible", "route"]
