"""The learning loop around the knowledge base: which model answers, its
calibrators, when to adapt, and the re-embedding with its atomic swap.

The swap, step by step, so that a crash anywhere leaves the old model answering:

1. the candidate's weights are written beside the store (``ModelFiles``: a
   temporary name, then a rename);
2. every question form is embedded with it, off the answering path (a worker
   thread), and the vectors are *staged* in ``model_vectors``;
3. one transaction copies the staged vectors into ``forms`` and makes the
   version current; forms added meanwhile are embedded inside it;
4. only then does the process change its embedder and index, between two
   events (the caller holds the core's lock).

A crash before 3 leaves staged rows nobody reads (dropped at the next start);
3 is all or nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder, model_path
from knowledge.retrieval import Hit
from learning.adapt import AdaptConfig, Calibrated, Trainer, Trial, calibrate
from learning.calibration import Calibrator, candidate_features, lexical_overlap
from learning.heldout import NOT_NEAR
from learning.models import ModelFiles, Weights, embedder_for, model_name
from learning.store import LearningRepository, ModelRecord
from learning.tuning import TopLayers

logger = logging.getLogger(__name__)

Adopt = Callable[[CachedEmbedder], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LoopConfig:
    """When to adapt, and how (see ``bot.settings.LearningSettings``)."""

    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    every_lessons: int = 200
    first_lessons: int | None = None  # the first adaptation after this many (default: ``every_lessons``)
    every_hours: float | None = None
    min_lessons: int = 20
    recalibrate_every: int = 100
    embed_threads: int = 1
    survival_min_answers: int = 5
    survival_threshold: float = 0.6


@dataclass(frozen=True, slots=True)
class Adapted:
    version: int
    promoted: bool
    trial: Trial
    seconds: float


def hit_features(question: str, hits: list[Hit], now: datetime) -> list[np.ndarray]:
    """Calibration features of each hit (best first)."""
    rows = []
    for k, h in enumerate(hits):
        other = max((o.score for o in hits if o.entry.id != h.entry.id), default=0.0)
        lexical = max((lexical_overlap(question, q) for q in h.entry.questions), default=0.0)
        updated = h.entry.updated_at or h.entry.created_at
        age = (now - updated).total_seconds() / 86400 if updated is not None else 0.0
        rows.append(candidate_features(score=h.score, best_other=other, second=h.second, support=h.support,
                                       rank=k, forms=len(h.entry.questions), lexical=lexical,
                                       curated=h.entry.origin == "import", age_days=max(age, 0.0)))
    return rows


class Learner:
    """One store's model, calibrators and adaptation schedule."""

    def __init__(self, *, store: LearningRepository, kb: KnowledgeBase, files: ModelFiles,
                 config: LoopConfig) -> None:
        self.store = store
        self.kb = kb
        self.files = files
        self.config = config
        self.version = 0
        self._calibrated: dict[tuple[str, int], Calibrated] = {}
        self._trainer: Trainer | None = None
        self._outcomes_seen: dict[str, int] = defaultdict(int)
        self._running: asyncio.Task[Adapted | None] | None = None

    @property
    def model(self) -> str:
        return model_name(self.version)

    async def open(self) -> int:
        """Which version answers; staged vectors of an unfinished swap are dropped.

        A current version whose weights file is gone (a restored backup without the
        models folder, a folder cleaned by hand) cannot embed questions the way its
        stored vectors were embedded. The newest version it descends from that still
        has weights (else the bundled model) takes over, every form re-embedded with it,
        and the lost version is marked ``lost``; nothing answers from mixed vectors.
        """
        self.version = await self.store.current_model()
        async with self.store.transaction():
            dropped = await self.store.drop_staged()
        if dropped:
            logger.warning("dropped the staged vectors of %d unfinished model swap(s)", dropped)
        if not self.files.exists(self.version):
            lost, fallback = self.version, await self._ancestor_with_weights(self.version)
            logger.error("model version %d has no weights file; re-embedding every form with %s",
                         lost, model_name(fallback))
            await self._reembed_all(fallback, retire=(lost, "lost"))
            self.kb.indexes.forget_snapshots()  # they hold the lost model's vectors
        return self.version

    async def _ancestor_with_weights(self, version: int) -> int:
        seen = {version}
        while version and not self.files.exists(version):
            record = await self.store.model(version)
            version = record.parent if record is not None else 0
            if version in seen:  # a corrupt history must not loop
                return 0
            seen.add(version)
        return version

    async def _reembed_all(self, to: int, retire: tuple[int, str] | None) -> CachedEmbedder:
        """Every form re-embedded with version ``to``, swapped in at once (``retire``: the
        version that stops answering and the status it gets)."""
        embedder = await asyncio.to_thread(embedder_for, self.files, to, threads=self.config.embed_threads)
        rows = await self.store.all_forms()
        vectors = await asyncio.to_thread(embedder.encode, [r[3] for r in rows])
        async with self.store.transaction():
            await self.store.stage_vectors(to, [r[0] for r in rows], vectors)
            await self.store.swap_in(to)
            if retire is not None and retire[0]:
                await self.store.set_status(*retire)
        self.version = to
        return embedder

    def embedder(self, threads: int | None = None) -> CachedEmbedder:
        return embedder_for(self.files, self.version, threads=threads)

    def close(self) -> None:
        self.files.close()

    # -- calibration -------------------------------------------------------------

    async def calibrated(self, space: str) -> Calibrated:
        key = (space, self.version)
        found = self._calibrated.get(key)
        if found is None:
            stored = await self.store.calibrator(space, self.version)
            found = Calibrated.from_dict(stored) if stored else await self._fit(space)
            self._calibrated[key] = found
        return found

    async def _fit(self, space: str, at: datetime | None = None) -> Calibrated:
        forms = [(t, e) for t, e, s in await self._live_forms() if s == space]
        if not forms:
            return Calibrated(Calibrator.prior(), max(self.config.adapt.answer_floor,
                                                      1.0 - self.config.adapt.target))
        vectors = await self._vectors_of(forms)
        live = await self._live_examples(space)
        texts = [t for t, _ in forms]
        labels = [e for _, e in forms]
        fitted = await asyncio.to_thread(calibrate, texts, labels, vectors, self.config.adapt, live=live)
        if at is not None:
            async with self.store.transaction():
                await self.store.save_calibrator(space, self.version, fitted.as_dict(), at)
        self._calibrated[(space, self.version)] = fitted
        return fitted

    async def recalibrate(self, space: str, at: datetime) -> Calibrated:
        return await self._fit(space, at)

    async def recalibrate_due(self, at: datetime) -> None:
        """Re-fit the calibrator of every space that saw ``recalibrate_every`` new outcomes."""
        for space, seen in list(self._outcomes_seen.items()):
            if seen >= self.config.recalibrate_every:
                self._outcomes_seen[space] = 0
                await self.recalibrate(space, at)

    async def _live_examples(self, space: str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        X: list[list[float]] = []
        y: list[float] = []
        rank: list[int] = []
        for candidates, right, wrong in await self.store.outcomes(space, self.version):
            where = next((k for k, c in enumerate(candidates[:3]) if c["entry"] == right), NOT_NEAR)
            for k, c in enumerate(candidates[:3]):
                if right is not None:
                    X.append(c["features"])
                    y.append(1.0 if c["entry"] == right else 0.0)
                    rank.append(where if k == 0 else -1)
                elif wrong is not None and c["entry"] == wrong:
                    X.append(c["features"])
                    y.append(0.0)
                    rank.append(-1)
        return (np.array(X), np.array(y), np.array(rank, dtype=int)) if X else None

    async def _live_forms(self) -> list[tuple[str, str, str]]:
        rows = await self.store.teaching_pairs()
        return [(p.text, p.entry, p.space) for p in rows if p.form_id is not None]

    async def _vectors_of(self, forms: list[tuple[str, str]]) -> np.ndarray:
        ids, vectors = await self.store.form_vectors()
        by_text: dict[str, np.ndarray] = {}
        rows = await self.store.all_forms()
        for (fid, _e, _s, text, _o), (vid, vec) in zip(rows, zip(ids, vectors, strict=True), strict=True):
            assert fid == vid
            by_text[text] = vec
        return np.stack([by_text[t] for t, _ in forms])

    async def observe(self, *, space: str, case: str, at: datetime, hits: list[Hit],
                      features: list[np.ndarray], decision: str) -> None:
        """Keep a decision's candidates and features, to learn from what becomes of it."""
        candidates = [{"entry": h.entry.id, "features": [round(float(x), 5) for x in f]}
                      for h, f in zip(hits[:3], features[:3], strict=False)]
        if candidates:
            await self.store.observe(space=space, case=case, model=self.version, at=at,
                                     candidates=candidates, decision=decision)

    async def settle(self, *, space: str, case: str, at: datetime, right: str | None = None,
                     wrong: str | None = None) -> None:
        """What the bot learned about a decision: the right entry, or one shown wrong."""
        await self.store.settle(space=space, case=case, right=right, wrong=wrong)
        self._outcomes_seen[space] += 1

    # -- adaptation -------------------------------------------------------------------

    async def due(self, now: datetime) -> bool:
        last = await self.store.last_adaptation()
        since = last or ""
        lessons = await self.store.lessons_since(since)
        if lessons < self.config.min_lessons:
            return False
        every = self.config.every_lessons
        if last is None and self.config.first_lessons is not None:
            every = self.config.first_lessons
        if lessons >= every:
            return True
        if self.config.every_hours and last is not None:
            return now - datetime.fromisoformat(last) >= timedelta(hours=self.config.every_hours)
        return False

    def _trainer_now(self) -> Trainer:
        if self._trainer is None:
            self._trainer = Trainer(TopLayers(model_path()))
        return self._trainer

    async def adapt(self, now: datetime, adopt: Adopt, *, lock: asyncio.Lock | None = None) -> Adapted:
        """Train, judge, and on a promotion re-embed and swap (``adopt`` takes the new embedder)."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        pairs = await self.store.teaching_pairs()
        forms = [(p.text, p.entry) for p in pairs if p.form_id is not None]
        vectors = await self._vectors_of(forms) if forms else np.zeros((0, 384), np.float32)
        current = self.files.load(self.version)
        trainer = await asyncio.to_thread(self._trainer_now)
        trial = await asyncio.to_thread(trainer.trial, pairs, forms, vectors, current, self.config.adapt)
        version = await self.store.next_version()
        record = ModelRecord(version, self.version, "rejected", now.isoformat(), trial.figures())
        async with self.store.transaction():
            await self.store.set_last_adaptation(now.isoformat())
            if trial.weights is not None:
                await self.store.record_model(record)
        if not trial.promote or trial.weights is None:
            logger.info("model candidate v%d not promoted: %s", version, trial.why)
            await self._refresh_calibrators(now)
            return Adapted(version, False, trial, loop.time() - started)
        path = await asyncio.to_thread(self.files.save, version, trial.weights)
        await self._stage(trainer, version, trial)
        if lock is not None:
            async with lock:
                await self._swap(version, record, path, adopt, now)
        else:
            await self._swap(version, record, path, adopt, now)
        await self._refresh_calibrators(now)
        logger.info("model v%d promoted (%s) in %.1f s", version, trial.why, loop.time() - started)
        return Adapted(version, True, trial, loop.time() - started)

    async def _stage(self, trainer: Trainer, version: int, trial: Trial) -> None:
        rows = await self.store.all_forms()
        texts = [r[3] for r in rows]
        missing = [t for t in dict.fromkeys(texts) if t not in trial.vectors]
        if missing:  # forms the trial did not ask (retired ones, say): the rest it already embedded
            fresh = await asyncio.to_thread(trainer.encode, missing, trial.weights)
            trial.vectors.update(zip(missing, fresh, strict=True))
        vectors = np.stack([trial.vectors[t] for t in texts])
        async with self.store.transaction():
            await self.store.stage_vectors(version, [r[0] for r in rows], vectors)

    async def install(self, weights: Weights, body: dict[str, Any], adopt: Adopt, now: datetime) -> int:
        """Make ``weights``, trained elsewhere (``learning.docs``), the next version and
        answer with it: saved, every form embedded off the answering path and staged,
        then swapped in at once, as a promotion is. Returns the new version."""
        version = await self.store.next_version()
        path = await asyncio.to_thread(self.files.save, version, weights)
        embedder = await asyncio.to_thread(embedder_for, self.files, version, threads=self.config.embed_threads)
        rows = await self.store.all_forms()
        if rows:
            vectors = await asyncio.to_thread(embedder.encode, [r[3] for r in rows])
            async with self.store.transaction():
                await self.store.stage_vectors(version, [r[0] for r in rows], vectors)
        record = ModelRecord(version, self.version, "staged", now.isoformat(), body)
        await self._swap(version, record, path, adopt, now, embedder)
        await self._refresh_calibrators(now)
        return version

    async def _swap(self, version: int, record: ModelRecord, path: Any, adopt: Adopt, now: datetime,
                    embedder: CachedEmbedder | None = None) -> None:
        if embedder is None:  # ``install`` has it loaded already
            embedder = await asyncio.to_thread(embedder_for, self.files, version,
                                               threads=self.config.embed_threads)
        async with self.store.transaction():
            staged = await self.store.staged_ids(version)
            late = [r for r in await self.store.all_forms() if r[0] not in staged]
            if late:  # forms taught while the vectors were being staged
                vectors = await asyncio.to_thread(embedder.encode, [r[3] for r in late])
                await self.store.stage_vectors(version, [r[0] for r in late], vectors)
            await self.store.swap_in(version)
            await self.store.record_model(ModelRecord(version, record.parent, "promoted", record.at,
                                                      {**record.body, "file": str(path)}))
        self.version = version
        await adopt(embedder)

    async def _refresh_calibrators(self, now: datetime) -> None:
        spaces = sorted({s for _, _, s in await self._live_forms()})
        for space in spaces:
            await self._fit(space, now)

    async def rollback(self, to: int, now: datetime, adopt: Adopt) -> int:
        """Make an earlier version answer again (re-embedding every form with it)."""
        if to != 0 and (await self.store.model(to)) is None:
            raise ValueError(f"there is no model version {to}")
        if not self.files.exists(to):
            raise ValueError(f"model version {to} has no weights file any more")
        previous = self.version
        embedder = await self._reembed_all(to, retire=(previous, "rolled_back"))
        await adopt(embedder)
        await self._refresh_calibrators(now)
        return previous

    async def follow(self, adopt: Adopt) -> bool:
        """Another process changed the current model (``journeybot learn``): follow it."""
        version = await self.store.current_model()
        if version == self.version:
            return False
        self.version = version
        await adopt(await asyncio.to_thread(embedder_for, self.files, version,
                                            threads=self.config.embed_threads))
        return True

    # -- survival ---------------------------------------------------------------------

    async def held_back(self, entries: list[str]) -> dict[str, str]:
        """Entries whose answer stopped working: why each is held back. An answer with no
        record yet (staff changed it) starts afresh."""
        out: dict[str, str] = {}
        minimum, threshold = self.config.survival_min_answers, self.config.survival_threshold
        for entry, (answers, failed) in (await self.store.records_now(entries)).items():
            if answers >= minimum and (answers - failed) / answers < threshold:
                out[entry] = (f"{entry} is held back: {failed} of its {answers} answers were met by "
                              f"Not solved, a reopen or a staff correction")
        return out
