"""New questions embedded and searched as they arrive, in batches.

A question is embedded (and its space searched) while its event is stored
and waits its turn in the core, in one forward pass with every other question
arriving at the same moment (``knowledge.batching``); in a space that holds
docs, its words are looked up in the full-text index meanwhile. The flow that
handles it later picks all up: the vector through the embedder (``expect``),
the search through ``take``, the words through ``take_words``, each used only
if the index has not changed since.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable

import numpy as np

from knowledge.batching import MicroBatcher, encode_unique
from knowledge.embedder import CachedEmbedder
from knowledge.indexes import Near, SpaceIndexes
from knowledge.retrieval import Lexical, lexical_search
from knowledge.store import EntryStore

SEARCH_K = 48  # question forms fetched per query before grouping by entry
KEPT = 4096  # prefetches nobody picked up (an event cancelled) are dropped beyond this
Prefetched = tuple[np.ndarray, int, list[Near]]  # vector, index version, nearest forms


class Prefetcher:
    """Embeds and searches new questions ahead of their handling, in batches, and
    looks their words up in a space that holds docs."""

    def __init__(self, indexes: SpaceIndexes, embedder: Callable[[], CachedEmbedder], *,
                 store: EntryStore, window: float, max_batch: int) -> None:
        self.indexes = indexes
        self.store = store
        self._embedder = embedder
        self._waiting: dict[tuple[str, str], asyncio.Task[Prefetched]] = {}
        self._words: dict[tuple[str, str], tuple[int, asyncio.Task[Lexical]]] = {}
        self.asked: MicroBatcher[tuple[str, str], Prefetched] = MicroBatcher(
            self._embed_and_search, window=window, max_batch=max_batch, name="journeybot-embed-search")

    def start(self, space: str, text: str) -> None:
        key = (space, text)
        if key in self._waiting:
            return
        task = asyncio.create_task(self.asked.submit(key), name="journeybot-embed-search")
        task.add_done_callback(_quietly)
        self._waiting[key] = task
        while len(self._waiting) > KEPT:
            self._waiting.pop(next(iter(self._waiting)))

        async def vector_only() -> np.ndarray:
            return (await task)[0].reshape(1, -1)

        self._embedder().expect(text, asyncio.ensure_future(vector_only()))

    def start_words(self, space: str, text: str) -> None:
        """In a space that holds docs, look the question's words up in the store
        while its event waits (``lexical_search``)."""
        if self.indexes.has_docs(space) and (space, text) not in self._words:
            self._words[(space, text)] = (self.indexes.version, asyncio.create_task(
                lexical_search(self.store, space, text, total=self.indexes.size()), name="journeybot-lexical"))

    def forget(self, space: str, text: str) -> None:
        self._waiting.pop((space, text), None)
        found = self._words.pop((space, text), None)
        if found is not None and not found[1].done():
            found[1].cancel()

    def take(self, space: str, text: str) -> asyncio.Task[Prefetched] | None:
        """The question's prefetch, if one was started (and is not taken yet)."""
        return self._waiting.pop((space, text), None)

    async def take_words(self, space: str, text: str) -> Lexical | None:
        """The question's words as looked up ahead, if that was started, succeeded
        and the index has not changed since; ``None`` otherwise."""
        found = self._words.pop((space, text), None)
        if found is None:
            return None
        version, task = found
        try:
            result = await task
        except (asyncio.CancelledError, Exception):  # the caller looks up again, where a failure shows
            return None
        return result if version == self.indexes.version else None

    def _embed_and_search(self, asked: list[tuple[str, str]]) -> list[Prefetched]:
        """One forward pass for every question of the batch, one search per space
        (in a worker thread)."""
        vectors = np.stack(encode_unique(self._embedder().encode, [text for _, text in asked]))
        version = self.indexes.version
        rows: dict[str, list[int]] = defaultdict(list)
        for row, (space, _) in enumerate(asked):
            rows[space].append(row)
        found: dict[int, list[Near]] = {}
        for space, of_space in rows.items():
            nearest = self.indexes.nearest_many_now(space, vectors[of_space], SEARCH_K)
            found.update(zip(of_space, nearest, strict=True))
        return [(vectors[row], version, found[row]) for row in range(len(asked))]


def _quietly(task: asyncio.Task[Prefetched]) -> None:
    """A prefetch nobody picked up may fail unseen (whoever awaits it sees the error)."""
    if not task.cancelled():
        task.exception()
