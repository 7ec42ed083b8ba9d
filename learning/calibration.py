"""How likely is a candidate entry to be the right one? A calibrated estimate.

The policy used to compare cosine scores with hand-set thresholds; a score of
0.72 means different things in different communities, and after the encoder
adapts it means something else again. Here a small logistic model maps the
retrieval's features of one candidate (its score, its lead over the best
other entry, whether a second of its forms agrees, how many of the nearest
forms are its own, the words it shares with the question, its rank, how many
forms it has, its kind of source and age) to the probability that it is the
entry the asker needs.

It is learned per space, per model version, from:

- the forms already in the store, each asked again against the others
  (leave-one-out: is its own entry on top?) and against the store without
  its entry (leave-entry-out: an unknown question must not be answered);
- what the bot observed: a staff answer confirms or contradicts the top
  candidate of the routed question, a pick after "did you mean" confirms an
  option, Solved confirms and Not solved / a correction contradicts an answer.

Fitting is maximum a posteriori: a Gaussian prior centred on a conservative
hand-set model (``PRIOR``) that only trusts high, clearly leading scores, so
with little evidence the estimate stays cautious, and evidence moves it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

FEATURES = ("bias", "score", "lead", "lead_pos", "agree", "support", "top", "lexical", "forms",
            "curated", "age")
# Conservative: p = 0.99 needs a score near 0.9 with a clear lead; 0.5 needs about 0.75.
PRIOR = np.array([-14.0, 14.0, 6.0, 6.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
PRIOR_STRENGTH = 2.0
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(["a", "an", "the", "i", "my", "me", "to", "is", "it", "of", "in", "on", "for", "and", "or", "do", "does", "how", "can", "what", "why"])


@lru_cache(maxsize=65_536)
def words(text: str) -> frozenset[str]:
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOP)


def lexical_overlap(question: str, form: str) -> float:
    """Share of distinct content words the question and a question form have in common (Jaccard)."""
    a, b = words(question), words(form)
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def candidate_features(*, score: float, best_other: float, second: float | None, support: int, rank: int,
                       forms: int, lexical: float, curated: bool = False, age_days: float = 0.0
                       ) -> np.ndarray:
    """The feature row of one candidate entry (order: ``FEATURES``)."""
    lead = score - best_other
    agree = 0.0 if second is None else max(0.0, 0.2 - (score - second)) * 5.0
    return np.array([
        1.0, score, lead, max(lead, 0.0), agree, min(support, 5) / 5.0, 1.0 if rank == 0 else 0.0,
        lexical, math.log1p(forms) / 3.0, 1.0 if curated else 0.0, min(age_days, 365.0) / 365.0,
    ])


def _sigmoid(z: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return out


@dataclass(frozen=True, slots=True)
class Calibrator:
    """A logistic model over ``FEATURES``; ``examples`` says how much evidence it has."""

    weights: tuple[float, ...]
    examples: int = 0

    @classmethod
    def prior(cls) -> Calibrator:
        return cls(tuple(float(x) for x in PRIOR), 0)

    def prob(self, features: np.ndarray) -> float:
        return float(_sigmoid(np.asarray(features) @ np.asarray(self.weights)))

    def probs(self, rows: Sequence[np.ndarray]) -> list[float]:
        if not rows:
            return []
        return [float(p) for p in _sigmoid(np.stack(rows) @ np.asarray(self.weights))]

    def fit(self, X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, *,
            strength: float = PRIOR_STRENGTH, iterations: int = 30) -> Calibrator:
        """MAP logistic regression, centred on the prior (Newton's method)."""
        if len(X) == 0:
            return self
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        sw = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        w0 = PRIOR.astype(np.float64)
        w = w0.copy()
        eye = np.eye(len(w0)) * strength
        for _ in range(iterations):
            p = _sigmoid(X @ w)
            grad = X.T @ (sw * (p - y)) + strength * (w - w0)
            hess = (X * (sw * p * (1 - p))[:, None]).T @ X + eye
            step = np.linalg.solve(hess, grad)
            w -= step
            if float(np.abs(step).max()) < 1e-6:
                break
        return Calibrator(tuple(float(x) for x in w), len(y))

    def as_dict(self) -> dict[str, object]:
        return {"weights": dict(zip(FEATURES, (round(x, 4) for x in self.weights), strict=True)),
                "examples": self.examples}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrator:
        weights = data.get("weights") or {}
        assert isinstance(weights, dict)
        examples = data.get("examples", 0)
        return cls(tuple(float(weights.get(name, PRIOR[i])) for i, name in enumerate(FEATURES)),
                   int(examples) if isinstance(examples, int | float | str) else 0)


def operating_point(probs: np.ndarray, right: np.ndarray, weight: np.ndarray, target: float,
                    floor: float = 0.5) -> float:
    """The lowest probability to answer at, such that among the examples it
    would answer the (weighted) share of wrong ones stays within ``target``.

    Never below ``floor``; when nothing meets the target, 1.0 (answer nothing).
    """
    if len(probs) == 0:
        return 1.0
    order = np.argsort(-probs, kind="stable")
    p, r, w = probs[order], right[order], weight[order]
    wrong = np.cumsum(w * (1 - r))
    total = np.cumsum(w)
    ok = np.flatnonzero(wrong <= target * total)
    if len(ok) == 0:
        return 1.0
    # the last prefix within target; stop at the first example of a tie group
    k = int(ok[-1])
    return float(max(p[k], floor))
