"""Questions that arrive together share one forward pass of the encoder.

The batcher is driven with a recording fake encoder (no model, no timing): a
batch is closed by being full, never by a clock, so every test is
deterministic: the window is ten minutes, and a test waits at most
``SOON`` for its callers, so one that depended on the window would fail.
"""

from __future__ import annotations

import asyncio
import threading
import zlib
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np
import pytest

from knowledge.base import KnowledgeBase
from knowledge.batching import MicroBatcher, encode_unique
from knowledge.embedder import CachedEmbedder
from knowledge.entries import Draft
from storage import database_for

NEVER = 600.0  # seconds: a batch in these tests closes because it is full
SOON = 20.0  # seconds: every caller is served well before this, or the test fails
AT = datetime(2026, 3, 1, tzinfo=UTC)
T = TypeVar("T")


class Recorded:
    """A fake forward pass: remembers each batch it was given."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, texts: list[str]) -> list[str]:
        self.batches.append(list(texts))
        return [text.upper() for text in texts]


async def served(*callers: Awaitable[T], errors: bool = False) -> list[Any]:
    """What each caller got, in order; fails if any of them waits for the window."""
    return await asyncio.wait_for(asyncio.gather(*callers, return_exceptions=errors), SOON)


async def started(batcher: MicroBatcher[str, str], *items: str) -> list[asyncio.Task[str]]:
    """Callers that have joined the queue (each task ran up to its await)."""
    tasks = [asyncio.create_task(batcher.submit(item)) for item in items]
    await asyncio.sleep(0)
    return tasks


async def test_callers_waiting_together_share_one_pass_and_each_gets_its_own_result() -> None:
    work = Recorded()
    batcher: MicroBatcher[str, str] = MicroBatcher(work, window=NEVER, max_batch=5)
    results = await served(*(batcher.submit(f"q{i}") for i in range(5)))
    assert work.batches == [["q0", "q1", "q2", "q3", "q4"]]
    assert results == ["Q0", "Q1", "Q2", "Q3", "Q4"]
    assert batcher.passes == 1


async def test_a_lone_caller_is_served_at_once_when_nobody_is_queueing_and_waits_for_company_when_they_are(
        ) -> None:
    work = Recorded()
    batcher: MicroBatcher[str, str] = MicroBatcher(work, window=NEVER, max_batch=2)
    queueing = False
    batcher.busy = lambda: queueing
    assert await served(batcher.submit("alone")) == ["ALONE"]  # the window of ten minutes is not waited

    queueing = True
    first = await started(batcher, "first")
    await asyncio.sleep(0.05)
    assert not first[0].done() and work.batches == [["alone"]]  # it waits: company is likely
    assert await served(*first, batcher.submit("second")) == ["FIRST", "SECOND"]
    assert work.batches == [["alone"], ["first", "second"]]


async def test_batches_keep_arrival_order_and_never_exceed_the_maximum() -> None:
    work = Recorded()
    batcher: MicroBatcher[str, str] = MicroBatcher(work, window=0, max_batch=2)
    results = await served(*(batcher.submit(f"q{i}") for i in range(5)))
    assert results == [f"Q{i}" for i in range(5)]
    assert [item for batch in work.batches for item in batch] == [f"q{i}" for i in range(5)]
    assert all(1 <= len(batch) <= 2 for batch in work.batches)


async def test_a_lone_caller_with_no_window_is_served_at_once_in_a_batch_of_one() -> None:
    work = Recorded()
    batcher: MicroBatcher[str, str] = MicroBatcher(work, window=0, max_batch=64)
    assert await batcher.submit("alone") == "ALONE"
    assert work.batches == [["alone"]]


async def test_those_who_arrive_during_a_pass_go_together_in_the_next() -> None:
    release, running = threading.Event(), threading.Event()
    batches: list[list[str]] = []

    def slow(texts: list[str]) -> list[str]:
        batches.append(list(texts))
        running.set()
        if len(batches) == 1:
            release.wait(timeout=SOON)
        return [t.upper() for t in texts]

    batcher: MicroBatcher[str, str] = MicroBatcher(slow, window=0, max_batch=64)
    first = await started(batcher, "first")
    assert await asyncio.to_thread(running.wait, SOON)  # the first pass is running in its thread
    later = await started(batcher, "a", "b", "c")
    release.set()
    assert await served(*first, *later) == ["FIRST", "A", "B", "C"]
    assert batches == [["first"], ["a", "b", "c"]]


async def test_a_failing_pass_raises_in_every_caller_of_its_batch_and_the_next_batch_works() -> None:
    calls: list[list[str]] = []

    def broken_once(texts: list[str]) -> list[str]:
        calls.append(list(texts))
        if len(calls) == 1:
            raise RuntimeError("the encoder ran out of memory")
        return [t.upper() for t in texts]

    batcher: MicroBatcher[str, str] = MicroBatcher(broken_once, window=NEVER, max_batch=3)
    outcomes = await served(*(batcher.submit(t) for t in ("a", "b", "c")), errors=True)
    assert [str(o) for o in outcomes] == ["the encoder ran out of memory"] * 3
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await served(*(batcher.submit(t) for t in ("d", "e", "f"))) == ["D", "E", "F"]


async def test_a_pass_that_returns_too_few_results_fails_its_callers_rather_than_misassigning() -> None:
    batcher: MicroBatcher[str, str] = MicroBatcher(lambda texts: texts[:-1], window=NEVER, max_batch=2)
    outcomes = await served(batcher.submit("a"), batcher.submit("b"), errors=True)
    assert all(isinstance(o, RuntimeError) and "2 gave 1" in str(o) for o in outcomes)


async def test_a_caller_cancelled_while_waiting_leaves_the_batch_and_the_others_are_served() -> None:
    work = Recorded()
    batcher: MicroBatcher[str, str] = MicroBatcher(work, window=NEVER, max_batch=3)
    a, b = await started(batcher, "a", "b")
    b.cancel()
    c, d = await started(batcher, "c", "d")  # the queue holds 4 (one cancelled): full
    assert await served(a, c, d) == ["A", "C", "D"]
    assert b.cancelled()
    assert work.batches == [["a", "c", "d"]]


async def test_a_caller_cancelled_during_the_pass_does_not_break_the_others() -> None:
    release, running = threading.Event(), threading.Event()

    def slow(texts: list[str]) -> list[str]:
        running.set()
        release.wait(timeout=SOON)
        return [t.upper() for t in texts]

    batcher: MicroBatcher[str, str] = MicroBatcher(slow, window=NEVER, max_batch=3)
    a, b, c = await started(batcher, "a", "b", "c")
    assert await asyncio.to_thread(running.wait, SOON)
    b.cancel()
    release.set()
    assert await served(a, c) == ["A", "C"]
    with pytest.raises(asyncio.CancelledError):
        await b
    assert await served(*(batcher.submit(t) for t in "xyz")) == ["X", "Y", "Z"]  # the runner survived


async def test_a_text_asked_twice_in_one_batch_is_encoded_once() -> None:
    encoded: list[list[str]] = []

    def encode(texts: Sequence[str]) -> np.ndarray:
        encoded.append(list(texts))
        return np.array([[float(len(t)), 1.0] for t in texts], dtype=np.float32)

    rows = encode_unique(encode, ["aa", "b", "aa"])
    assert encoded == [["aa", "b"]]
    assert [r.tolist() for r in rows] == [[2.0, 1.0], [1.0, 1.0], [2.0, 1.0]]


# -- in front of the knowledge base --------------------------------------------------


class CountingEncoder:
    """A deterministic fake model (a text's vector depends on the text alone)
    that counts its forward passes."""

    name = "fake"
    dim = 16

    def __init__(self) -> None:
        self.passes: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.passes.append(list(texts))
        rows = [np.random.default_rng(zlib.crc32(t.encode())).normal(size=self.dim) for t in texts]
        out = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


async def fake_kb(batch_max: int) -> tuple[KnowledgeBase, CountingEncoder]:
    encoder = CountingEncoder()
    db = database_for(":memory:")
    await db.open()
    kb = KnowledgeBase(db, CachedEmbedder(encoder), dim=encoder.dim, batch_window=NEVER, batch_max=batch_max)
    await kb.open()
    for i in range(12):
        await kb.create(Draft((f"stored question {i}",), f"answer {i}"), author="a", origin="import", at=AT)
    encoder.passes.clear()
    return kb, encoder


async def test_questions_prefetched_together_are_embedded_in_one_pass_and_found_as_one_at_a_time() -> None:
    kb, encoder = await fake_kb(batch_max=6)
    try:
        asked = [("default", f"stored question {i}?") for i in range(5)] + [("other", "stored question 1?")]
        for space, text in asked:
            kb.prefetch(space, text)
        vectors = [(await asyncio.wait_for(kb.embedder.embed([text]), SOON))[0] for _, text in asked]
        assert encoder.passes == [[f"stored question {i}?" for i in range(5)]]  # one pass, repeats once
        for (space, text), vector in zip(asked, vectors, strict=True):
            expected = CountingEncoder().encode([text])[0]
            assert np.allclose(vector, expected, atol=1e-6)
            batched = await kb.search(space, vector, text=text)  # the prefetched search
            alone = await kb.search(space, vector)  # searched now, on its own
            assert [(h.entry.id, round(h.score, 5)) for h in batched] == \
                   [(h.entry.id, round(h.score, 5)) for h in alone]
        assert encoder.passes == [[f"stored question {i}?" for i in range(5)]]
    finally:
        await kb.db.close()


async def test_a_failed_pass_reaches_the_flow_that_waits_for_the_vector() -> None:
    kb, encoder = await fake_kb(batch_max=2)

    def broken(texts: Sequence[str]) -> np.ndarray:
        raise RuntimeError("model crashed")

    encoder.encode = broken  # type: ignore[method-assign]
    try:
        kb.prefetch("default", "one")
        kb.prefetch("default", "two")
        for text in ("one", "two"):
            with pytest.raises(RuntimeError, match="model crashed"):
                await asyncio.wait_for(kb.embedder.embed([text]), SOON)
    finally:
        await kb.db.close()


def test_a_batcher_outlives_its_event_loop() -> None:
    """One batcher, two event loops one after the other (a restart in one process,
    or tests): callers left waiting on the first loop do not reach the second."""
    work = Recorded()
    batcher: MicroBatcher[str, str] = MicroBatcher(work, window=NEVER, max_batch=2)

    async def abandon() -> None:
        asyncio.get_running_loop().create_task(batcher.submit("left behind"))
        await asyncio.sleep(0)

    first = asyncio.new_event_loop()
    first.set_exception_handler(lambda loop, context: None)  # its tasks die pending, by design
    first.run_until_complete(abandon())
    first.close()  # its caller and the runner never finish (no asyncio.run to cancel them)
    results = asyncio.run(served(batcher.submit("a"), batcher.submit("b")))
    assert results == ["A", "B"]
    assert work.batches == [["a", "b"]]
