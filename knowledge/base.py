"""The live knowledge store: entries in the database, vectors in FAISS.

A new entry, a new question form, a new version or a retirement changes the
index in place inside the writing transaction, so it is searchable by the very
next event (and by the rest of the same event, which is how one staff answer
can answer every other open case that asked the same thing). Should the
transaction roll back, the index change is undone with it (an entry's forms
and the index are kept in step by ``knowledge.forms``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import numpy as np

from knowledge.batching import MAX_BATCH, WINDOW
from knowledge.docs.passages import passage_texts
from knowledge.embedder import DIM, CachedEmbedder
from knowledge.entries import LIVE, PENDING, RETIRED, Draft, Entry, same_answer
from knowledge.follow import Follower
from knowledge.forms import add_forms, add_passages, remove_forms, replace_forms, replace_passages
from knowledge.indexes import Near, SpaceIndexes
from knowledge.integrity import content_hash
from knowledge.prefetch import SEARCH_K, Prefetcher
from knowledge.retrieval import Hit, Lexical, fuse, lexical_search, ranked_passages
from knowledge.store import EntryStore, entry_to_row
from knowledge.vectors import VectorIndex
from storage.eventlog import EventLog
from storage.sql import Sql

logger = logging.getLogger(__name__)

KEEP = object()  # "leave this field as it is" in ``revise``


class KnowledgeBase:
    """Entries, versions and vectors for every space, one index per space."""

    def __init__(
        self,
        db: Sql,
        embedder: CachedEmbedder | None,
        *,
        hnsw_min: int = 50_000,
        snapshot_dir: Path | None = None,
        support_k: int = 5,
        dim: int = DIM,
        batch_window: float = WINDOW,
        batch_max: int = MAX_BATCH,
    ) -> None:
        """``batch_window`` (seconds) and ``batch_max``: questions arriving that
        close together are embedded and searched in one pass (``prefetch``)."""
        self.db = db
        self.store = EntryStore(db)
        self._embedder = embedder
        self.dim = dim
        self.support_k = support_k
        self.indexes = SpaceIndexes(self.store, dim=dim, hnsw_min=hnsw_min, snapshot_dir=snapshot_dir)
        self._index_options = {"dim": dim, "hnsw_min": hnsw_min, "snapshot_dir": snapshot_dir}
        self.prefetcher = Prefetcher(self.indexes, lambda: self.embedder, store=self.store, window=batch_window,
                                     max_batch=batch_max)
        self.follower = Follower(self.catch_up)

    @property
    def embedder(self) -> CachedEmbedder:
        if self._embedder is None:
            raise RuntimeError("the knowledge base has no embedder yet")
        return self._embedder

    @embedder.setter
    def embedder(self, embedder: CachedEmbedder) -> None:
        self._embedder = embedder

    # -- lifecycle -----------------------------------------------------------

    async def open(self) -> None:
        """Load the indexes from stored vectors (never re-embedding); needs no
        model, so it runs while the model loads. Then follow other processes'
        knowledge changes as the store announces them (PostgreSQL)."""
        await self.indexes.load()
        if await self.store.index_old_forms():
            logger.info("question forms stored before the full-text index now searchable by their words")
        self.follower.start(self.db)

    async def reload(self) -> None:
        """Every stored vector changed (a new model was swapped in): rebuild the
        indexes from them, then replace the old ones in one assignment."""
        fresh = SpaceIndexes(self.store, **self._index_options)  # type: ignore[arg-type]
        fresh.forget_snapshots()
        await fresh.load()
        fresh.version = self.indexes.version + 1
        self.indexes = fresh
        self.prefetcher.indexes = fresh  # a search begun on the old indexes is refused by its version

    async def close(self) -> None:
        """Stop following; save changed HNSW snapshots, so the next start is fast."""
        await self.follower.stop()
        await self.indexes.save()

    async def catch_up(self) -> None:
        """Another process wrote to the store: follow its knowledge changes."""
        self.store.forget_cached()
        await self.indexes.catch_up()

    def index_of(self, space: str) -> VectorIndex:
        return self.indexes.index_of(space)

    def size(self, space: str | None = None) -> int:
        return self.indexes.size(space)

    # -- reading -------------------------------------------------------------

    async def get(self, entry_id: str) -> Entry | None:
        return await self.store.get(entry_id)

    def prefetch(self, space: str, text: str) -> None:
        """A question just arrived: embed it and search ``space`` in a worker
        thread, while the caller stores the event, in one batch with the other
        questions arriving at the same moment; in a space that holds docs, look
        its words up in the store meanwhile. ``embed([text])`` and
        ``search(space, vector, text=text)`` then pick the results up."""
        self.prefetcher.start(space, text)
        self.prefetcher.start_words(space, text)

    def batch_while(self, busy: Callable[[], bool]) -> None:
        """New questions wait the batching window for company only while ``busy()``
        (others are then queueing); otherwise they are embedded at once."""
        self.prefetcher.asked.busy = busy

    def forget_prefetch(self, space: str, text: str) -> None:
        self.prefetcher.forget(space, text)

    async def _words(self, space: str, text: str) -> Lexical:
        found = await self.prefetcher.take_words(space, text)
        if found is not None:
            return found
        return await lexical_search(self.store, space, text, total=self.indexes.size())

    async def _nearest(self, space: str, vector: np.ndarray, k: int, text: str | None) -> list[Near]:
        task = self.prefetcher.take(space, text) if text is not None else None
        if task is not None and k == SEARCH_K:
            done, version, found = await task
            # Only if nothing changed in the index since, and it is the same question.
            if version == self.indexes.version and np.array_equal(done, vector):
                return found
        return await self.indexes.nearest(space, vector, k)

    async def search(self, space: str, vector: np.ndarray, *, k: int = SEARCH_K,
                     limit: int = 5, text: str | None = None) -> list[Hit]:
        """Live entries of ``space`` closest to ``vector``, one hit per entry,
        best dense score first; with ``text``, in a space that holds docs, the
        lexical (BM25) side too."""
        near = await self._nearest(space, vector, k, text)
        # Words are weighed for documentation: a space of question/answer entries
        # only is decided on its question forms, so it skips the full-text search.
        words = text is not None and self.indexes.has_docs(space)
        lexical = await self._words(space, text) if words and text is not None else None
        hits = await fuse(near, lexical, is_passage=self.indexes.is_passage, entries=self.store.many,
                          vectors=self.store.form_vectors, query=vector, support_k=self.support_k,
                          limit=limit)
        return [replace(hit, centroid=self._centroid_score(space, hit.entry.id, vector)) for hit in hits]

    def _centroid_score(self, space: str, entry_id: str, vector: np.ndarray) -> float | None:
        """Cosine between the question and the mean of the entry's question forms."""
        centre = self.indexes.centroid(space, entry_id)
        return None if centre is None else float(centre @ np.asarray(vector, np.float32).reshape(-1))

    async def ranked_passages(self, entry: Entry, vector: np.ndarray, text: str) -> list[str]:
        """A docs section's passages, the best answer to ``text`` first."""
        return await ranked_passages(self.store, entry, vector, text)

    async def same_answer_entry(self, space: str, answer: str) -> Entry | None:
        """An answerable entry of ``space`` that already gives this answer."""
        for entry in await self.store.with_answer(space, answer):
            if entry.status == LIVE and same_answer(entry.answer, answer):
                return entry
        return None

    async def similar_entry(self, space: str, answer: str, vector: np.ndarray) -> Entry | None:
        """The live entry near ``vector`` whose answer says the same as ``answer``."""
        exact = await self.same_answer_entry(space, answer)
        if exact is not None:
            return exact
        for hit in (await self.search(space, vector, k=16))[:5]:
            if same_answer(hit.entry.answer, answer):
                return hit.entry
        return None

    # -- writing (inside the caller's transaction) ---------------------------

    async def create(
        self,
        draft: Draft,
        *,
        author: str | None,
        origin: str,
        at: datetime,
        case: str | None = None,
        entry_id: str | None = None,
        vectors: np.ndarray | None = None,
        private: bool = False,
        known: Mapping[str, np.ndarray] | None = None,
    ) -> Entry:
        """A new entry, version 1, searchable at once (unless pending).

        A documentation section (``draft.section``) is searchable by its
        passages too. ``known`` holds vectors already computed for some texts
        (an import embeds in batches)."""
        async with self.db.transaction():
            new_id = entry_id or draft.id or await self.store.next_id()
            entry = Entry(
                id=new_id, space=draft.space, version=1, status=draft.status,
                questions=tuple(dict.fromkeys(draft.questions)), answer=draft.answer,
                tags=draft.tags, url=draft.url, review_after=draft.review_after, author=author,
                source_case=case, origin=origin, private=private, created_at=at, updated_at=at,
                section=draft.section, provenance=draft.provenance,
            )
            await self.store.save(entry, snapshot=True)
            if vectors is None and known is not None and all(q in known for q in entry.questions):
                vectors = np.stack([known[q] for q in entry.questions])
            await add_forms(self, entry, list(entry.questions), vectors, author=author, case=case, at=at)
            await add_passages(self, entry, passage_texts(entry), known, author=author, at=at)
            await self._log_change(entry, "created", at)
        return entry

    async def add_question(
        self,
        entry: Entry,
        question: str,
        *,
        author: str | None,
        at: datetime,
        case: str | None = None,
        vector: np.ndarray | None = None,
    ) -> Entry:
        """Another way people ask for ``entry``: no new version, the answer is unchanged."""
        if question in entry.questions:
            return entry
        async with self.db.transaction():
            updated = replace(entry, questions=(*entry.questions, question), updated_at=at)
            await self.store.save(updated, snapshot=False)
            vectors = None if vector is None else np.asarray(vector).reshape(1, -1)
            await add_forms(self, updated, [question], vectors, author=author, case=case, at=at)
        return updated

    async def withdraw_question(self, entry: Entry, *, case: str, at: datetime) -> tuple[Entry, list[str]]:
        """The counterpart of ``add_question`` for what an asker taught: the question
        forms ``case`` added to ``entry`` with no author (an asker's pick) stop
        answering, with no new version. A form staff taught (it has an author), an
        imported one (no case) or one another case taught stays. The entry and the
        texts withdrawn (none when the form was the entry's before the case)."""
        async with self.db.transaction():
            forms = [(fid, text) for fid, text, author in await self.store.case_forms(entry.id, case)
                     if author is None and text in entry.questions]
            if not forms:
                return entry, []
            gone = [text for _, text in forms]
            updated = replace(entry, questions=tuple(q for q in entry.questions if q not in gone), updated_at=at)
            await self.store.save(updated, snapshot=False)
            if entry.status == LIVE:
                await remove_forms(self, entry.space, [fid for fid, _ in forms])
            else:  # never in the index
                await self.store.kill_forms([fid for fid, _ in forms], entry.space)
        return updated, gone

    async def add_tag(self, entry: Entry, tag: str) -> Entry:
        """A tag more on ``entry``: no new version, its answer and questions unchanged."""
        if tag in entry.tags:
            return entry
        updated = replace(entry, tags=(*entry.tags, tag))
        async with self.db.transaction():
            await self.store.save(updated, snapshot=False)
        return updated

    async def revise(
        self,
        entry: Entry,
        *,
        author: str | None,
        origin: str,
        at: datetime,
        case: str | None = None,
        answer: str | None = None,
        questions: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        url: str | object | None = KEEP,
        review_after: date | object | None = KEEP,
        status: str | None = None,
        provenance: dict[str, str] | object | None = KEEP,
        section: str | object | None = KEEP,
        known: Mapping[str, np.ndarray] | None = None,
    ) -> Entry:
        """A new version of ``entry``; the old one stays in its history.

        ``url`` and ``review_after`` keep their values unless given (``None``
        clears them); a new answer without a ``review_after`` is fresh again.
        """
        async with self.db.transaction():
            new_questions = tuple(dict.fromkeys(questions)) if questions is not None else entry.questions
            updated = replace(
                entry,
                version=entry.version + 1,
                answer=answer if answer is not None else entry.answer,
                questions=new_questions,
                tags=tuple(tags) if tags is not None else entry.tags,
                url=entry.url if url is KEEP else url,  # type: ignore[arg-type]
                review_after=(
                    (None if answer is not None and answer != entry.answer else entry.review_after)
                    if review_after is KEEP else review_after  # type: ignore[arg-type]
                ),
                status=status or (LIVE if entry.status == RETIRED else entry.status),
                provenance=entry.provenance if provenance is KEEP else provenance,  # type: ignore[arg-type]
                author=author, origin=origin, source_case=case, updated_at=at,
                section=entry.section if section is KEEP else section,  # type: ignore[arg-type]
            )
            await self.store.save(updated, snapshot=True)
            if questions is not None or entry.status != updated.status:
                await replace_forms(self, entry, updated, author=author, case=case, at=at)
            if (passage_texts(entry) != passage_texts(updated) or entry.status != updated.status):
                await replace_passages(self, entry, updated, known, author=author, at=at)
            await self.store.settle_conflicts(entry.id, at)
            await self._log_change(updated, "revised", at)
        return updated

    async def retire(self, entry: Entry, *, by: str | None, at: datetime) -> Entry:
        """Stop answering from ``entry``; its history is kept. Retiring twice changes nothing."""
        if entry.status == RETIRED:
            return entry
        async with self.db.transaction():
            retired = replace(entry, version=entry.version + 1, status=RETIRED, author=by, updated_at=at)
            await self.store.save(retired, snapshot=True)
            forms = [fid for fid, _ in await self.store.live_forms(entry.id)]
            if entry.status == LIVE:
                await remove_forms(self, entry.space, forms)
            else:  # a pending entry (a rejected past thread) was never in the index
                await self.store.kill_forms(forms, entry.space)
            await self.store.settle_conflicts(entry.id, at)
            await self._log_change(retired, "retired", at)
        return retired

    async def approve(self, entry: Entry, *, by: str, at: datetime) -> Entry:
        """A staff member lets a pending (private-thread) entry answer publicly."""
        if entry.status != PENDING:
            return entry
        return await self.revise(entry, author=by, origin=entry.origin, at=at, status=LIVE,
                                 case=entry.source_case)

    async def _log_change(self, entry: Entry, what: str, at: datetime) -> None:
        """Knowledge changes go into the event log too: the scorecard reads them."""
        await EventLog(self.db).append(
            "knowledge",
            at=at,
            space=entry.space,
            case=entry.source_case,
            body={"what": what, "entry": entry.id, "version": entry.version,
                  "origin": entry.origin, "author": entry.author, "status": entry.status,
                  "review_after": entry.review_after.isoformat() if entry.review_after else None,
                  # The version's content, chained with the log: see ``knowledge.integrity``.
                  "content_sha256": content_hash(entry_to_row(entry))},
        )
