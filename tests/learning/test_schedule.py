"""Options of what and when the loop learns: the first adaptation sooner, steps that grow
with what was taught, and held-out picks asked when a candidate is judged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import torch

from knowledge.embedder import CachedEmbedder, model_path
from learning import adapt as adapt_module
from learning.adapt import AdaptConfig, Trainer, held_lessons
from learning.heldout import HeldOut, is_held_out
from learning.rule import FormRule, evaluate_rule
from learning.tuning import TopLayers, TrainConfig
from learning.tuning import train as tuning_train
from storage.models import LearningRows, Pair
from tests.learning.conftest import core_with_learner
from tests.learning.test_heldout import store, unit

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


async def teach(rows: LearningRows, n: int, at: datetime) -> None:
    for i in range(n):
        await rows.add_lesson(space="help", entry="api-key-rotate", text=f"rotate key {at} {i}", kind="pick",
                              at=at + timedelta(minutes=i))


async def test_the_first_adaptation_falls_due_sooner_and_the_next_ones_as_before(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await core_with_learner(embedder, str(tmp_path / "s.db"),
                                   learning={"every_lessons": 50, "first_lessons": 3, "min_lessons": 1})
    plain = await core_with_learner(embedder, str(tmp_path / "p.db"),
                                    learning={"every_lessons": 50, "min_lessons": 1})
    learner, plain_learner = core.learner, plain.learner
    assert learner is not None and plain_learner is not None
    try:
        for c in (core, plain):
            await teach(LearningRows(c.db), 3, NOW)
        assert await learner.due(NOW + timedelta(hours=1))
        assert not await plain_learner.due(NOW + timedelta(hours=1))
        rows = LearningRows(core.db)
        await rows.set_last_adaptation((NOW + timedelta(hours=1)).isoformat())
        await teach(rows, 3, NOW + timedelta(hours=2))
        assert not await learner.due(NOW + timedelta(hours=3))  # after the first, every 50 again
        await teach(rows, 47, NOW + timedelta(hours=4))
        assert await learner.due(NOW + timedelta(hours=5))
    finally:
        await core.close()
        await plain.close()


def test_steps_grow_with_the_pairs_trained_on_and_stop_at_the_cap() -> None:
    fixed = AdaptConfig(steps=20)
    assert [fixed.steps_for(n) for n in (10, 1000, 100_000)] == [20, 20, 20]
    grows = AdaptConfig(steps=20, steps_per_pair=0.04, max_steps=60)
    assert [grows.steps_for(n) for n in (100, 500, 1000, 1500, 100_000)] == [20, 20, 40, 60, 60]


def test_the_bot_grows_its_steps_with_the_pairs_by_default() -> None:
    from bot.learn import loop_config
    from bot.settings import Settings

    adapt = loop_config(Settings()).adapt
    assert [adapt.steps_for(n) for n in (300, 1000, 5000)] == [20, 40, 60]
    fixed = loop_config(Settings(learning={"steps_per_pair": 0})).adapt  # type: ignore[arg-type]
    assert fixed.steps_for(5000) == 20


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    torch.set_num_threads(1)
    return Trainer(TopLayers(model_path()))


def taught_pairs(n: int) -> list[Pair]:
    return [Pair(f"question {k} about {e}", e, "help", "import", k) for k in range(n) for e in ("a", "b")]


def test_a_trial_trains_as_many_steps_as_the_config_gives_its_pairs(
        trainer: Trainer, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    real = tuning_train

    def spy(model: TopLayers, states: list[torch.Tensor], labels: list[str], start: dict[str, torch.Tensor] | None,
            config: TrainConfig, confusions: dict[str, str] | None = None) -> dict[str, torch.Tensor]:
        seen.append(config.steps)
        return real(model, states, labels, start, TrainConfig(steps=1, batch=2), confusions)

    monkeypatch.setattr(adapt_module, "train", spy)
    pairs = taught_pairs(15)  # 30 pairs
    forms = [(p.text, p.entry) for p in pairs]
    vectors = trainer.encode([t for t, _ in forms], None)
    for config in (AdaptConfig(steps=2, min_pairs=2), AdaptConfig(steps=2, steps_per_pair=0.5, max_steps=12, min_pairs=2)):
        trainer.trial(pairs, forms, vectors, None, config)
    assert seen == [2, 12]  # fixed; 0.5 × 30 = 15, capped at 12


def test_a_held_out_question_that_is_not_a_form_is_asked_against_the_forms() -> None:
    _, labels, vectors = store()
    held = np.zeros(len(labels), dtype=bool)
    near_a, far = unit(1, 0.03, 0.01), unit(0.05, 0.05, 1)
    asked = (["A", "B"], np.stack([near_a, far]))
    # near A's forms: answered, and right; far from every form: not answered; neither once its entry is gone
    assert evaluate_rule(labels, vectors, held, FormRule(), asked) == HeldOut(2, 1, 0, 0)
    # between A and B with B gone, A's forms are near enough: an unknown answered
    assert evaluate_rule(labels, vectors, held, FormRule(), (["B"], unit(1, 1, 0)[None, :])).unknown_answered == 1
    assert evaluate_rule(labels, vectors, held, FormRule()) == HeldOut(0, 0, 0, 0)
    # a question asked as the wrong entry's counts as wrong
    assert evaluate_rule(labels, vectors, held, FormRule(), (["B"], near_a[None, :])).wrong == 1


def test_only_held_out_picks_and_solved_questions_judge_and_only_when_asked_to() -> None:
    texts = [f"how do I do thing {i}" for i in range(60)]
    pairs = [Pair(t, "e", "help", kind, None) for t in texts for kind in ("pick", "solved")]
    pairs += [Pair(t, "e", "help", "staff", 1) for t in texts]  # forms: judged as forms already
    chosen, entries = held_lessons(pairs, AdaptConfig(judge_picks=True))
    held = [t for t in texts if is_held_out(t)]
    assert held and chosen == [t for t in held for _ in ("pick", "solved")] and set(entries) == {"e"}
    assert held_lessons(pairs, AdaptConfig()) == ([], [])


def test_a_trial_asks_its_held_out_picks_only_when_told_to(trainer: Trainer) -> None:
    pairs = taught_pairs(6)  # imported forms: none held out
    picks = [t for t in (f"which one for {e} number {k}" for k in range(40) for e in ("a", "b")) if is_held_out(t)]
    pairs += [Pair(t, "a" if " a " in t else "b", "help", "pick") for t in picks]
    forms = [(p.text, p.entry) for p in pairs if p.form_id is not None]
    vectors = trainer.encode([t for t, _ in forms], None)
    quick = {"steps": 1, "batch": 2, "min_pairs": 2, "rule": FormRule()}
    plain = trainer.trial(pairs, forms, vectors, None, AdaptConfig(**quick))  # type: ignore[arg-type]
    assert not plain.promote and plain.why == "no held-out pairs yet to judge a candidate by"
    judged = trainer.trial(pairs, forms, vectors, None, AdaptConfig(**quick, judge_picks=True))  # type: ignore[arg-type]
    assert picks and judged.held_out == len(picks) == judged.current.questions == judged.candidate.questions


def test_a_trial_on_too_little_says_how_much_it_has_and_needs(trainer: Trainer) -> None:
    pairs = taught_pairs(3)  # 6 pairs: two entries, each asked three ways
    forms = [(p.text, p.entry) for p in pairs]
    vectors = trainer.encode([t for t, _ in forms], None)
    trial = trainer.trial(pairs, forms, vectors, None, AdaptConfig(steps=1))
    assert not trial.promote and trial.weights is None
    assert trial.why == "too few pairs to learn from: 6 (at least 20), 2 entries asked two ways or more (at least 2)"
