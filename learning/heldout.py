"""Asking the store its own questions: calibration examples and held-out figures.

Both the calibration and the promotion of a candidate model need questions
whose right entry is known. The store has them: every question form. A form
asked against all the others (leave-one-out) is a question of a known entry;
the same form asked against the store without its entry (leave-entry-out) is
a question nobody has answered yet, which the bot must not answer. Taught
forms chosen by a stable hash are *held out*: never trained on, they score a
candidate model at the policy's operating point.
"""

from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from learning.calibration import Calibrator, candidate_features, lexical_overlap

NOT_NEAR = 99  # the right entry is not among the first three candidates (or there is none)
DEPTH = 48  # nearest forms looked at per question, as the live search does
SUPPORT_K = 5


def _rows(vectors: np.ndarray, idx: np.ndarray, block: int = 256) -> Iterator[np.ndarray]:
    """Similarities of the ``idx`` rows to every row, a block of rows per matrix product."""
    for start in range(0, len(idx), block):
        yield from vectors[idx[start:start + block]] @ vectors.T


def is_held_out(text: str, share: int = 5) -> bool:
    """One taught pair in ``share`` is held out, by a hash of its text (stable across runs)."""
    return zlib.crc32(text.encode("utf-8")) % share == 0


@dataclass(frozen=True, slots=True)
class Ranked:
    entry: str
    score: float
    second: float | None
    support: int


def rank_entries(scores: np.ndarray, labels: Sequence[str], depth: int = DEPTH) -> list[Ranked]:
    """One row per entry among the ``depth`` nearest forms, best first (as ``KnowledgeBase.search``)."""
    top = np.argpartition(-scores, min(depth, len(scores) - 1))[:depth] if len(scores) > depth else \
        np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    best: dict[str, list[float]] = {}
    support: dict[str, int] = defaultdict(int)
    order: list[str] = []
    for rank, i in enumerate(top):
        s = float(scores[i])
        if s <= -1.5:
            break
        label = labels[i]
        if rank < SUPPORT_K:
            support[label] += 1
        if label not in best:
            best[label] = [s]
            order.append(label)
        elif len(best[label]) == 1:
            best[label].append(s)
    return [Ranked(e, best[e][0], best[e][1] if len(best[e]) > 1 else None, support[e]) for e in order]


def features_of(question: str, ranked: Sequence[Ranked], forms_of: dict[str, list[str]],
                n: int = 3) -> list[np.ndarray]:
    """Feature rows of the first ``n`` candidates."""
    rows = []
    for k, r in enumerate(ranked[:n]):
        other = max((o.score for o in ranked if o.entry != r.entry), default=0.0)
        texts = forms_of.get(r.entry, [])
        lexical = max((lexical_overlap(question, t) for t in texts), default=0.0)
        rows.append(candidate_features(score=r.score, best_other=other, second=r.second, support=r.support,
                                       rank=k, forms=len(texts), lexical=lexical))
    return rows


def examples(texts: Sequence[str], labels: Sequence[str], vectors: np.ndarray, *, unknown_weight: float = 1.0,
             limit: int = 800, seed: int = 0, usable: np.ndarray | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Calibration examples (X, y, weight, rank) from the forms themselves.

    ``rank`` is, for a top candidate's row, where the right entry stood among
    the first three (0, 1, 2; ``NOT_NEAR`` when further or unknown), and -1 for
    the other rows: the chance that two or three options together hold the
    right one is learned from it. ``usable`` marks the forms that may be asked
    and searched (default: all); held-out forms are left out this way.
    """
    usable = np.ones(len(texts), dtype=bool) if usable is None else usable
    idx = np.flatnonzero(usable)
    if len(idx) > limit:
        idx = np.sort(np.random.default_rng(seed).choice(idx, limit, replace=False))
    labels_arr = np.asarray(labels)
    forms_of: dict[str, list[str]] = defaultdict(list)
    for text, label, ok in zip(texts, labels, usable, strict=True):
        if ok:
            forms_of[label].append(text)
    X: list[np.ndarray] = []
    y: list[float] = []
    w: list[float] = []
    at: list[int] = []
    if len(idx) == 0:
        return np.zeros((0, 0)), np.zeros(0), np.zeros(0), np.zeros(0, dtype=int)
    for i, s in zip(idx.tolist(), _rows(vectors, idx), strict=True):
        s[~usable] = -2.0
        s[i] = -2.0
        own = labels[i]
        if len(forms_of[own]) > 1:
            less = {**forms_of, own: [t for t in forms_of[own] if t != texts[i]]}
            ranked = rank_entries(s, labels)
            where = next((k for k, r in enumerate(ranked[:3]) if r.entry == own), NOT_NEAR)
            for k, f in enumerate(features_of(texts[i], ranked, less)):
                X.append(f)
                y.append(1.0 if ranked[k].entry == own else 0.0)
                w.append(1.0)
                at.append(where if k == 0 else -1)
        s[labels_arr == own] = -2.0
        ranked = rank_entries(s, labels)
        for f in features_of(texts[i], ranked, forms_of, n=1):
            X.append(f)
            y.append(0.0)
            w.append(unknown_weight)
            at.append(NOT_NEAR)
    return np.array(X), np.array(y), np.array(w), np.array(at, dtype=int)


@dataclass(frozen=True, slots=True)
class HeldOut:
    """A model at the operating point on held-out questions: known ones, and the same as unknowns."""

    questions: int
    right: int
    wrong: int
    unknown_answered: int

    @property
    def answered(self) -> int:
        return self.right + self.wrong

    def as_dict(self) -> dict[str, int]:
        return {"questions": self.questions, "right": self.right, "wrong": self.wrong,
                "unknown_answered": self.unknown_answered}


def evaluate(texts: Sequence[str], labels: Sequence[str], vectors: np.ndarray, held: np.ndarray,
             calibrator: Calibrator, answer_at: float) -> HeldOut:
    """Ask every held-out form against the rest; count what the policy would answer."""
    idx = np.flatnonzero(held)
    if len(idx) == 0:
        return HeldOut(0, 0, 0, 0)
    labels_arr = np.asarray(labels)
    forms_of: dict[str, list[str]] = defaultdict(list)
    for text, label, h in zip(texts, labels, held, strict=True):
        if not h:
            forms_of[label].append(text)
    right = wrong = unknown = 0
    for i, s in zip(idx.tolist(), _rows(vectors, idx), strict=True):
        s[held] = -2.0
        ranked = rank_entries(s, labels)
        feats = features_of(texts[i], ranked, forms_of, n=1)
        if feats and calibrator.prob(feats[0]) >= answer_at:
            if ranked[0].entry == labels[i]:
                right += 1
            else:
                wrong += 1
        s[labels_arr == labels[i]] = -2.0
        ranked = rank_entries(s, labels)
        feats = features_of(texts[i], ranked, forms_of, n=1)
        if feats and calibrator.prob(feats[0]) >= answer_at:
            unknown += 1
    return HeldOut(len(idx), right, wrong, unknown)


def better(candidate: HeldOut, current: HeldOut) -> bool:
    """Promote only when the candidate answers more at no higher wrong rate."""
    if candidate.right <= current.right:
        return False
    bad_new = candidate.wrong + candidate.unknown_answered
    bad_old = current.wrong + current.unknown_answered
    answered_new = candidate.answered + candidate.unknown_answered
    answered_old = current.answered + current.unknown_answered
    # no higher wrong *rate* among what each answers (cross-multiplied; 0 answers is rate 0)
    return bad_new * max(answered_old, 1) <= bad_old * max(answered_new, 1)
