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
    probability: float | None = None  # calibrated chance it is the right entry (learning.calibration)
    held_back: str | None = None  # why the entry may not answer on its own (its answers stopped working)
    together: tuple[float, float] = (0.0, 0.0)  # (top entry only) chance the right one is in the first 2 / 3
    centroid: float | None = None  # cosine to the mean of all the entry's question forms


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


def decide(options: Sequence[Option], signals: Signals, t: PolicySettings,
           answer_at: float | None = None) -> Decision:
    """The one place that chooses between answering, clarifying and routing.

    With ``answer_at`` (the probability the calibrated estimate must reach for
    the operator's target wrong rate) and options carrying probabilities, the
    decision is calibrated; otherwise the cosine thresholds decide.
    """
    if (answer_at is not None and t.decide_by == "calibrated" and options
            and all(o.probability is not None for o in options)):
        return decide_calibrated(options, signals, t, answer_at)
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

    sure = score >= t.sure_threshold and margin >= t.sure_margin
    if sure or leads(options, t):
        close = {o.entry for o in options[1:] if score - o.score <= t.clarify_band}
        if top.held_back:
            return route("low_confidence", top.held_back, score, margin)
        if top.stale:
            return route("stale", f"the best entry {top.entry} is past its review date", score, margin)
        if close.intersection(top.conflicts_with):
            return route("conflict", f"{top.entry} conflicts with a close entry", score, margin)
        return Decision("answer", entry=top.entry, confidence=score, margin=margin,
                        why="sure" if sure else why_leading(options, t))

    if signals.clarifications >= t.max_clarifications or signals.options_refused:
        return route("low_confidence", "still unsure after asking once", score, margin)
    choices = [o for o in options
               if score - o.score <= t.clarify_band and o.score >= t.option_floor and not o.stale]
    choices = choices[: t.max_options]
    if len(choices) >= 2:
        return Decision("clarify", options=tuple(o.entry for o in choices), confidence=score,
                        margin=margin, why="several entries are close")
    return route("low_confidence", "not sure enough to answer or to offer options", score, margin)


def centroid_lead(options: Sequence[Option]) -> float | None:
    """How far the best entry's centroid is ahead of every other entry's (None: not known)."""
    if options[0].centroid is None:
        return None
    others = [o.centroid for o in options[1:] if o.centroid is not None]
    return options[0].centroid - max(others, default=0.0)


def leads(options: Sequence[Option], t: PolicySettings) -> bool:
    """The best entry clearly leads: its centroid ahead of every other entry's by
    ``centroid_lead`` (the question is near the way people ask it as a whole, not
    one stray form) and its best form ahead by ``form_margin``; without
    centroids, its best form ahead by ``answer_margin``."""
    top = options[0]
    lead = centroid_lead(options)
    margin = top.score - options[1].score if len(options) > 1 else top.score
    if lead is not None and t.centroid_lead > 0:
        return top.score >= t.answer_threshold and lead >= t.centroid_lead and margin >= t.form_margin
    agreed = top.second is not None and top.second >= top.score - t.agree_gap
    return top.score >= (t.answer_threshold if agreed else t.lone_threshold) and margin >= t.answer_margin


def why_leading(options: Sequence[Option], t: PolicySettings) -> str:
    lead = centroid_lead(options)
    if lead is not None and t.centroid_lead > 0:
        return f"leads clearly: its forms as a whole {lead:.2f} ahead of any other entry's"
    top = options[0]
    agreed = top.second is not None and top.second >= top.score - t.agree_gap
    return "leads clearly, forms agree" if agreed else "leads clearly on one form"


def decide_calibrated(options: Sequence[Option], signals: Signals, t: PolicySettings,
                      answer_at: float) -> Decision:
    """Answer when the top entry is likely enough to be right; offer two or three
    options when together they are likely and none alone is; else route."""
    top = options[0]
    p = top.probability or 0.0
    margin = top.score - options[1].score if len(options) > 1 else top.score
    if signals.human_requested:
        return route("human_requested", "the asker asked for a person", p, margin)
    if signals.sensitive:
        return route("sensitive", f"sensitive ({signals.sensitive}): a person should handle it", p, margin)
    if p >= answer_at:
        close = {o.entry for o in options[1:] if top.score - o.score <= t.clarify_band}
        if top.held_back:
            return route("low_confidence", top.held_back, p, margin)
        if top.stale:
            return route("stale", f"the best entry {top.entry} is past its review date", p, margin)
        if close.intersection(top.conflicts_with):
            return route("conflict", f"{top.entry} conflicts with a close entry", p, margin)
        return Decision("answer", entry=top.entry, confidence=p, margin=margin,
                        why=f"likely right: {p:.3f} ≥ {answer_at:.3f} for a target of "
                            f"{t.target_wrong_rate:.1%} wrong")
    if signals.clarifications >= t.max_clarifications or signals.options_refused:
        return route("low_confidence", "still unsure after asking once", p, margin)
    usable = [o for o in options if not (o.stale or o.held_back)]
    for n, together in zip((2, 3), top.together, strict=True):
        if n <= min(len(usable), t.max_options) and together >= t.clarify_at and usable[0] is top:
            return Decision("clarify", options=tuple(o.entry for o in usable[:n]), confidence=p, margin=margin,
                            why=f"the first {n} entries are together {together:.2f} likely, none alone enough")
    if top.held_back:
        return route("low_confidence", top.held_back, p, margin)
    return route("low_confidence", f"not likely enough to be right ({p:.3f} < {answer_at:.3f})", p, margin)


__all__ = ["Decision", "Option", "Signals", "decide", "decide_calibrated", "plausible", "route"]
