"""Held-out evaluation: known questions asked against the rest, and again as unknowns."""

from __future__ import annotations

import numpy as np

from learning.calibration import Calibrator
from learning.heldout import HeldOut, better, evaluate, examples, is_held_out, rank_entries


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def store() -> tuple[list[str], list[str], np.ndarray]:
    texts = ["a1", "a2", "a3", "b1", "b2", "b3"]
    labels = ["A", "A", "A", "B", "B", "B"]
    vectors = np.stack([unit(1, 0.02, 0), unit(1, 0, 0.02), unit(1, 0.01, 0.01),
                        unit(0, 1, 0.02), unit(0.02, 1, 0), unit(0.01, 1, 0.01)])
    return texts, labels, vectors


def test_entries_are_ranked_by_their_best_form_with_the_second_as_agreement() -> None:
    ranked = rank_entries(np.array([0.9, 0.8, 0.1, 0.5]), ["A", "A", "B", "C"])
    assert [r.entry for r in ranked] == ["A", "C", "B"]
    assert ranked[0].second == 0.8 and ranked[0].support == 2 and ranked[1].second is None


def test_a_held_out_question_of_a_clear_entry_is_answered_right_and_never_as_an_unknown() -> None:
    texts, labels, vectors = store()
    held = np.array([True, False, False, False, False, False])
    result = evaluate(texts, labels, vectors, held, Calibrator.prior(), answer_at=0.9)
    # with A's other forms it is A; without them (an unknown question) B is far: not answered
    assert result == HeldOut(questions=1, right=1, wrong=0, unknown_answered=0)


def test_a_reckless_operating_point_answers_unknowns_and_is_counted() -> None:
    texts, labels, vectors = store()
    held = np.array([True, False, False, True, False, False])
    reckless = evaluate(texts, labels, vectors, held, Calibrator.prior(), answer_at=0.0)
    assert reckless.unknown_answered == 2 and reckless.right == 2


def test_promotion_needs_more_right_answers_at_no_higher_wrong_rate() -> None:
    now = HeldOut(100, right=50, wrong=1, unknown_answered=1)
    assert better(HeldOut(100, right=60, wrong=1, unknown_answered=1), now)
    assert not better(HeldOut(100, right=50, wrong=0, unknown_answered=0), now)  # not more answers
    assert not better(HeldOut(100, right=60, wrong=5, unknown_answered=3), now)  # wrong rate up
    assert better(HeldOut(100, right=80, wrong=2, unknown_answered=1), now)  # 3/83 < 2/52


def test_calibration_examples_hold_known_and_unknown_questions() -> None:
    texts, labels, vectors = store()
    X, y, w, rank = examples(texts, labels, vectors)
    assert len(X) == len(y) == len(w) and y.sum() >= 6  # every form finds its own entry again
    assert (y == 0).sum() >= 6  # and each, asked without its entry, is a negative
    assert set(rank[rank >= 0]) <= {0, 1, 2, 99} and (rank == 99).sum() >= 6  # unknowns: right one not near


def test_the_held_out_share_is_stable() -> None:
    picks = [is_held_out(f"question {i}") for i in range(1000)]
    assert picks == [is_held_out(f"question {i}") for i in range(1000)]
    assert 150 < sum(picks) < 250
