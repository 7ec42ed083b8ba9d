"""The vector index on the answering path: one FAISS thread per query, on
whichever thread the search runs."""

from __future__ import annotations

import os
import threading

import faiss
import numpy as np

from knowledge.vectors import VectorIndex, all_cores


def small_index() -> VectorIndex:
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(64, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(8)
    index.add(np.arange(64, dtype=np.int64), vectors)
    return index


def threads_after_a_search_on_a_fresh_thread(index: VectorIndex) -> int:
    """A new thread starts with OpenMP's default (every core); it searches, then says how many FAISS uses."""
    seen: list[int] = []

    def work() -> None:
        faiss.omp_set_num_threads(2)  # what a fresh thread has on any machine of 2 cores or more
        index.search(np.ones((1, 8), np.float32), 5)
        seen.append(faiss.omp_get_max_threads())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    return seen[0]


def test_a_search_in_a_worker_thread_uses_one_faiss_thread() -> None:
    assert threads_after_a_search_on_a_fresh_thread(small_index()) == 1


def test_bulk_work_still_uses_every_core_and_searches_go_back_to_one() -> None:
    index = small_index()
    with all_cores():
        assert faiss.omp_get_max_threads() == (os.cpu_count() or 1)
    index.search(np.ones((1, 8), np.float32), 5)
    assert faiss.omp_get_max_threads() == 1
    assert threads_after_a_search_on_a_fresh_thread(index) == 1
