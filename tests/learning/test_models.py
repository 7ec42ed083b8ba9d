"""Model versions: promotion, rejection, rollback, the atomic swap and a crash in the middle of it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch

from bot.core import Core
from bot.learn import make_learner
from knowledge.embedder import CachedEmbedder, model_path
from learning.adapt import Trainer, Trial
from learning.heldout import HeldOut
from learning.models import TunedEmbedder
from learning.tuning import TopLayers, TrainConfig, train
from storage.models import LearningRows
from tests.chat import Chat

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def nudged_weights() -> dict[str, torch.Tensor]:
    """A candidate that differs from the bundled model (its last layer's output bias moved)."""
    model = TopLayers(model_path())
    weights = {k: v.clone() for k, v in model.base_upper.items()}
    name = "encoder.layer.5.output.dense.bias"
    weights[name] = weights[name] + torch.linspace(-0.3, 0.3, weights[name].shape[0])
    return weights


def judged(promote: bool) -> Trial:
    before, after = HeldOut(10, 5, 0, 0), HeldOut(10, 7 if promote else 5, 0, 0)
    return Trial(pairs=40, held_out=10, current=before, candidate=after, promote=promote,
                 weights=nudged_weights(), train_seconds=0.1, why="judged by the test")


async def form_vectors(core: Core) -> tuple[list[str], np.ndarray]:
    rows = await LearningRows(core.db).all_forms()
    _, vectors = await LearningRows(core.db).form_vectors()
    return [r[3] for r in rows], vectors


async def test_a_promoted_model_answers_and_every_decision_names_it(
        learning_core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: judged(promote=True))
    texts, before = await form_vectors(learning_core)
    done = await learning_core.learner.adapt(NOW, learning_core.adopt)
    assert done.promoted and done.version == 1
    assert await LearningRows(learning_core.db).current_model() == 1
    assert learning_core.learner.files.path(1).exists()
    # every form now carries the new model's vector, and the bot embeds with it
    _, after = await form_vectors(learning_core)
    expected = TunedEmbedder(nudged_weights(), 1).encode(texts)
    assert np.allclose(after, expected, atol=1e-5) and not np.allclose(after, before, atol=1e-3)
    assert learning_core.embedder.name == "all-MiniLM-L6-v2+v1"
    said = await Chat(learning_core).ask("How do I rotate my API key?")
    assert said.reply.kind == "answer" and said.reply.sources == ("api-key-rotate",)
    rows = await learning_core.db.fetchall("SELECT body FROM log WHERE kind = 'decision'")
    decision = json.loads(rows[-1]["body"])
    assert decision["model"] == "all-MiniLM-L6-v2+v1" and decision["model_version"] == 1
    history = await LearningRows(learning_core.db).models()
    assert [(m.version, m.status) for m in history] == [(1, "promoted")]
    assert history[0].body["candidate"]["right"] == 7


async def test_a_candidate_that_is_not_better_is_recorded_and_never_answers(
        learning_core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: judged(promote=False))
    _, before = await form_vectors(learning_core)
    done = await learning_core.learner.adapt(NOW, learning_core.adopt)
    assert not done.promoted
    assert await LearningRows(learning_core.db).current_model() == 0
    assert not learning_core.learner.files.path(done.version).exists()
    _, after = await form_vectors(learning_core)
    assert np.array_equal(before, after) and learning_core.embedder.name == "all-MiniLM-L6-v2"
    assert [m.status for m in await LearningRows(learning_core.db).models()] == ["rejected"]


async def test_rollback_brings_back_the_earlier_model_and_its_vectors(
        learning_core: Core, monkeypatch: pytest.MonkeyPatch, embedder: CachedEmbedder) -> None:
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: judged(promote=True))
    texts, before = await form_vectors(learning_core)
    await learning_core.learner.adapt(NOW, learning_core.adopt)
    previous = await learning_core.learner.rollback(0, NOW, learning_core.adopt)
    assert previous == 1
    _, after = await form_vectors(learning_core)
    assert np.allclose(after, embedder.encode(texts), atol=1e-5) and np.allclose(after, before, atol=1e-5)
    assert learning_core.embedder.name == "all-MiniLM-L6-v2"
    assert [(m.version, m.status) for m in await LearningRows(learning_core.db).models()] == [
        (1, "rolled_back")]
    said = await Chat(learning_core).ask("How do I rotate my API key?")
    assert said.reply.sources == ("api-key-rotate",)


async def test_a_crash_while_swapping_leaves_the_old_model_answering_and_nothing_half_swapped(
        learning_core: Core, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, embedder: CachedEmbedder) -> None:
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: judged(promote=True))
    _, before = await form_vectors(learning_core)
    real_swap = LearningRows.swap_in

    async def half_then_crash(self: LearningRows, version: int) -> None:
        await real_swap(self, version)  # the forms are half way to the new vectors …
        raise RuntimeError("power cut")  # … when the process dies inside the transaction

    monkeypatch.setattr(LearningRows, "swap_in", half_then_crash)
    with pytest.raises(RuntimeError, match="power cut"):
        await learning_core.learner.adapt(NOW, learning_core.adopt)
    # the transaction rolled back: old vectors, old model, in the store and in the process
    _, after = await form_vectors(learning_core)
    assert np.array_equal(before, after)
    assert await LearningRows(learning_core.db).current_model() == 0
    assert learning_core.embedder.name == "all-MiniLM-L6-v2" and learning_core.learner.version == 0
    said = await Chat(learning_core).ask("How do I rotate my API key?")
    assert said.reply.kind == "answer" and said.reply.sources == ("api-key-rotate",)
    # the staged vectors of the unfinished swap are dropped at the next start
    assert await LearningRows(learning_core.db).staged_ids(1)
    fresh = make_learner(learning_core.settings, learning_core.db, learning_core.kb)
    assert await fresh.open() == 0
    assert not await LearningRows(learning_core.db).staged_ids(1)


async def test_a_crash_while_re_embedding_changes_nothing(
        learning_core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: judged(promote=True))
    _, before = await form_vectors(learning_core)

    def crash(self: Trainer, texts: list[str], weights: object) -> np.ndarray:
        raise MemoryError("out of memory while embedding")

    monkeypatch.setattr(Trainer, "encode", crash)
    with pytest.raises(MemoryError):
        await learning_core.learner.adapt(NOW, learning_core.adopt)
    _, after = await form_vectors(learning_core)
    assert np.array_equal(before, after) and await LearningRows(learning_core.db).current_model() == 0
    assert learning_core.embedder.name == "all-MiniLM-L6-v2"


def test_training_pulls_an_entrys_questions_together() -> None:
    model = TopLayers(model_path())
    entries = {
        "refund": ["I want my money back", "how do I get a refund", "refund my last order"],
        "password": ["I forgot my password", "reset my login", "can't sign in any more"],
        "invoice": ["where is my invoice", "download a receipt", "billing document for my purchase"],
        "cancel": ["cancel my subscription", "stop my plan", "end the membership"],
    }
    texts = [t for qs in entries.values() for t in qs]
    labels = [e for e, qs in entries.items() for _ in qs]
    states = model.lower(texts)

    def separation(weights: dict[str, torch.Tensor] | None) -> float:
        v = model.encode_states(states, weights)
        sims = v @ v.T
        same = np.array([[a == b for b in labels] for a in labels])
        np.fill_diagonal(same, False)
        other = ~same & ~np.eye(len(labels), dtype=bool)
        return float(sims[same].mean() - sims[other].mean())

    tuned = train(model, states, labels, None, TrainConfig(steps=8, batch=4, lr=1e-4, seed=1))
    again = train(model, states, labels, None, TrainConfig(steps=8, batch=4, lr=1e-4, seed=1))
    assert separation(tuned) > separation(None) + 0.02
    assert all(torch.equal(tuned[k], again[k]) for k in tuned)  # same pairs, same seed: same weights


def twice_nudged() -> dict[str, torch.Tensor]:
    weights = nudged_weights()
    name = "encoder.layer.5.output.dense.bias"
    weights[name] = weights[name] * 2
    return weights


@pytest.mark.parametrize(("missing", "answers_with"), [((2,), 1), ((1, 2), 0)])
async def test_a_lost_weights_file_hands_over_to_the_version_before_it_with_every_form_re_embedded(
        learning_core: Core, monkeypatch: pytest.MonkeyPatch, embedder: CachedEmbedder,
        missing: tuple[int, ...], answers_with: int) -> None:
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: judged(promote=True))
    await learning_core.learner.adapt(NOW, learning_core.adopt)
    second = replace(judged(promote=True), weights=twice_nudged())
    monkeypatch.setattr(Trainer, "trial", lambda self, *a, **k: second)
    assert (await learning_core.learner.adapt(NOW, learning_core.adopt)).version == 2
    kept = learning_core.learner.files.load(1)
    await learning_core.close()
    for version in missing:  # a backup restored without its models folder, or a folder cleaned by hand
        learning_core.learner.files.path(version).unlink()
    reopened = await Core.open(learning_core.settings)
    try:
        assert reopened.learner.version == answers_with
        assert await LearningRows(reopened.db).current_model() == answers_with
        # every stored vector is the surviving model's, and questions are embedded with it too
        texts, vectors = await form_vectors(reopened)
        expected = TunedEmbedder(kept, 1).encode(texts) if answers_with == 1 else embedder.encode(texts)
        assert np.allclose(vectors, expected, atol=1e-5)
        assert reopened.embedder.name == ("all-MiniLM-L6-v2+v1" if answers_with else "all-MiniLM-L6-v2")
        assert (2, "lost") in [(m.version, m.status) for m in await LearningRows(reopened.db).models()]
        said = await Chat(reopened).ask("How do I rotate my API key?")
        assert said.reply.kind == "answer" and said.reply.sources == ("api-key-rotate",)
    finally:
        await reopened.close()
