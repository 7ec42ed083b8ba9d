"""A question's words looked up ahead count only while the index is the one they were looked up in."""

from __future__ import annotations

from typing import Any, cast

import pytest

import knowledge.prefetch as prefetch
from knowledge.prefetch import Prefetcher


class Indexes:
    version = 1

    def has_docs(self, space: str) -> bool:
        return True

    def size(self) -> int:
        return 10


async def test_words_looked_up_ahead_are_used_only_if_the_index_has_not_changed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    looked_up: list[str] = []

    async def lexical_search(store: object, space: str, text: str, *, total: int) -> str:
        looked_up.append(text)
        return f"words of {text}"

    monkeypatch.setattr(prefetch, "lexical_search", lexical_search)
    indexes = Indexes()
    ahead = Prefetcher(cast(Any, indexes), lambda: cast(Any, None), store=cast(Any, None), window=0.01,
                       max_batch=8)

    ahead.start_words("default", "how do I export?")
    found: object = await ahead.take_words("default", "how do I export?")
    assert found == "words of how do I export?"
    assert await ahead.take_words("default", "how do I export?") is None  # taken once

    ahead.start_words("default", "how do I import?")
    indexes.version = 2  # knowledge changed while the question waited: look again
    assert await ahead.take_words("default", "how do I import?") is None
    assert looked_up == ["how do I export?", "how do I import?"]
