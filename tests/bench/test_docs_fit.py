"""The docs estimate is fitted honestly: a project's held-out figures come
from weights and a threshold that never saw its labels, and the threshold
keeps the training projects' wrong answers within the budget."""

from __future__ import annotations

import random

from bench.docs_fit import Asked
from bench.docs_model import evaluate, fit_lopo, fit_weights
from bot.estimate import Weights
from bot.policy import Option


def asked(project: str, n: int, seed: int) -> list[Asked]:
    """Questions whose leading docs section is right when it leads clearly by
    meaning and by words, and a neighbour otherwise (noisy, like real docs)."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        strong = rnd.random() < 0.5
        top = rnd.uniform(0.62, 0.8) if strong else rnd.uniform(0.45, 0.62)
        other = top - (rnd.uniform(0.1, 0.25) if strong else rnd.uniform(0.0, 0.08))
        options = [
            Option(f"{project}-a{i}", top, kind="docs", section=f"a.md#A{i}", dense_rank=1,
                   lexical_rank=1 if strong else 2, lexical_score=9.0 if strong else 3.0,
                   coverage=0.8 if strong else 0.3, fused=0.04 if strong else 0.02),
            Option(f"{project}-b{i}", other, kind="docs", section=f"b.md#B{i}", dense_rank=2,
                   lexical_rank=2 if strong else 1, lexical_score=3.0 if strong else 4.0,
                   coverage=0.2, fused=0.01 if strong else 0.019),
        ]
        right = strong == (rnd.random() < 0.9)
        out.append(Asked(project, f"q{i}", (f"a.md#a{i}",) if right else (), False, options))
    return out


def test_a_held_out_project_is_scored_by_weights_fitted_without_its_labels() -> None:
    data = {"p": asked("p", 60, 1), "q": asked("q", 60, 2), "r": asked("r", 60, 3)}
    before = fit_lopo(data, max_wrong=0.02)
    relabelled = {**data, "r": [Asked(a.project, a.question, () if a.labels else ("a.md#x",), a.social,
                                      a.options) for a in data["r"]]}
    after = fit_lopo(relabelled, max_wrong=0.02)
    assert after["r"].weights == before["r"].weights and after["r"].threshold == before["r"].threshold
    assert after["p"].weights != before["p"].weights  # r's labels do train the others


def test_the_fitted_threshold_keeps_wrong_answers_within_the_budget() -> None:
    train = asked("p", 120, 4) + asked("q", 120, 5)
    fitted = fit_weights(train, max_wrong=0.02)
    figures = evaluate(train, Weights(**fitted.weights), fitted.threshold)
    assert figures["wrong"] <= 0.02 * len(train) and figures["right"] > 0
    assert fitted.weights["agree"] > 0  # agreement of both rankings is what separates right from wrong here
