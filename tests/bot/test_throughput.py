"""A burst of questions through the real core: embedded together, answered
as if one at a time.

The core embeds a question as it arrives, before it waits for the lock that
handles one event at a time, so questions arriving together share one forward
pass of the model. Nothing here measures time (``bench/throughput.py`` does).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from bot.actions import Action, Reply, Route
from bot.core import Core
from bot.events import Message
from bot.settings import Settings
from knowledge.embedder import CachedEmbedder, Embedder
from tests.chat import make_core
from tests.conftest import DEMO_KB

AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
QUESTIONS = [
    "how can I rotate my api key",
    "what's the rate limit of the API?",
    "I forgot my password, help",
    "how do I enable 2fa on my account",
    "can you refund my last invoice twice",
    "is there a dark mode for notebooks on mobile",
]


class Counted:
    """The real model, counting which texts each forward pass was given."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.passes: list[list[str]] = []
        self.given = threading.Event()  # set once a question of the burst reaches the model

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.passes.append(list(texts))
        if set(texts) & set(QUESTIONS):
            self.given.set()
        return self.inner.encode(texts)


def burst() -> list[Message]:
    return [Message(id=f"m{i}", at=AT + timedelta(milliseconds=i), user=f"asker{i}", channel="help", text=text)
            for i, text in enumerate(QUESTIONS)]


def outcome(actions: list[Action]) -> list[tuple[str, str, tuple[str, ...]]]:
    """What the asker saw: each reply's kind, words and sources; routes as such."""
    return [(a.kind, a.text, a.sources) if isinstance(a, Reply) else ("route", a.case or "", ())
            for a in actions if isinstance(a, Reply | Route)]


async def passes_reach(core: Core, passes: int) -> None:
    for _ in range(3000):
        if core.kb.prefetcher.asked.passes >= passes:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"fewer than {passes} forward passes within 30 s")


async def question_passes(counted: Counted) -> list[list[str]]:
    return [p for p in counted.passes if set(p) & set(QUESTIONS)]


async def test_questions_arriving_together_share_one_forward_pass_and_get_the_same_replies(
        embedder: CachedEmbedder) -> None:
    counted = Counted(embedder.inner)
    together = await make_core(CachedEmbedder(counted), kb=DEMO_KB, embed_batch_ms=1000,
                               embed_batch_max=len(QUESTIONS))
    alone = await make_core(CachedEmbedder(Counted(embedder.inner)), kb=DEMO_KB, embed_batch_ms=0,
                            embed_batch_max=1)
    try:
        counted.passes.clear()
        # The window is a second: the batch closes because it is full, or the wait fails. The
        # burst comes while another question is in hand (it waits for the lock): that is when a
        # question waits for company; alone at an idle core it is embedded at once.
        first = Message(id="m-first", at=AT, user="early", channel="help", text="hello, how do I export my data?")
        async with together._lock:
            earlier = asyncio.create_task(together.handle(first))
            await passes_reach(together, 1)
            handling = [asyncio.create_task(together.handle(m)) for m in burst()]
            await passes_reach(together, 2)
        replies = await asyncio.wait_for(asyncio.gather(*handling), 60)
        await asyncio.wait_for(earlier, 60)
        assert await question_passes(counted) == [QUESTIONS]
        one_by_one = [await alone.handle(m) for m in burst()]
        assert [outcome(r) for r in replies] == [outcome(r) for r in one_by_one]
        assert {kind for r in replies for kind, _, _ in outcome(r)} >= {"answer", "route"}
        stored = await together.cases.vectors("default", [m.id for m in burst()])
        for message in burst():
            expected = embedder.inner.encode([message.text])[0]
            assert np.allclose(stored[message.id], expected, atol=1e-5), message.text
    finally:
        await together.close()
        await alone.close()


async def test_a_question_arriving_while_the_core_is_busy_is_embedded_before_its_turn(
        embedder: CachedEmbedder) -> None:
    counted = Counted(embedder.inner)
    core: Core = await make_core(CachedEmbedder(counted), kb=DEMO_KB, embed_batch_ms=0)
    try:
        counted.passes.clear()
        async with core._lock:  # another event is being handled
            waiting = asyncio.create_task(core.handle(burst()[0]))
            # The model is given the question while the event waits its turn (or never, and this fails).
            assert await asyncio.to_thread(counted.given.wait, 30)
            assert not waiting.done()
            assert core.kb.prefetcher.asked.passes == 1
        replies = await asyncio.wait_for(waiting, 60)
        assert outcome(replies)[0][0] == "answer"
        assert await question_passes(counted) == [[QUESTIONS[0]]]  # not embedded again
    finally:
        await core.close()


async def test_a_question_at_an_idle_core_does_not_wait_the_window(embedder: CachedEmbedder) -> None:
    core: Core = await make_core(embedder, kb=DEMO_KB)
    core.kb.prefetcher.asked.window = 600.0  # ten minutes
    try:
        replies = await asyncio.wait_for(core.handle(burst()[0]), 60)  # else this fails
        assert outcome(replies)[0][0] == "answer"
    finally:
        await core.close()


async def test_the_window_and_batch_size_come_from_the_settings(embedder: CachedEmbedder, tmp_path: Path) -> None:
    core = await Core.open(Settings(db=str(tmp_path / "s.db"), embed_batch_ms=7, embed_batch_max=3),
                           embedder=embedder)
    try:
        batcher = core.kb.prefetcher.asked
        assert (batcher.window, batcher.max_batch) == (0.007, 3)
    finally:
        await core.close()
    with pytest.raises(ValidationError, match="embed_batch_max"):
        Settings(embed_batch_max=0)
