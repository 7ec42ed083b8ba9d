"""Recognise sensitive cases a person should handle: account access, billing
disputes, personal data, security reports and harassment.

Two signals. Keyword cues (``sensitive_examples.CUES``) are high precision
and need no model, so the detector works without embeddings. When the core
gives an ``embed`` function, a message is also compared with example
phrasings of each category (cosine similarity of L2-normalised vectors): it
is sensitive when its nearest example is at least ``threshold`` similar and
closer than every counter-example (ordinary look-alikes such as "how do I
reset my password?"). Examples are configurable; the core passes the
message's vector it already computed for retrieval.

The default threshold (0.45) was picked with the bundled all-MiniLM-L6-v2 on
two batches of held-out phrasings (``tests/bot/trust/data/sensitive.jsonl``),
each measured before anything was tuned on it: batch 1 at 0.45 gave precision
0.90 / recall 0.80 with the first cues, batch 2 gave 0.81 / 0.73. Lower
thresholds buy recall with precision; a missed sensitive case costs more than
an extra hand-off, so the threshold sits at the low end of the flat region.
The product ships ``sensitive_threshold`` 0.55 (``bot.settings``): precision
0.89 / recall 0.77 on the whole corpus against 0.88 / 0.86 here, fewer
ordinary look-alikes sent to a person, and those staff answer in public are
cleared (``CLEARED_TAG``); both are tested.
A threshold on cosines holds for the model it was measured with only: an
adapted model (``learning``) draws a project's questions closer together, and
on docs-dev its cosines put 13 of 70 ordinary questions past it (the bundled
model: none). So the core keeps the detector on the bundled model whatever
model answers (``model`` names it), and a message's vector from another model
is never compared with its examples.
Cues alone are precise (no false positive in either batch) but recall only
what they name: 0.16 and 0.07 on first look.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bot.trust.sensitive_examples import CUES, DEFAULT_COUNTER_EXAMPLES, DEFAULT_EXAMPLES

logger = logging.getLogger(__name__)

Embed = Callable[[Sequence[str]], np.ndarray]
"""Batch embedding: texts in, one L2-normalised float32 row per text out."""

__all__ = ["CLEARABLE", "CLEARED_TAG", "DEFAULT_COUNTER_EXAMPLES", "DEFAULT_EXAMPLES", "SensitiveDetector",
           "Sensitivity", "cleared_for"]

DEFAULT_THRESHOLD = 0.45


CLEARABLE = frozenset({"account_access", "billing_dispute", "personal_data"})
"""Categories whose look-alikes staff may clear an entry for (``Sensitivity.clearable``).
Never security reports or harassment: a person acts on every one of those."""

CLEARED_TAG = "sensitive-ok:"
"""An entry tagged ``sensitive-ok:<category>`` may answer questions that only
*resemble* that category's examples: staff answered such a question with it in
public (``bot.flows.staff``), or the operator tagged it in the knowledge file."""


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """A sensitive case: its category, how sure (cue = 1.0, else cosine), and why.

    ``matched`` is the cue phrase found in the message, or the example
    phrasing the message was closest to.
    """

    category: str
    score: float
    matched: str

    @property
    def clearable(self) -> bool:
        """Only a resemblance to the examples (no cue) of a category staff may
        clear: a question like "how do I report a lost card?" resembles a billing
        dispute, and once staff answered it in public, an entry can answer it."""
        return self.score < 1.0 and self.category in CLEARABLE


def cleared_for(tags: tuple[str, ...]) -> tuple[str, ...]:
    """The categories an entry's tags clear it for."""
    return tuple(t[len(CLEARED_TAG):] for t in tags if t.startswith(CLEARED_TAG))


class SensitiveDetector:
    """Classify a message into a sensitive category, or ``None`` for ordinary ones."""

    def __init__(
        self,
        *,
        examples: Mapping[str, Sequence[str]] = DEFAULT_EXAMPLES,
        embed: Embed | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        counter_examples: Sequence[str] = DEFAULT_COUNTER_EXAMPLES,
        model: str | None = None,
    ) -> None:
        """``model``: the name of the model behind ``embed``; a vector handed to
        ``classify`` from a model of another name is not used."""
        self._examples = {category: tuple(texts) for category, texts in examples.items() if texts}
        self._embed = embed
        self.model = model
        self.threshold = threshold
        self._counter_examples = tuple(counter_examples)
        self._labels: list[tuple[str, str]] = []
        self._matrix: np.ndarray | None = None
        self._counter_matrix: np.ndarray | None = None

    def prepare(self) -> None:
        """Embed the examples once; a no-op without ``embed`` or when already done."""
        if self._embed is None or self._matrix is not None:
            return
        self._labels = [(c, text) for c, texts in self._examples.items() for text in texts]
        texts = [text for _, text in self._labels]
        vectors = np.asarray(self._embed(texts + list(self._counter_examples)), dtype=np.float32)
        self._matrix = vectors[: len(texts)]
        self._counter_matrix = vectors[len(texts) :]
        logger.debug("embedded %d sensitive examples, %d counter-examples",
                     len(texts), len(self._counter_examples))  # fmt: skip

    def classify(self, text: str, vector: np.ndarray | None = None, *,
                 model: str | None = None) -> Sensitivity | None:
        """The message's sensitive category, or ``None``.

        ``vector`` is the message's embedding if the caller has it (``model``:
        the name of the model that made it); without one, or with one from
        another model than the detector's, the message is embedded here.
        """
        cue = self._cue(text)
        if cue is not None or self._embed is None:
            return cue
        self.prepare()
        if model is not None and self.model is not None and model != self.model:
            vector = None  # another model's cosines are not on the threshold's scale
        if vector is None:
            vector = np.asarray(self._embed([text]), dtype=np.float32)[0]
        return self._nearest(np.asarray(vector, dtype=np.float32).reshape(-1))

    def _cue(self, text: str) -> Sensitivity | None:
        text = text.replace("\u2019", "'")  # phones type "he’ll"; the cues are written "he'll"
        best: tuple[int, str, str] | None = None
        for category in self._examples:
            pattern = CUES.get(category)
            match = pattern.search(text) if pattern is not None else None
            if match is not None and (best is None or match.start() < best[0]):
                best = (match.start(), category, match.group())
        if best is None:
            return None
        return Sensitivity(category=best[1], score=1.0, matched=best[2])

    def _nearest(self, vector: np.ndarray) -> Sensitivity | None:
        if self._matrix is None or not len(self._labels):
            return None
        similarities = self._matrix @ vector
        index = int(np.argmax(similarities))
        score = float(similarities[index])
        if score < self.threshold:
            return None
        counters = self._counter_matrix
        if counters is not None and len(counters) and float(np.max(counters @ vector)) >= score:
            return None  # closer to an ordinary look-alike than to any sensitive example
        category, example = self._labels[index]
        return Sensitivity(category=category, score=score, matched=example)
