"""A candidate model is judged at the operating point of the rule that answers by
default (the centroid rule), not by a calibrated estimate the space does not use."""

from __future__ import annotations

import numpy as np

from bot.learn import form_rule
from bot.settings import Settings
from learning.adapt import AdaptConfig, judge
from learning.heldout import HeldOut
from learning.rule import FormRule, evaluate_rule
from tests.learning.test_heldout import store, unit


def test_a_held_out_question_near_its_entry_as_a_whole_is_answered_right() -> None:
    _, labels, vectors = store()
    held = np.array([True, False, False, False, False, False])
    # asked against A's other forms it is A; without them, B's forms are far: not answered
    assert evaluate_rule(labels, vectors, held, FormRule()) == HeldOut(1, 1, 0, 0)


def test_a_question_between_two_entries_is_not_answered_and_a_lax_rule_would() -> None:
    labels = ["A", "A", "B", "B"]
    vectors = np.stack([unit(1, 0.9, 0), unit(1, 0, 0.3), unit(0.2, 1, 0), unit(0, 1, 0.3)])
    held = np.array([True, False, False, False])
    strict = evaluate_rule(labels, vectors, held, FormRule())
    assert strict.answered == 0
    lax = FormRule(answer_threshold=0.0, centroid_lead=-1.0, form_margin=-1.0, centroid_floor=0.0)
    assert evaluate_rule(labels, vectors, held, lax).answered == 1


def test_the_rule_floor_holds_back_a_lead_far_from_the_centroid() -> None:
    ranked = [("A", 0.75, 0.45, 0.74), ("B", 0.40, 0.20, None)]
    assert FormRule().answers([("A", 0.75, 0.55, 0.74), ("B", 0.40, 0.20, None)])
    assert not FormRule().answers(ranked)
    assert FormRule(centroid_floor=0.4).answers(ranked)


def test_the_rule_lone_floor_holds_back_one_weak_close_form() -> None:
    lone = [("A", 0.68, 0.60, None), ("B", 0.40, 0.20, None)]
    assert FormRule().answers(lone)
    assert not FormRule(lone_floor=0.70).answers(lone)
    assert FormRule(lone_floor=0.70).answers([("A", 0.68, 0.60, 0.66), ("B", 0.40, 0.20, None)])


def test_candidates_are_judged_by_the_rule_the_space_decides_by() -> None:
    _, labels, vectors = store()
    texts = [f"t{i}" for i in range(len(labels))]
    held = np.array([True, False, False, True, False, False])
    by_rule = judge(texts, labels, vectors, vectors, held, AdaptConfig(rule=FormRule()))
    assert by_rule == (HeldOut(2, 2, 0, 0), HeldOut(2, 2, 0, 0))
    never = FormRule(answer_threshold=2.0, sure_threshold=2.0)
    assert judge(texts, labels, vectors, vectors, held, AdaptConfig(rule=never))[0].answered == 0


def test_the_settings_choose_the_rule_only_when_it_decides() -> None:
    rule = form_rule(Settings())
    assert rule is not None and rule.centroid_lead == Settings().policy.centroid_lead
    assert rule.centroid_floor == Settings().policy.centroid_floor
    assert form_rule(Settings(policy={"lone_floor": 0.7})).lone_floor == 0.7  # type: ignore[arg-type,union-attr]
    assert form_rule(Settings(policy={"decide_by": "calibrated"})) is None  # type: ignore[arg-type]
    assert form_rule(Settings(policy={"centroid_lead": 0.0})) is None  # type: ignore[arg-type]


def test_the_held_out_rule_answers_exactly_when_the_policy_would() -> None:
    """learning/ cannot import the policy (layers), so the rule is written twice:
    over many random candidate lists both must agree on "answer"."""
    from bot.policy import Option, Signals, decide_forms

    settings = Settings(policy={"lone_floor": 0.7})  # type: ignore[arg-type]
    rule = form_rule(settings)
    assert rule is not None
    rng = np.random.default_rng(7)
    answered = 0
    for _ in range(3000):
        scores = sorted(rng.uniform(0.3, 1.0, size=int(rng.integers(1, 6))), reverse=True)
        options = []
        for n, score in enumerate(scores):
            second = None if rng.random() < 0.3 else float(score - rng.uniform(0.0, 0.3))
            options.append(Option(entry=f"e{n}", score=float(score), second=second,
                                  centroid=float(score - rng.uniform(0.0, 0.6))))
        ranked = [(o.entry, o.score, o.centroid or 0.0, o.second) for o in options]
        policy_answers = decide_forms(options, Signals(), settings.policy).kind == "answer"
        assert rule.answers(ranked) == policy_answers, options
        answered += policy_answers
    assert 100 < answered < 2900  # both outcomes were exercised
