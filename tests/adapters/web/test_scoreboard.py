"""The console's scorecard: a page never waits beyond FRESH_WITHIN; it shows
the last count (marked so) while a new one runs, and a count that fails
leaves the last one standing."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.web.scoreboard import Scoreboard, View
from bot.overview import Counted


class Scores:
    """Counts on demand: each answer waits for ``release``; ``fail`` makes the next one raise."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.asked = 0
        self.fail = False

    async def scorecard(self, view: Any) -> Counted:
        self.asked += 1
        await self.release.wait()
        if self.fail:
            raise RuntimeError("the counting process died")
        return Counted(f"card {self.asked}", self.asked)


async def test_a_page_gets_the_last_count_while_a_new_one_runs_and_one_question_runs_per_view() -> None:
    scores = Scores()
    board = Scoreboard(scores)
    assert await board.card(View(), wait=0.01) is None, "nothing counted yet"
    assert await board.card(View(), wait=0.01) is None and scores.asked == 1, "one question at a time"
    scores.release.set()
    first = await board.card(View(), wait=1)
    assert first is not None and first.current and first.card == "card 1"
    scores.release.clear()
    later = await board.card(View(), wait=0.01)
    assert later is not None and not later.current and later.card == "card 1", "the last count, marked"
    scores.fail = True
    scores.release.set()
    await asyncio.sleep(0.01)
    after_failure = await board.card(View(), wait=0.5)
    assert after_failure is not None and after_failure.card == "card 1" and not after_failure.current
    await board.close()
