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
from learning.rule import FormRule, evaluate_rule
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
    answer_floor: float = 0.9
    prior_strength: float = 20.0
    unknown_weight: float = 1.0
    min_pairs: int = 20
    expected: bool = False  # operating point from expected error rather than the examples' labels
    threads: int = 1
    seed: int = 0
    rule: FormRule | None = None  # the default decision's thresholds: candidates are judged by them
    steps_per_pair: float = 0.0  # > 0: steps grow with the pairs trained on (at least ``steps``) …
    max_steps: int = 60  # … up to this many
    judge_picks: bool = False  # held-out picks and Solved questions judge candidates too (asked, not forms)

    def steps_for(self, pairs: int) -> int:
        """Training steps for ``pairs`` training pairs: ``steps``, or about the same share of each
        pair per adaptation as the store grows (``steps_per_pair``), never over ``max_steps``."""
        if self.steps_per_pair <= 0:
            return self.steps
        return max(self.steps, min(self.max_steps, round(self.steps_per_pair * pairs)))


@dataclass(frozen=True, slots=True)
class Calibrated:
    """A space's calibrators for one model, and the probability it answers at.

    ``model`` estimates that a candidate is the right entry; ``two`` and
    ``three``, from the top candidate's features, that the right entry is
    among the first two or three (what a "did you mean" would offer).
    """

    model: Calibrator
    answer_at: float
    two: Calibrator | None = None
    three: Calibrator | None = None

    def together(self, top: np.ndarray) -> tuple[float, float]:
        if self.two is None or self.three is None:
            return 0.0, 0.0
        return self.two.prob(top), self.three.prob(top)

    def as_dict(self) -> dict[str, object]:
        return {**self.model.as_dict(), "answer_at": round(self.answer_at, 4),
                "two": None if self.two is None else self.two.as_dict(),
                "three": None if self.three is None else self.three.as_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> Calibrated:
        two, three = data.get("two"), data.get("three")
        return cls(Calibrator.from_dict(data), float(data.get("answer_at", 1.0)),  # type: ignore[arg-type]
                   Calibrator.from_dict(two) if isinstance(two, dict) else None,
                   Calibrator.from_dict(three) if isinstance(three, dict) else None)


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
              usable: np.ndarray | None = None,
              live: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
              ) -> Calibrated:
    """Fit a calibrator from the forms (leave-one-out, leave-entry-out) and observed outcomes."""
    X, y, w, rank = examples(texts, labels, vectors, unknown_weight=config.unknown_weight, usable=usable,
                             seed=config.seed)
    asked = len(X)  # the store's own questions: a fair sample of what comes; live outcomes are not
    if live is not None and len(live[0]):
        X = np.vstack([X, live[0]]) if len(X) else live[0]
        y = np.concatenate([y, live[1]])
        w = np.concatenate([w, np.ones(len(live[1]))])
        rank = np.concatenate([rank, live[2]])
    if not len(X):  # no evidence yet: the prior, at the target read literally
        return Calibrated(Calibrator.prior(), max(config.answer_floor, 1.0 - config.target))
    model = Calibrator.prior().fit(X, y, w, strength=config.prior_strength)
    top = rank >= 0
    fair = top & (np.arange(len(X)) < asked)
    probs = np.array(model.probs(list(X[fair])))
    # the expected share wrong under the fitted model (it has seen real questions' outcomes; the
    # store's own questions are easier than real ones, so their labels would flatter it)
    at = operating_point(probs, probs if config.expected else y[fair], w[fair], config.target,
                         floor=config.answer_floor) if fair.any() else max(config.answer_floor, 1 - config.target)
    two = Calibrator.prior().fit(X[top], (rank[top] <= 1).astype(float), w[top], strength=config.prior_strength)
    three = Calibrator.prior().fit(X[top], (rank[top] <= 2).astype(float), w[top],
                                   strength=config.prior_strength)
    return Calibrated(model, at, two, three)


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
        vectors: np.ndarray = self.model.encode_states(self.states(texts), weights)
        return vectors

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
        alike = sum(1 for n in per_entry.values() if n >= 2)
        if alike < 2 or len(train_rows) < config.min_pairs:
            return Trial(len(train_rows), int(held.sum()), empty, empty, False, None,
                         time.perf_counter() - started,
                         f"too few pairs to learn from: {len(train_rows)} (at least {config.min_pairs}), "
                         f"{alike} entries asked two ways or more (at least 2)")
        confusions = confusions_of(labels, current_vectors) if config.hard_negatives else {}
        weights = train(self.model, self.states([p.text for p in train_rows]), [p.entry for p in train_rows],
                        current, TrainConfig(steps=config.steps_for(len(train_rows)), batch=config.batch, lr=config.lr,
                                             hard_negatives=config.hard_negatives, seed=config.seed),
                        confusions)
        candidate_vectors = self.encode(texts, weights)
        encoded = dict(zip(texts, candidate_vectors, strict=True))
        asked = held_lessons(pairs, config) if config.rule is not None else ([], [])
        if not held.any() and not asked[0]:
            return Trial(len(train_rows), 0, empty, empty, False, weights, time.perf_counter() - started,
                         "no held-out pairs yet to judge a candidate by", confusions, encoded)
        before, after = judge(texts, labels, current_vectors, candidate_vectors, held, config,
                              (asked[1], self.encode(asked[0], current), self.encode(asked[0], weights))
                              if asked[0] else None)
        promote = better(after, before)
        why = ("answers more held-out questions at no higher wrong rate" if promote else
               "does not answer more held-out questions at no higher wrong rate")
        return Trial(len(train_rows), int(held.sum()) + len(asked[0]), before, after, promote, weights,
                     time.perf_counter() - started, why, confusions, encoded)


def held_lessons(pairs: Sequence[Pair], config: AdaptConfig) -> tuple[list[str], list[str]]:
    """(texts, entries) of the held-out lessons that are not forms: the askers' picks after
    "did you mean" and their Solved questions (``judge_picks``). Unlike taught forms, which
    are the questions the decision could not answer, these are questions it came close
    to or answered, so they judge a candidate on more than the current model's failures."""
    if not config.judge_picks:
        return [], []
    chosen = [p for p in pairs if p.form_id is None and p.kind in ("pick", "solved")
              and is_held_out(p.text, config.held_out_share)]
    return [p.text for p in chosen], [p.entry for p in chosen]


def judge(texts: Sequence[str], labels: Sequence[str], current: np.ndarray, candidate: np.ndarray,
          held: np.ndarray, config: AdaptConfig,
          asked: tuple[Sequence[str], np.ndarray, np.ndarray] | None = None) -> tuple[HeldOut, HeldOut]:
    """Both models' held-out figures at the operating point of the decision in use:
    the rule's thresholds when the space decides by them, else the calibrated estimate
    (each model calibrated on its own vectors). ``asked``: held-out questions that are not
    forms (their entries, then their vectors under the current and the candidate model),
    asked too when the rule decides."""
    if config.rule is not None:
        return (evaluate_rule(labels, current, held, config.rule, None if asked is None else (asked[0], asked[1])),
                evaluate_rule(labels, candidate, held, config.rule, None if asked is None else (asked[0], asked[2])))
    old = calibrate(texts, labels, current, config, usable=~held)
    new = calibrate(texts, labels, candidate, config, usable=~held)
    return (evaluate(texts, labels, current, held, old.model, old.answer_at),
            evaluate(texts, labels, candidate, held, new.model, new.answer_at))
