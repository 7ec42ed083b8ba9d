"""Sensitive cases: keyword cues without a model, embeddings when one is given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

from bot.trust.sensitive import (
    DEFAULT_COUNTER_EXAMPLES,
    DEFAULT_EXAMPLES,
    DEFAULT_THRESHOLD,
    SensitiveDetector,
    Sensitivity,
)

Corpus = Callable[[str], list[dict[str, Any]]]
Embed = Callable[[Sequence[str]], np.ndarray]

# Documented bounds over the whole corpus (two held-out batches; first-look
# figures per batch are in bot/trust/sensitive.py).
CUE_BOUNDS = {"precision": 1.0, "recall": 0.4}
EMBEDDING_BOUNDS = {"precision": 0.85, "recall": 0.82, "category_accuracy": 0.9}
CATEGORIES = {"account_access", "billing_dispute", "personal_data", "security_report", "harassment"}


@pytest.fixture(scope="module")
def detector(embed: Embed) -> SensitiveDetector:
    """The default detector with the bundled model, examples embedded once."""
    prepared = SensitiveDetector(embed=embed)
    prepared.prepare()
    return prepared


def _figures(rows: list[dict[str, Any]], classify: Callable[[str], Sensitivity | None]) -> dict[str, float]:
    tp = fp = fn = right = 0
    for row in rows:
        found = classify(row["text"])
        expected = row["category"]
        if found is not None and expected is not None:
            tp += 1
            right += found.category == expected
        elif found is not None:
            fp += 1
        elif expected is not None:
            fn += 1
    return {
        "precision": tp / max(1, tp + fp),
        "recall": tp / max(1, tp + fn),
        "category_accuracy": right / max(1, tp),
    }


def test_default_examples_cover_every_category_with_enough_phrasings() -> None:
    assert set(DEFAULT_EXAMPLES) == CATEGORIES
    assert all(10 <= len(examples) <= 15 for examples in DEFAULT_EXAMPLES.values())


def test_cues_alone_are_precise(corpus: Corpus) -> None:
    rows = corpus("sensitive")
    assert sum(row["category"] is not None for row in rows) >= 50
    figures = _figures(rows, SensitiveDetector().classify)
    print("\ncues only:", {name: round(value, 3) for name, value in figures.items()})
    for name, bound in CUE_BOUNDS.items():
        assert figures[name] >= bound, (name, figures[name])


def test_embeddings_with_default_threshold_meet_bounds(
    corpus: Corpus, embed: Embed, detector: SensitiveDetector
) -> None:
    rows = corpus("sensitive")
    vectors = dict(zip((row["text"] for row in rows), embed([row["text"] for row in rows]), strict=True))
    figures = _figures(rows, lambda text: detector.classify(text, vectors[text]))
    print(
        f"\ncues + embeddings @ {DEFAULT_THRESHOLD}:",
        {name: round(value, 3) for name, value in figures.items()},
    )
    for name, bound in EMBEDDING_BOUNDS.items():
        assert figures[name] >= bound, (name, figures[name])


# What ships: ``sensitive_threshold`` in the settings (0.55) trades recall for fewer
# ordinary questions sent to a person; staff clearing a look-alike (``CLEARED_TAG``)
# is the other half of that trade. Measured on the same corpus: 0.892 / 0.767 / 0.97.
SHIPPED_BOUNDS = {"precision": 0.88, "recall": 0.75, "category_accuracy": 0.95}


def test_the_shipped_threshold_meets_its_own_bounds(corpus: Corpus, embed: Embed) -> None:
    from bot.settings import Settings

    threshold = Settings().sensitive_threshold
    shipped = SensitiveDetector(embed=embed, threshold=threshold)
    rows = corpus("sensitive")
    vectors = dict(zip((row["text"] for row in rows), embed([row["text"] for row in rows]), strict=True))
    figures = _figures(rows, lambda text: shipped.classify(text, vectors[text]))
    print(f"\ncues + embeddings @ {threshold} (the setting):", {k: round(v, 3) for k, v in figures.items()})
    for name, bound in SHIPPED_BOUNDS.items():
        assert figures[name] >= bound, (name, figures[name])


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("someone got into my account and changed my password", "account_access"),
        ("I was charged twice this month", "billing_dispute"),
        ("I want to file a chargeback", "billing_dispute"),
        ("Please delete my data, GDPR right to erasure", "personal_data"),
        ("I found an XSS in the staff view", "security_report"),
        ("a member keeps harassing me in DMs", "harassment"),
        # the cues that share words with everyday requests, in the sense they are cues in
        ("he wrote that he will find me and hurt me", "harassment"),
        ("he says he's going to find me", "harassment"),
        ("he said he would find me", "harassment"),
        ("he's coming to find me", "harassment"),
        ("he can find me anywhere", "harassment"),
        ("I'm scared to come back to the server because of one member", "harassment"),
        ("I'm afraid of him, he keeps posting about me", "harassment"),
        ("I'm scared of what he might do", "harassment"),
        ("I'm scared for my safety", "harassment"),
        ("I feel scared in this server", "harassment"),
        ("I feel unsafe here", "harassment"),
        ("please erase all my personal data", "personal_data"),
        ("erase my email address from your list", "personal_data"),
    ],
)
def test_cues_work_without_a_model(text: str, category: str) -> None:
    found = SensitiveDetector().classify(text)
    assert found is not None
    assert (found.category, found.score) == (category, 1.0)
    assert found.matched.lower() in text.lower()


def test_a_curly_apostrophe_reads_as_a_straight_one() -> None:
    """Phones type "he\u2019d"; the cues are written "he'd"."""
    found = SensitiveDetector().classify("he\u2019d find me at school")
    assert found is not None and found.category == "harassment"


@pytest.mark.parametrize(
    "text",
    [
        "find me a hotel with good reviews in phoenix",
        "can you find me the install guide for v2?",
        "I'm afraid my luggage has gone missing",
        "I'm scared that all my board data will be lost, how can I back it up?",
        "How do I completely erase my mails from gmail?",
        "is there a search that will find me all open tasks?",
        "I'm afraid to return the item without a receipt",
        "I'm scared to log in because I might lose my progress",
    ],
)
def test_words_a_cue_shares_with_an_ordinary_request_are_no_cue(text: str) -> None:
    """"Find me", "I'm afraid" and "erase my" are everyday requests and politeness;
    only a threat, fear of someone, or a request about one's data is a cue."""
    assert SensitiveDetector().classify(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "how do I reset my password?",
        "How do I enable two-factor authentication?",
        "Where can I download my invoices?",
        "How do I export my data to CSV?",
        "Memory grows over 3 days, looks like a leak",
        "I hacked together a script to import our FAQ",
    ],
)
def test_ordinary_questions_are_not_sensitive(text: str, detector: SensitiveDetector) -> None:
    assert SensitiveDetector().classify(text) is None
    assert detector.classify(text) is None


def test_embedding_signal_catches_what_no_cue_names(detector: SensitiveDetector) -> None:
    text = "I think someone guessed my password, my profile picture changed overnight"
    assert SensitiveDetector().classify(text) is None
    found = detector.classify(text)
    assert found is not None
    assert found.category == "account_access"
    assert DEFAULT_THRESHOLD <= found.score < 1.0
    assert found.matched in DEFAULT_EXAMPLES["account_access"]


def test_threshold_is_respected(embed: Embed) -> None:  # a fresh detector: threshold differs
    text = "I think someone guessed my password, my profile picture changed overnight"
    assert SensitiveDetector(embed=embed, threshold=0.99).classify(text) is None


def test_counter_examples_keep_look_alikes_out(embed: Embed) -> None:
    text = "I forgot my password, where is the reset link?"
    assert text not in DEFAULT_COUNTER_EXAMPLES
    without = SensitiveDetector(embed=embed, counter_examples=())
    assert without.classify(text) is not None
    assert SensitiveDetector(embed=embed).classify(text) is None


def test_examples_are_configurable(embed: Embed) -> None:
    custom = SensitiveDetector(
        examples={"self_harm": ("I don't want to live anymore", "I'm thinking about hurting myself")},
        embed=embed,
    )
    found = custom.classify("I don't see a reason to live anymore")
    assert found is not None
    assert found.category == "self_harm"
    # Cues belong to the default categories: a mapping without them relies on embeddings alone.
    assert custom.classify("I was charged twice") is None


def test_prepare_embeds_examples_once_and_classify_reuses_a_given_vector(embed: Embed) -> None:
    calls: list[int] = []

    def counting(texts: Sequence[str]) -> np.ndarray:
        calls.append(len(texts))
        return embed(texts)

    counted = SensitiveDetector(embed=counting)
    counted.prepare()
    counted.prepare()
    examples = sum(len(v) for v in DEFAULT_EXAMPLES.values()) + len(DEFAULT_COUNTER_EXAMPLES)
    assert calls == [examples]
    text = "there's an API token on my account I never created"
    vector = embed([text])[0]
    given = counted.classify(text, vector)
    assert calls == [examples]  # the caller's vector was used, nothing embedded
    computed = counted.classify(text)
    assert calls == [examples, 1]
    assert given == computed


def test_prepare_without_embed_is_a_no_op() -> None:
    plain = SensitiveDetector()
    plain.prepare()
    assert plain.classify("how do I reset my password?") is None
    assert plain.classify("my account was hacked") == Sensitivity(
        category="account_access", score=1.0, matched="account was hacked"
    )


def test_a_vector_from_another_model_is_never_compared_with_the_examples() -> None:
    """The threshold is a cosine measured with the detector's own model: a question's
    vector from an adapted model (whose cosines run higher) is not used; the
    detector embeds the question itself."""
    near, far = np.array([1.0, 0.0], np.float32), np.array([0.0, 1.0], np.float32)

    def own(texts: Sequence[str]) -> np.ndarray:  # the bundled model: the question is far from the example
        return np.stack([near if t == "a leaked key" else far for t in texts])

    detector = SensitiveDetector(examples={"security_report": ("a leaked key",)}, counter_examples=(),
                                 embed=own, model="bundled")
    question = "the worker keeps dying since the update"
    assert detector.classify(question, near, model="bundled+v1") is None  # the adapted model's vector: ignored
    assert detector.classify(question, near) is not None  # a vector of unnamed model: the caller's word
    assert detector.classify(question, near, model="bundled") is not None  # its own model's vector: used
