"""What the policy decides with and what it decides: the options (one per entry,
as retrieval found them), the signals of the message itself, and the decision
with its evidence. ``bot.policy`` chooses; these are its vocabulary, shared by
the flows that act on a decision and the budget that weighs one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.estimate import Features
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
    # Retrieval features (``knowledge.retrieval.Hit``) the docs decision weighs.
    kind: str = "curated"  # docs | curated | taught
    section: str | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None
    lexical_score: float = 0.0
    coverage: float = 0.0
    fused: float = 0.0
    age_days: float | None = None
    probability: float | None = None  # calibrated chance it is the right entry (learning.calibration)
    held_back: str | None = None  # why the entry may not answer on its own (its answers stopped working)
    cleared: tuple[str, ...] = ()  # sensitive categories staff answered with this entry in public
    together: tuple[float, float] = (0.0, 0.0)  # (top entry only) chance the right one is in the first 2 / 3
    centroid: float | None = None  # cosine to the mean of all the entry's question forms
    form_score: float | None = None  # best cosine to a question form (a docs section: its heading path)
    passage_score: float | None = None  # best cosine to one of a docs section's passages
    heading_coverage: float = 0.0  # share of the question's informative words in the heading path
    known: float = 1.0  # share of the question's words that the space's forms use at all


@dataclass(frozen=True, slots=True)
class Signals:
    """What the message itself tells us, before any retrieval.

    ``wants_commitment`` is recorded as evidence, not a reason to route: a
    question may ask for a refund; only a *reply* that would promise one
    without a policy entry is held back (see ``bot.flows.deciding``).
    """

    human_requested: bool = False
    sensitive: str | None = None
    sensitive_clearable: bool = False  # only resembles a category an entry may be cleared for (no cue)
    wants_commitment: bool = False
    clarifications: int = 0
    options_refused: bool = False
    social: bool = False  # thanks, a greeting, community talk: no question in it
    words: int = 0  # the question's length in words (0: not known)


@dataclass(frozen=True, slots=True)
class Decision:
    kind: Kind
    reason: str | None = None
    entry: str | None = None
    options: tuple[str, ...] = ()
    confidence: float = 0.0
    margin: float = 0.0
    why: str = ""
    features: Features | None = None
    estimate: float | None = None

    def evidence(self, thresholds: PolicySettings) -> dict[str, object]:
        out: dict[str, object] = {
            "decision": self.kind, "reason": self.reason, "entry": self.entry,
            "options": list(self.options), "confidence": round(self.confidence, 4),
            "margin": round(self.margin, 4), "why": self.why,
            "thresholds": asdict_thresholds(thresholds)}
        if self.features is not None:
            out["features"] = self.features.logged()
            out["estimate"] = None if self.estimate is None else round(self.estimate, 4)
        return out


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


__all__ = ["Decision", "Kind", "Option", "Signals", "asdict_thresholds", "plausible", "route"]
