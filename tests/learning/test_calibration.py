"""The calibrated estimate: a cautious prior, moved by evidence; an operating point that meets a target."""

from __future__ import annotations

import numpy as np

from learning.calibration import Calibrator, candidate_features, lexical_overlap, operating_point


def features(score: float, lead: float, **kw: float) -> np.ndarray:
    return candidate_features(score=score, best_other=score - lead, second=kw.get("second"),
                              support=int(kw.get("support", 1)), rank=0, forms=3,
                              lexical=kw.get("lexical", 0.0))


def test_the_prior_trusts_only_high_clearly_leading_scores() -> None:
    prior = Calibrator.prior()
    assert prior.prob(features(0.95, 0.3)) > 0.97
    assert prior.prob(features(0.70, 0.02)) < 0.5
    assert prior.prob(features(0.55, 0.2)) < 0.1


def test_little_evidence_barely_moves_the_prior_and_much_evidence_does() -> None:
    rng = np.random.default_rng(0)
    # a community where 0.7 with a clear lead is almost always right
    def sample(n: int) -> tuple[np.ndarray, np.ndarray]:
        scores = rng.uniform(0.5, 0.9, n)
        X = np.stack([features(s, 0.2) for s in scores])
        y = (scores > 0.62).astype(float)
        return X, y

    row = features(0.72, 0.2)
    few = Calibrator.prior().fit(*sample(3), strength=20.0)
    many = Calibrator.prior().fit(*sample(3000), strength=20.0)
    before = Calibrator.prior().prob(row)
    assert abs(few.prob(row) - before) < 0.1
    assert many.prob(row) > before + 0.3 and many.examples == 3000


def test_the_operating_point_answers_as_much_as_the_target_allows() -> None:
    probs = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.90, 0.85, 0.80])
    right = np.array([1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    weight = np.ones(8)
    assert operating_point(probs, right, weight, target=0.01, floor=0.5) == 0.90
    assert operating_point(probs, right, weight, target=0.15, floor=0.5) == 0.85
    assert operating_point(probs, right, weight, target=0.01, floor=0.95) == 0.95
    # nothing meets the target: answer nothing
    assert operating_point(np.array([0.9]), np.array([0.0]), np.ones(1), target=0.01) == 1.0


def test_lexical_overlap_ignores_stop_words_and_case() -> None:
    assert lexical_overlap("How do I rotate my API key?", "rotate api key") == 1.0
    assert lexical_overlap("the weather", "refund an order") == 0.0


def test_a_calibrator_survives_a_round_trip_through_json() -> None:
    fitted = Calibrator.prior().fit(np.stack([features(0.8, 0.2), features(0.6, 0.0)]), np.array([1.0, 0.0]))
    again = Calibrator.from_dict(fitted.as_dict())
    row = features(0.75, 0.1)
    assert abs(again.prob(row) - fitted.prob(row)) < 1e-3 and again.examples == 2
