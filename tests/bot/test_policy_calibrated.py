"""The calibrated decision: answer at the operating point, offer options that together are likely."""

from __future__ import annotations

from bot.policy import Option, Signals, decide
from bot.settings import PolicySettings

T = PolicySettings(decide_by="calibrated")


def opt(entry: str, p: float, score: float = 0.7, **kw: object) -> Option:
    return Option(entry=entry, score=score, probability=p, **kw)  # type: ignore[arg-type]


def test_answers_when_the_top_entry_reaches_the_operating_point() -> None:
    d = decide([opt("a", 0.97), opt("b", 0.01, 0.4)], Signals(), T, answer_at=0.95)
    assert d.kind == "answer" and d.entry == "a" and "0.970" in d.why


def test_a_high_cosine_alone_does_not_answer_when_the_estimate_is_low() -> None:
    d = decide([opt("a", 0.5, score=0.93), opt("b", 0.05, 0.6)], Signals(), T, answer_at=0.95)
    assert d.kind == "route"


def test_two_options_together_likely_and_neither_alone_enough_are_offered() -> None:
    d = decide([opt("a", 0.45, together=(0.9, 0.95)), opt("b", 0.40), opt("c", 0.02)], Signals(), T,
               answer_at=0.95)
    assert d.kind == "clarify" and d.options == ("a", "b")


def test_three_are_offered_when_only_three_together_are_likely_enough() -> None:
    d = decide([opt("a", 0.3, together=(0.5, 0.9)), opt("b", 0.2), opt("c", 0.1)], Signals(), T,
               answer_at=0.95)
    assert d.kind == "clarify" and d.options == ("a", "b", "c")


def test_unlikely_options_are_not_offered() -> None:
    d = decide([opt("a", 0.3, together=(0.4, 0.5)), opt("b", 0.2), opt("c", 0.05)], Signals(), T,
               answer_at=0.95)
    assert d.kind == "route" and d.reason == "low_confidence"


def test_a_held_back_entry_goes_to_staff_with_the_reason() -> None:
    why = "a is held back: 3 of its 5 answers were met by Not solved"
    d = decide([opt("a", 0.99, held_back=why), opt("b", 0.0, 0.3)], Signals(), T, answer_at=0.95)
    assert d.kind == "route" and d.why == why


def test_without_probabilities_the_thresholds_decide() -> None:
    d = decide([Option("a", 0.95, second=0.9), Option("b", 0.3)], Signals(), T, answer_at=None)
    assert d.kind == "answer" and d.confidence == 0.95


def test_a_person_asked_for_is_a_person_given() -> None:
    d = decide([opt("a", 0.99)], Signals(human_requested=True), T, answer_at=0.9)
    assert d.kind == "route" and d.reason == "human_requested"


def test_a_held_back_entry_goes_to_staff_under_the_thresholds_too() -> None:
    why = "a is held back: 4 of its 6 answers were met by Not solved"
    d = decide([Option("a", 0.97, second=0.95, held_back=why), Option("b", 0.3)], Signals(), T, answer_at=None)
    assert d.kind == "route" and d.why == why
