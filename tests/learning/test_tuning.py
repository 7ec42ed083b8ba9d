"""The encoder's adaptation (``learning.tuning``): what staff taught makes two
entries people confuse easier to tell apart, on questions it never saw."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from knowledge.embedder import model_path
from learning.tuning import TopLayers, TrainConfig, train

TAUGHT = {
    "card_lost": ["I lost my card", "my card is missing", "can't find my bank card", "I think my card was stolen",
                  "someone took my wallet with the card in it"],
    "card_declined": ["my card was declined", "card payment refused", "why was my card rejected at the shop",
                      "the terminal said my card is not accepted", "payment with my card failed"],
    "password": ["I forgot my password", "reset my login", "can't sign in any more", "how do I change my password"],
    "invoice": ["where is my invoice", "download a receipt", "billing document for my purchase",
                "I need a copy of my bill"],
}
# asked later, never trained on
HELD_OUT = {"card_lost": ["I misplaced my credit card", "my debit card has gone missing", "lost card, what now"],
            "card_declined": ["the shop would not accept my card", "my card keeps getting refused",
                              "why does my card not work for payments"]}
CONFUSED = {"card_lost": "card_declined", "card_declined": "card_lost"}


@pytest.fixture(scope="module")
def model() -> TopLayers:
    torch.set_num_threads(1)
    return TopLayers(model_path())


def taught(model: TopLayers) -> tuple[list[torch.Tensor], list[str]]:
    texts = [t for forms in TAUGHT.values() for t in forms]
    return model.lower(texts), [e for e, forms in TAUGHT.items() for _ in forms]


def separations(model: TopLayers, weights: dict[str, torch.Tensor] | None) -> list[float]:
    """Per held-out question: cosine to its own entry's centroid minus to the confused entry's."""
    states, labels = taught(model)
    forms = model.encode_states(states, weights)
    centre = {}
    for entry in TAUGHT:
        mean = forms[[i for i, label in enumerate(labels) if label == entry]].mean(0)
        centre[entry] = mean / np.linalg.norm(mean)
    asked = [(t, e) for e, texts in HELD_OUT.items() for t in texts]
    vectors = model.encode_states(model.lower([t for t, _ in asked]), weights)
    return [float(v @ centre[e] - v @ centre[CONFUSED[e]]) for v, (_, e) in zip(vectors, asked, strict=True)]


def test_adaptation_tells_two_confused_entries_apart_on_questions_it_never_saw(model: TopLayers) -> None:
    states, labels = taught(model)
    tuned = train(model, states, labels, None, TrainConfig(seed=3), CONFUSED)
    again = train(model, states, labels, None, TrainConfig(seed=3), CONFUSED)

    before, after = separations(model, None), separations(model, tuned)
    assert all(a > b + 0.1 for a, b in zip(after, before, strict=True)), (before, after)
    assert all(torch.equal(tuned[k], again[k]) for k in tuned)  # same pairs, same seed: same weights


def test_supervised_contrastive_loss_also_separates_them(model: TopLayers) -> None:
    states, labels = taught(model)
    tuned = train(model, states, labels, None, TrainConfig(seed=3, loss="supcon", forms=3), CONFUSED)
    assert np.mean(separations(model, tuned)) > np.mean(separations(model, None)) + 0.05


def test_the_geometry_term_holds_different_entries_where_the_base_model_put_them(model: TopLayers) -> None:
    states, labels = taught(model)
    different = np.array([[a != b for b in labels] for a in labels])

    def moved(weights: dict[str, torch.Tensor]) -> float:
        base, tuned = model.encode_states(states, None), model.encode_states(states, weights)
        return float(np.abs(tuned @ tuned.T - base @ base.T)[different].mean())

    free = train(model, states, labels, None, TrainConfig(seed=3, lr=2e-4), CONFUSED)
    kept = train(model, states, labels, None, TrainConfig(seed=3, lr=2e-4, keep=200.0), CONFUSED)
    assert moved(kept) < 0.7 * moved(free), (moved(kept), moved(free))
