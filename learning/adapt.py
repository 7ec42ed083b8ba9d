"""The adaptation job: train a candidate model on the taught pairs, score it
against the current one on pairs it never saw, and say whether to promote it.

Pure CPU work over plain data (texts, entries, vectors), so it runs in a
worker thread and never touches the store or the event loop. ``learning.loop``
gathers the data, runs this, and on a promotion re-embeds and swaps.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from learning.calibration import Calibrator, operating_point
from learning.heldout import HeldOut, better, evaluate, examples, is_held_out
from learning.models import Weights
from learning.store import Pair
from learning.tuning import TopLayers, TrainConfig, train

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdaptConfig:
    steps: int = 20
    batch: int = 16
    lr: float = 5e-5
    hard_negatives: bool = True
    held_out_share: int = 5
    target: float = 0.01
    answer_floor: float = 0.8
    prior_strength: float = 20.0
    unknown_weight: float = 1.0
    min_pairs: int = 20
    threads: int = 1
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Calibrated:
    """A space's calibrator for one model, and the probability it answers at."""

    model: Calibrator
    answer_at: float

    def as_dict(self) -> dict[str, object]:
        return {**self.model.as_dict(), "answer_at": round(self.answer_at, 4)}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrated:
        return cls(Calibrator.from_dict(data), float(data.get("answer_at", 1.0)))  # type: ignore[arg-type]


@dataclass
class Trial:
    """What one adaptation found."""

    pairs: int
    held_out: int
    current: HeldOut
    candidate: HeldOut
    promote: bool
    weights: Weights | None
    train_seconds: float
    why: str
    confusions: dict[str, str] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # the candidate's vector of each form text

    def figures(self) -> dict[str, object]:
        return {"pairs": self.pairs, "held_out": self.held_out, "current": self.current.as_dict(),
                "candidate": self.candidate.as_dict(), "train_seconds": round(self.train_seconds, 1),
                "why": self.why}


def calibrate(texts: Sequence[str], labels: Sequence[str], vectors: np.ndarray, config: AdaptConfig, *,
              usable: np.ndarray | None = None, live: tuple[np.ndarray, np.ndarray] | None = None,
              ) -> Calibrated:
    """Fit a calibrator from the forms (leave-one-out, leave-entry-out) and observed outcomes."""
    X, y, w = examples(texts, labels, vectors, unknown_weight=config.unknown_weight, usable=usable,
                       seed=config.seed)
    if live is not None and len(live[0]):
        X = np.vstack([X, live[0]]) if len(X) else live[0]
        y = np.concatenate([y, live[1]])
        w = np.concatenate([w, np.ones(len(live[1]))])
    if not len(X):  # no evidence yet: the prior, at the target read literally
        return Calibrated(Calibrator.prior(), max(config.answer_floor, 1.0 - config.target))
    model = Calibrator.prior().fit(X, y, w, strength=config.prior_strength)
    top = X[:, 6] == 1.0
    at = operating_point(np.array(model.probs(list(X[top]))), y[top], w[top], config.target,
                         floor=config.answer_floor)
    return Calibrated(model, at)


def confusions_of(labels: Sequence[str], vectors: np.ndarray) -> dict[str, str]:
    """Each entry's nearest other entry by centroid: where hard negatives come from."""
    names = sorted(set(labels))
    if len(names) < 2:
        return {}
    index = {n: i for i, n in enumerate(names)}
    sums = np.zeros((len(names), vectors.shape[1]))
    for label, v in zip(labels, vectors, strict=True):
        sums[index[label]] += v
    cent = sums / np.linalg.norm(sums, axis=1, keepdims=True).clip(min=1e-9)
    sims = cent @ cent.T
    np.fill_diagonal(sims, -2.0)
    return {n: names[int(np.argmax(sims[i]))] for i, n in enumerate(names)}


class Trainer:
    """Holds the split model and the frozen layers' outputs between runs
    (a text's lower states never change, so each is computed once)."""

    def __init__(self, model: TopLayers) -> None:
        self.model = model
        self._states: dict[str, torch.Tensor] = {}

    def states(self, texts: Sequence[str]) -> list[torch.Tensor]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._states]
        if missing:
            for text, state in zip(missing, self.model.lower(missing), strict=True):
                self._states[text] = state
        return [self._states[t] for t in texts]

    def encode(self, texts: Sequence[str], weights: Weights | None) -> np.ndarray:
        return self.model.encode_states(self.states(texts), weights)

    def trial(self, pairs: Sequence[Pair], forms: Sequence[tuple[str, str]], current_vectors: np.ndarray,
              current: Weights | None, config: AdaptConfig) -> Trial:
        """Train from ``current`` on the pairs not held out; score both on the held-out ones.

        ``forms`` are the live (text, entry) question forms with ``current_vectors``, the
        knowledge the held-out questions are asked against.
        """
        torch.set_num_threads(config.threads)
        started = time.perf_counter()
        texts = [t for t, _ in forms]
        labels = [e for _, e in forms]
        taught = {p.text for p in pairs if p.kind != "import"}
        held = np.array([t in taught and is_held_out(t, config.held_out_share) for t in texts])
        train_rows = [p for p in pairs if not (p.kind != "import" and is_held_out(p.text, config.held_out_share))]
        per_entry = Counter(p.entry for p in train_rows)
        empty = HeldOut(int(held.sum()), 0, 0, 0)
        if sum(1 for n in per_entry.values() if n >= 2) < 2 or len(train_rows) < config.min_pairs:
            return Trial(len(train_rows), int(held.sum()), empty, empty, False, None,
                         time.perf_counter() - started, "too few taught pairs to learn from")
        confusions = confusions_of(labels, current_vectors) if config.hard_negatives else {}
        weights = train(self.model, self.states([p.text for p in train_rows]), [p.entry for p in train_rows],
                        current, TrainConfig(steps=config.steps, batch=config.batch, lr=config.lr,
                                             hard_negatives=config.hard_negatives, seed=config.seed),
                        confusions)
        candidate_vectors = self.encode(texts, weights)
        encoded = dict(zip(texts, candidate_vectors, strict=True))
        if not held.any():
            return Trial(len(train_rows), 0, empty, empty, False, weights, time.perf_counter() - started,
                         "no held-out pairs yet to judge a candidate by", confusions, encoded)
        old = calibrate(texts, labels, current_vectors, config, usable=~held)
        new = calibrate(texts, labels, candidate_vectors, config, usable=~held)
        before = evaluate(texts, labels, current_vectors, held, old.model, old.answer_at)
        after = evaluate(texts, labels, candidate_vectors, held, new.model, new.answer_at)
        promote = better(after, before)
        why = ("answers more held-out questions at no higher wrong rate" if promote else
               "does not answer more held-out questions at no higher wrong rate")
        return Trial(len(train_rows), int(held.sum()), before, after, promote, weights,
                     time.perf_counter() - started, why, confusions, encoded)
