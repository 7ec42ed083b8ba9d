"""The encoder adapted to a project's documentation when it is imported, with no labels.

The bundled MiniLM was trained on the web at large; a project's docs have
their own words (its commands, settings, error messages) and many sections
that look alike (siblings on one page). At import, the learning loop's top
layers are tuned contrastively (``learning.tuning.train``: in-batch
negatives plus one hard negative, a section the current model confuses it
with) on rows the docs make of themselves (``knowledge.docs.pseudo``: a
section's heading path, its heading, its passages whole and without their
first sentence all stand for that section). The result is a model version
like any the loop promotes: its weights beside the store, every form
re-embedded off the answering path, then swapped in at once
(``Learner.install``), recorded with ``{"kind": "docs", …}`` and its seconds.

Bounded: a fixed number of steps over texts cut to their first tokens, so
the cost grows with the number of sections only through the one pass of the
lower layers and the re-embedding the import does anyway. Deterministic:
seeded, single-threaded, rows in a fixed order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import torch

from knowledge.docs.pseudo import pseudo_queries
from knowledge.embedder import model_path
from learning.adapt import confusions_of
from learning.loop import Adopt, Learner
from learning.models import Weights
from learning.tuning import TopLayers, TrainConfig, train

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DocsAdaptConfig:
    steps: int = 200  # 0: never adapt to docs
    batch: int = 16
    lr: float = 5e-5
    seed: int = 0
    tokens: int = 32  # the lower layers read a text's first tokens only (training reads 24)
    threads: int = 1
    min_sections: int = 8  # fewer sections than this teach nothing worth a model


@dataclass(frozen=True, slots=True)
class DocsAdapted:
    version: int
    sections: int
    rows: int
    seconds: float


def tune_to_docs(rows: Sequence[tuple[str, str]], start: Weights | None, config: DocsAdaptConfig,
                 model: TopLayers | None = None) -> Weights:
    """Top-layer weights tuned from ``start`` on (text, section) rows."""
    torch.set_num_threads(config.threads)
    model = model or TopLayers(model_path(), max_tokens=config.tokens)
    texts = [t for t, _ in rows]
    labels = [e for _, e in rows]
    states = model.lower(texts)
    confusions = confusions_of(labels, model.encode_states(states, start))
    return train(model, states, labels, start,
                 TrainConfig(steps=config.steps, batch=config.batch, lr=config.lr, seed=config.seed),
                 confusions)


async def adapt_to_docs(learner: Learner, now: datetime, adopt: Adopt,
                        config: DocsAdaptConfig = DocsAdaptConfig()) -> DocsAdapted | None:
    """Tune the current model to the store's live documentation sections and swap it in
    (``None`` when there are too few sections or ``steps`` is 0)."""
    started = time.perf_counter()
    rows = pseudo_queries(await learner.kb.store.entries())
    sections = len({e for _, e in rows})
    if config.steps <= 0 or sections < config.min_sections:
        return None
    current = learner.files.load(learner.version)
    weights = await asyncio.to_thread(tune_to_docs, rows, current, config)
    body = {"kind": "docs", "sections": sections, "rows": len(rows), "steps": config.steps,
            "seconds": round(time.perf_counter() - started, 1)}
    version = await learner.install(weights, body, adopt, now)
    seconds = time.perf_counter() - started
    logger.info("model v%d adapted to %d docs sections (%d rows) in %.1f s", version, sections, len(rows),
                seconds)
    return DocsAdapted(version, sections, len(rows), seconds)


__all__ = ["DocsAdaptConfig", "DocsAdapted", "adapt_to_docs", "tune_to_docs"]
