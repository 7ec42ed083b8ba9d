"""A FAISS index over normalised question-form vectors, changed in place.

Inner product over L2-normalised vectors is cosine similarity. Ids are the
``forms`` table's row ids, so a hit maps straight back to its entry.

- ``exact``: ``IndexIDMap2(IndexFlatIP)``; adds and removals in place.
- ``hnsw``: ``IndexIDMap2(IndexHNSWFlat)`` for large stores (see
  ``bench/latency.py`` for where it pays). HNSW cannot delete, so removals
  are tombstones filtered out of results (the search over-fetches to make up
  for them); the graph is compacted when a quarter of it is dead.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import faiss
import numpy as np

logger = logging.getLogger(__name__)

# One question is one query: FAISS's OpenMP threads gain nothing there and
# fight torch's for the cores. Measured on 2 cores (10k vectors): embedding
# 20 → 11 ms and search p99 25 → 2 ms with one FAISS thread. Bulk graph builds
# still use every core (``all_cores``).
#
# OpenMP keeps that number per calling thread, and a thread that never set it
# uses every core. Searches run in worker threads (the prefetch, ``to_thread``),
# so each thread sets it before its first search (``one_thread``): on 2 busy
# cores a 10k search in a worker thread took 47 ms with two FAISS threads
# against 5 ms with one.
faiss.omp_set_num_threads(1)
BULK = 10_000
_here = threading.local()


def one_thread() -> None:
    """One FAISS (OpenMP) thread for searches made on the calling thread."""
    if not getattr(_here, "one", False):
        faiss.omp_set_num_threads(1)
        _here.one = True


@contextmanager
def all_cores() -> Iterator[None]:
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    _here.one = False
    try:
        yield
    finally:
        faiss.omp_set_num_threads(1)
        _here.one = True

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 128


class VectorIndex:
    """One space's vectors. Thread-safe: searches run in worker threads."""

    def __init__(self, dim: int, *, kind: str = "exact") -> None:
        if kind not in ("exact", "hnsw"):
            raise ValueError(f"unknown index kind {kind!r}")
        self.dim = dim
        self.kind = kind
        self._index = self._empty()
        self._dead: set[int] = set()
        self._lock = threading.RLock()

    def _empty(self) -> faiss.IndexIDMap2:
        if self.kind == "exact":
            return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        graph = faiss.IndexHNSWFlat(self.dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = HNSW_EF_SEARCH
        return faiss.IndexIDMap2(graph)

    def __len__(self) -> int:
        return int(self._index.ntotal) - len(self._dead)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        with self._lock:
            revived = self._dead.intersection(ids.tolist())
            if revived:  # a form id reused after a removal: drop the stale copy first
                self._remove_now(np.array(sorted(revived), dtype=np.int64))
            if self.kind == "hnsw" and len(ids) >= BULK:
                with all_cores():
                    self._index.add_with_ids(vectors, ids)
            else:
                self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        with self._lock:
            if self.kind == "exact":
                self._index.remove_ids(ids)  # type: ignore[arg-type]  # see _remove_now
                return
            self._dead.update(ids.tolist())
            if len(self._dead) * 4 > self._index.ntotal:
                self._compact()

    def _remove_now(self, ids: np.ndarray) -> None:
        if self.kind == "exact":
            # faiss's Python wrapper takes an array of ids; its stubs know only IDSelector
            self._index.remove_ids(ids)  # type: ignore[arg-type]
        else:
            self._dead.difference_update(ids.tolist())
            self._compact(extra_dead=set(ids.tolist()))

    def _compact(self, extra_dead: set[int] | None = None) -> None:
        dead = self._dead | (extra_dead or set())
        ids = faiss.vector_to_array(self._index.id_map)
        keep = np.array([i for i, fid in enumerate(ids) if int(fid) not in dead], dtype=np.int64)
        vectors = self._index.index.reconstruct_n(0, self._index.ntotal)
        logger.info("compacting the %s index: %d live of %d", self.kind, len(keep), len(ids))
        self._index = self._empty()
        self._dead = set()
        if len(keep):
            self._index.add_with_ids(vectors[keep], ids[keep])

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` (scores, ids) per query row; id -1 pads short results."""
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        one_thread()
        with self._lock:
            total = int(self._index.ntotal)
            if total == 0 or k <= 0:
                empty = np.zeros((len(queries), 0))
                return empty.astype(np.float32), empty.astype(np.int64)
            fetch = min(total, k + (min(len(self._dead), 4 * k) if self._dead else 0))
            scores, ids = self._index.search(queries, fetch)
            dead = self._dead
        if not dead:
            return scores[:, :k], ids[:, :k]
        out_s = np.full((len(queries), k), -1.0, dtype=np.float32)
        out_i = np.full((len(queries), k), -1, dtype=np.int64)
        for row in range(len(queries)):
            alive = [j for j, fid in enumerate(ids[row]) if fid != -1 and int(fid) not in dead][:k]
            out_s[row, : len(alive)] = scores[row, alive]
            out_i[row, : len(alive)] = ids[row, alive]
        return out_s, out_i

    def vectors(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of live ``ids`` (one row each, in order)."""
        with self._lock:
            rows = [self._index.reconstruct(int(i)) for i in ids]
        return np.stack(rows).astype(np.float32) if rows else np.zeros((0, self.dim), np.float32)

    def save(self, path: Path) -> None:
        """Write a snapshot (HNSW graphs are slow to build; vectors are not)."""
        with self._lock:
            if self._dead:
                self._compact()
            faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path, dim: int, kind: str) -> VectorIndex:
        index = cls(dim, kind=kind)
        loaded = faiss.read_index(str(path))
        if loaded.d != dim:
            raise ValueError(f"index snapshot {path} has dimension {loaded.d}, expected {dim}")
        mapped = loaded if isinstance(loaded, faiss.IndexIDMap2) else faiss.downcast_index(loaded)
        if not isinstance(mapped, faiss.IndexIDMap2):
            raise ValueError(f"index snapshot {path} does not map ids ({type(mapped).__name__})")
        index._index = mapped
        if kind == "hnsw":
            graph = faiss.downcast_index(mapped.index)
            if not isinstance(graph, faiss.IndexHNSW):
                raise ValueError(f"index snapshot {path} is not an HNSW graph ({type(graph).__name__})")
            graph.hnsw.efSearch = HNSW_EF_SEARCH
        return index
