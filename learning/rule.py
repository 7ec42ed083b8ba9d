"""Held-out figures at the operating point of the rule that answers by default.

A candidate model is promoted when it answers more held-out questions at no
higher wrong rate *at the policy's operating point*. When the space decides by
thresholds (``policy.decide_by: thresholds``, the default), that point is the
centroid rule of ``bot.policy``, not the calibrated estimate: this module asks
each held-out form the rule's own question (its best form, its lead, its
centroid's lead over the other candidates' and its distance to that centroid)
against the rest of the store, and against the store without its entry (a
question nobody has answered yet, which must not be answered).

The numbers come from the settings (``bot.learn``); the learning layer does
not import the policy itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from learning.heldout import HeldOut, rank_entries

CANDIDATES = 5  # hits the live search hands the policy


@dataclass(frozen=True, slots=True)
class FormRule:
    """The centroid rule's thresholds (``bot.settings.PolicySettings``)."""

    answer_threshold: float = 0.64
    centroid_lead: float = 0.12
    form_margin: float = 0.05
    centroid_floor: float = 0.50
    sure_threshold: float = 0.90
    sure_margin: float = 0.10
    lone_floor: float = 0.0
    agree_gap: float = 0.15
    sure_centroid_floor: float = 0.45

    def answers(self, ranked: Sequence[tuple[str, float, float, float | None]]) -> bool:
        """(entry, best form score, centroid cosine, second form score) of the candidates, best first."""
        if not ranked:
            return False
        _, score, centre, second = ranked[0]
        margin = score - ranked[1][1] if len(ranked) > 1 else score
        if score >= self.sure_threshold and margin >= self.sure_margin:
            return centre >= self.sure_centroid_floor  # below: one stray form; the asker confirms it
        lead = centre - max((c for _, _, c, _ in ranked[1:]), default=0.0)
        lone = second is None or second < score - self.agree_gap
        return (score >= self.answer_threshold and lead >= self.centroid_lead and margin >= self.form_margin
                and centre >= self.centroid_floor and not (lone and score < self.lone_floor))


def _centroids(vectors: np.ndarray, labels: Sequence[str], usable: np.ndarray) -> dict[str, np.ndarray]:
    groups: dict[str, list[int]] = {}
    for i, (label, ok) in enumerate(zip(labels, usable, strict=True)):
        if ok:
            groups.setdefault(label, []).append(i)
    out = {}
    for label, rows in groups.items():
        mean = vectors[rows].mean(axis=0)
        norm = float(np.linalg.norm(mean))
        if norm > 0:
            out[label] = mean / norm
    return out


def _ask(scores: np.ndarray, labels: Sequence[str], centres: dict[str, np.ndarray], vector: np.ndarray,
         rule: FormRule) -> str | None:
    """The entry the rule answers with (``None``: it does not answer)."""
    ranked = [(r.entry, r.score, float(centres[r.entry] @ vector), r.second)
              for r in rank_entries(scores, labels)[:CANDIDATES] if r.entry in centres]
    return ranked[0][0] if rule.answers(ranked) else None


def evaluate_rule(labels: Sequence[str], vectors: np.ndarray, held: np.ndarray, rule: FormRule,
                  asked: tuple[Sequence[str], np.ndarray] | None = None) -> HeldOut:
    """Ask every held-out form against the rest (its entry kept, then removed).

    ``asked``: more held-out questions that are not forms of the store (their
    entries, their vectors), such as the askers' picks after "did you mean",
    asked the same way against the forms that are not held out.
    """
    idx = np.flatnonzero(held)
    extra = 0 if asked is None else len(asked[0])
    if len(idx) == 0 and extra == 0:
        return HeldOut(0, 0, 0, 0)
    centres = _centroids(vectors, labels, ~held)
    questions = [(labels[i], vectors[i]) for i in idx.tolist()]
    if asked is not None:
        questions += list(zip(asked[0], asked[1], strict=True))
    labels_arr = np.asarray(labels)
    right = wrong = unknown = 0
    for label, vector in questions:
        scores = vectors @ vector
        scores[held] = -2.0
        answered = _ask(scores, labels, centres, vector, rule)
        right += answered == label
        wrong += answered is not None and answered != label
        scores[labels_arr == label] = -2.0
        unknown += _ask(scores, labels, {k: v for k, v in centres.items() if k != label},
                        vector, rule) is not None
    return HeldOut(len(questions), right, wrong, unknown)


__all__ = ["FormRule", "evaluate_rule"]
