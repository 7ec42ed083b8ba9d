"""Fitting ``bot.estimate``'s weights and the docs answer threshold (used by
``bench/docs_fit.py``): a logistic regression over the named terms of the
leading docs candidate, "is it one of the question's labels?", and the lowest
threshold whose answers on the training questions stay within a wrong-answer
budget. Decisions are ``bot.policy.decide`` itself.

With a few hundred questions a free fit ranks worse at the top than the
hand-set weights it would replace, so the fit starts from them: each
coefficient is pulled towards ``PRIOR`` (the hand-set weights; 0 for a term
they did not use) with ``PRIOR_L2``, and the data moves it only as far as
they carry it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.estimate import Weights, estimate, features_of, leader, terms_of
from bot.policy import DOCS, Signals, decide
from bot.settings import PolicySettings

if TYPE_CHECKING:
    from bench.docs_fit import Asked

TERMS = [f.name for f in fields(Weights) if f.name != "bias"]
L2 = 1.0  # on the coefficients (not the bias), in log-likelihood units
# The hand-set weights the fit starts from (the estimate shipped before any fit).
PRIOR = Weights(bias=-2.0, agree=3.0, dense=9.0, lead=4.0, coverage=2.0, lexical_lead=0.8, forms_agree=0.5,
                page_lead=0.0, page_agree=0.0, heading_coverage=0.0, known=0.0, passage=0.0, words=0.0,
                heading_lead=0.0, heading_dense_lead=0.0)
PRIOR_L2 = 5.0  # pull towards a hand-set weight
NEW_L2 = 0.5  # pull towards 0 for a term the hand-set weights did not use
LOWEST, HIGHEST = 0.55, 0.99  # the threshold PolicySettings accepts is strictly between 0.5 and 1


@dataclass
class FitResult:
    weights: dict[str, float]
    threshold: float
    figures: dict[str, int]


def examples(asked: Sequence[Asked]) -> tuple[np.ndarray, np.ndarray]:
    """(terms of each question's leading docs candidate, whether it is right)."""
    rows, right = [], []
    for a in asked:
        docs = [o for o in a.options if o.kind == DOCS]
        if a.social or not docs:
            continue
        top = leader(docs)
        terms = terms_of(features_of(top, a.options, len(a.question.split())))
        rows.append([terms[t] for t in TERMS])
        right.append(float((top.section or "").lower() in a.labels))
    return np.asarray(rows, dtype=float).reshape(-1, len(TERMS)), np.asarray(right)


MAX_STEP = 2.0  # the largest change of one coefficient in one Newton step


def logistic(x: np.ndarray, y: np.ndarray, l2: float | np.ndarray = L2, steps: int = 200,
             prior: np.ndarray | None = None) -> np.ndarray:
    """Newton's method on the penalised log-likelihood, each coefficient pulled
    towards ``prior`` (zeros when none) by ``l2`` (one for all, or one per
    coefficient); returns [bias, *coefficients]."""
    design = np.hstack([np.ones((len(x), 1)), x])
    start = np.zeros(design.shape[1]) if prior is None else np.asarray(prior, dtype=float)
    beta = start.copy()
    penalty = np.full(design.shape[1], l2) if np.isscalar(l2) else np.concatenate([[0.0], l2])
    penalty[0] = 1e-6
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ beta, -50, 50)))
        gradient = design.T @ (y - p) - penalty * (beta - start)
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        # Damped: from a start far from the optimum (the prior, on nearly
        # separable data) a full Newton step can overshoot without end.
        step *= min(1.0, MAX_STEP / max(float(np.max(np.abs(step))), 1e-12))
        beta += step
        if np.max(np.abs(step)) < 1e-8:
            break
    return beta


def weights_from(beta: np.ndarray) -> Weights:
    return Weights(bias=float(beta[0]), **{t: float(b) for t, b in zip(TERMS, beta[1:], strict=True)})


def evaluate(asked: Sequence[Asked], weights: Weights, threshold: float) -> dict[str, int]:
    """First-contact outcomes under ``bot.policy.decide``: right, wrong, clarified, handed over."""
    settings = PolicySettings(docs_answer_estimate=threshold)
    count: Counter[str] = Counter()
    for a in asked:
        decision = decide(a.options, Signals(social=a.social, words=len(a.question.split())), settings, weights)
        count["questions"] += 1
        count["answerable"] += a.answerable
        if decision.kind == "clarify":
            count["clarified"] += 1
        elif decision.kind != "answer":
            count["handed_over"] += 1
        else:
            cited = next((o.section for o in a.options if o.entry == decision.entry), None)
            count["right" if (cited or "").lower() in a.labels else "wrong"] += 1
    return {k: count[k] for k in ("questions", "answerable", "right", "wrong", "clarified", "handed_over")}


def threshold_for(asked: Sequence[Asked], weights: Weights, max_wrong: float) -> float:
    """The lowest threshold at which the answers given stay within ``max_wrong``
    (a share of all the questions) — the most answered within the budget."""
    chances = []
    for a in asked:
        docs = [o for o in a.options if o.kind == DOCS]
        if a.social or not docs:
            continue
        top = leader(docs)
        chances.append((estimate(features_of(top, a.options, len(a.question.split())), weights),
                        (top.section or "").lower() in a.labels))
    budget = max_wrong * len(asked)
    wrong, best = 0, HIGHEST
    for chance, right in sorted(chances, reverse=True):
        if not right:
            wrong += 1
            if wrong > budget:
                break
        best = chance
    return float(min(HIGHEST, max(LOWEST, best)))


def fit_weights(asked: Sequence[Asked], *, max_wrong: float) -> FitResult:
    x, y = examples(asked)
    prior = np.array([PRIOR.bias, *(PRIOR.of(t) for t in TERMS)])
    pull = np.array([PRIOR_L2 if PRIOR.of(t) else NEW_L2 for t in TERMS])
    weights = weights_from(logistic(x, y, pull, prior=prior))
    threshold = threshold_for(asked, weights, max_wrong)
    return FitResult({f.name: round(weights.of(f.name), 4) for f in fields(Weights)}, round(threshold, 4),
                     evaluate(asked, weights, threshold))


def fit_lopo(data: Mapping[str, Sequence[Asked]], *, max_wrong: float) -> dict[str, FitResult]:
    """Each project scored with weights and a threshold fitted on the others."""
    out = {}
    for name, held_out in data.items():
        train = [a for other, asked in data.items() if other != name for a in asked]
        fitted = fit_weights(train, max_wrong=max_wrong)
        weights = Weights(**fitted.weights)
        out[name] = FitResult(fitted.weights, fitted.threshold, evaluate(held_out, weights, fitted.threshold))
    return out


__all__: list[Any] = ["FitResult", "evaluate", "fit_lopo", "fit_weights"]
