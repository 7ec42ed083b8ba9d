"""What ``Core.open`` builds from settings besides the core itself: the store
and the knowledge base (opened while the model loads in a thread), the
learning loop, the sensitive-case detector (its examples' vectors kept in the
store, so a start embeds them once per store and model) and the optional
grounded generator. Apart from ``bot.core`` so the pipeline reads on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.settings import Settings
from bot.trust.sensitive import SensitiveDetector
from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder, load_embedder
from storage import database_for, is_postgres
from storage.meta import Meta
from storage.sql import Sql

if TYPE_CHECKING:  # not a cycle: openai takes seconds to import, so only a configured LLM loads it
    from bot.generate import Generator
    from learning.loop import Learner

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Opened:
    """What a core is built over: its store, its knowledge base (with the model
    that answers), the sensitive-case detector and the learning loop."""

    db: Sql
    kb: KnowledgeBase
    detector: SensitiveDetector
    learner: Learner


async def open_parts(settings: Settings, *, embedder: CachedEmbedder | None = None) -> Opened:
    """Open the store and load the index while the model loads in a thread:
    start-up costs the slower of the two, not their sum."""
    model_task = None
    if embedder is None:
        model_task = asyncio.create_task(asyncio.to_thread(
            load_embedder, settings.embedder, threads=settings.embed_threads))
    db = database_for(settings.db)
    try:
        await db.open()
        local = settings.db != ":memory:" and not is_postgres(settings.db)
        snapshots = Path(settings.db + ".index") if local else None
        kb = KnowledgeBase(db, embedder, hnsw_min=settings.index_hnsw_min, snapshot_dir=snapshots,
                           support_k=settings.policy.support_k, batch_window=settings.embed_batch_ms / 1000,
                           batch_max=settings.embed_batch_max)
        learner = make_learner(settings, db, kb)
        version = await learner.open()  # first: it may re-embed every form (a lost weights file)
        await kb.open()
        bundled = None  # the sensitive examples' model when an adapted one answers
        if version and embedder is None:
            assert model_task is not None
            bundled = await model_task
            model_task = asyncio.create_task(asyncio.to_thread(learner.embedder, settings.embed_threads))
        if model_task is not None:
            kb.embedder = embedder = await model_task
    except BaseException:
        if model_task is not None and not model_task.done():
            model_task.cancel()
        await db.close()
        raise
    assert embedder is not None
    detector = make_detector(settings, bundled or embedder)
    await prepare_with_stored_vectors(db, bundled or embedder, detector)
    return Opened(db=db, kb=kb, detector=detector, learner=learner)


async def prepare_with_stored_vectors(db: Sql, embedder: CachedEmbedder,
                                      detector: SensitiveDetector) -> None:
    """Embed the detector's examples once per store and model, not at every start."""
    meta = Meta(db)
    key = f"example-vectors:{embedder.name}"
    value = await meta.get(key)
    if value is not None:
        stored = json.loads(value)
        vectors = np.frombuffer(bytes.fromhex(stored["vectors"]), dtype=np.float32)
        embedder.remember(stored["texts"], vectors.reshape(len(stored["texts"]), embedder.dim))
    before = len(embedder.cached()[0])
    await asyncio.to_thread(detector.prepare)
    texts, vectors = embedder.cached()
    if len(texts) != before or value is None:
        await meta.put(key, json.dumps({"texts": texts, "vectors": vectors.astype(np.float32).tobytes().hex()}))


def make_learner(settings: Settings, db: Sql, kb: KnowledgeBase) -> Learner:
    """The learning loop over this store (model versions, calibration, adaptation)."""
    from bot.learn import make_learner as make

    return make(settings, db, kb)


def make_detector(settings: Settings, embedder: CachedEmbedder) -> SensitiveDetector:
    """The sensitive-case detector from the configured examples and threshold, on
    ``embedder`` (the bundled model's: the threshold was measured with it; a
    model adapted later keeps it, ``bot.learn.adopt``)."""
    extra: dict[str, Any] = {}
    if settings.sensitive_examples:
        extra["examples"] = {k: tuple(v) for k, v in settings.sensitive_examples.items()}
    return SensitiveDetector(embed=embedder.encode, threshold=settings.sensitive_threshold,
                             model=embedder.name, **extra)


async def maybe_generator(settings: Settings) -> Generator | None:
    """The optional grounded generator, when an endpoint is configured.

    Generation is never required: if it cannot be set up the bot says why
    once and answers extractively.
    """
    if not settings.llm.model:
        return None
    try:  # imported here, not at the top: openai takes seconds to import
        from bot.generate import Generator, GeneratorUnavailable
    except ImportError:
        logger.warning("an LLM model is configured but grounded generation is not available")
        return None
    try:
        generator = Generator.from_settings(settings)
    except GeneratorUnavailable as exc:
        logger.error("grounded generation is off, answers stay extractive: %s", exc)
        return None
    logger.info("grounded generation on: model %s at %s", generator.model, generator.endpoint)
    return generator
