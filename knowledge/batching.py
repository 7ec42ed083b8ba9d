"""Micro-batching: questions that arrive within a few milliseconds of each
other share one forward pass of the encoder.

A forward pass over 64 short questions costs far less than 64 passes over
one (the matrix products fill the cores instead of the call overhead), so a
burst of questions is embedded in batches. Callers ``await submit(item)``:

- the first caller waits at most ``window`` seconds for company, or until
  ``max_batch`` items are waiting; then one pass runs in a worker thread and
  every caller gets its own result, in the order they came;
- while a pass runs, newcomers gather for the next one, which starts as soon
  as the encoder is free (they have waited long enough already);
- a failing pass raises its error in every caller of that batch;
- a caller cancelled while it waits leaves the batch; the others are not
  affected (a pass already running finishes for them).

A lone question pays at most ``window`` more than being embedded at once, and
nothing when ``busy`` says nobody is likely to join it: the core sets it to
"another event is in hand" (taken in, not yet processed), as in a burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

WINDOW = 0.002  # seconds the first of a batch waits for company
MAX_BATCH = 64


@dataclass(slots=True)
class _Waiting(Generic[T, R]):
    item: T
    result: asyncio.Future[R]
    since: float


class MicroBatcher(Generic[T, R]):
    """Gathers items for ``work`` (a blocking function of a list, run in a
    worker thread, returning one result per item in order)."""

    def __init__(self, work: Callable[[list[T]], Sequence[R]], *, window: float = WINDOW,
                 max_batch: int = MAX_BATCH, name: str = "journeybot-batch") -> None:
        if window < 0 or max_batch < 1:
            raise ValueError("a batch needs a window of 0 s or more and room for at least one item")
        self._work = work
        self.window = window
        self.max_batch = max_batch
        self._name = name
        self._queue: deque[_Waiting[T, R]] = deque()
        self._full = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self.busy: Callable[[], bool] | None = None  # None: always wait the window
        self.passes = 0  # how many times ``work`` ran (for benches and logs)

    async def submit(self, item: T) -> R:
        """``item``'s result, computed together with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        runner = self._runner
        if runner is not None and runner.get_loop() is not loop:  # tests run one loop per test
            self._queue = deque(w for w in self._queue if w.result.get_loop() is loop)
            runner = None
        waiting: _Waiting[T, R] = _Waiting(item, loop.create_future(), loop.time())
        self._queue.append(waiting)
        if runner is None or runner.done():
            self._full = asyncio.Event()
            self._runner = loop.create_task(self._run(), name=self._name)
        if len(self._queue) >= self.max_batch:
            self._full.set()
        # Cancelling the caller cancels only its own future: the batch goes on without it.
        return await waiting.result

    async def _run(self) -> None:
        try:
            while self._queue:
                await self._gather()
                batch = self._take()
                if batch:
                    await self._pass(batch)
        except BaseException as exc:  # never leave a caller waiting on a runner that is gone
            self._fail_all(exc)
            raise

    async def _gather(self) -> None:
        """Wait until the oldest waiter's window is over or the batch is full."""
        loop = asyncio.get_running_loop()
        delay = self._queue[0].since + self.window - loop.time()
        if delay <= 0 or len(self._queue) >= self.max_batch or (self.busy is not None and not self.busy()):
            return
        self._full.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._full.wait()

    def _take(self) -> list[_Waiting[T, R]]:
        batch: list[_Waiting[T, R]] = []
        while self._queue and len(batch) < self.max_batch:
            waiting = self._queue.popleft()
            if not waiting.result.done():  # a cancelled caller left
                batch.append(waiting)
        return batch

    async def _pass(self, batch: list[_Waiting[T, R]]) -> None:
        self.passes += 1
        try:
            results = await asyncio.to_thread(self._work, [w.item for w in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(results)} results")
        except asyncio.CancelledError:
            for waiting in batch:
                waiting.result.cancel()
            raise
        except Exception as exc:
            logger.debug("a batch of %d failed: %r", len(batch), exc)
            for waiting in batch:
                if not waiting.result.done():
                    waiting.result.set_exception(exc)
            return
        for waiting, result in zip(batch, results, strict=True):
            if not waiting.result.done():
                waiting.result.set_result(result)

    def _fail_all(self, exc: BaseException) -> None:
        while self._queue:
            waiting = self._queue.popleft()
            if waiting.result.done():
                continue
            if isinstance(exc, asyncio.CancelledError):
                waiting.result.cancel()
            else:
                waiting.result.set_exception(exc)


def encode_unique(encode: Callable[[Sequence[str]], np.ndarray], texts: list[str]) -> list[np.ndarray]:
    """One row per text from one ``encode`` call; a text asked twice in a
    batch is encoded once."""
    unique = list(dict.fromkeys(texts))
    rows = encode(unique)
    at = {text: i for i, text in enumerate(unique)}
    return [rows[at[text]] for text in texts]
