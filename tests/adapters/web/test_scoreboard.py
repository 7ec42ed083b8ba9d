"""The console's scorecard cache: a period is counted once, kept across
restarts, and counted again only when records fall into it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.web.scoreboard import Scoreboard, View
from bot.settings import PolicySettings
from storage.database import Database
from storage.eventlog import EventLog
from learning.scorecard import compute

T0 = datetime(2026, 3, 2, 9, tzinfo=UTC)


async def test_a_period_is_counted_once_kept_and_recounted_only_when_records_fall_into_it(tmp_path: Path) -> None:
    path = str(tmp_path / "store.db")
    counted: list[View] = []
    async with Database(path) as db:
        log = EventLog(db)
        async with db.transaction():
            await log.append("event", at=T0, space="default", body={"type": "message"}, event_id="m1")

        async def counting(view: View) -> object:
            counted.append(view)
            return await compute(db, since=view.since, until=view.until)

        week = View(since=T0 - timedelta(days=1), until=T0 + timedelta(days=6))
        board = Scoreboard(db, policy=PolicySettings(), path=path, compute_with=counting, keep_in=db)  # type: ignore[arg-type]
        first = await board.card(week)
        assert first is not None and first.current and len(counted) == 1
        assert (await board.card(week)) is first and len(counted) == 1, "the log did not change"

        async with db.transaction():  # a record after the period: it still holds
            await log.append("event", at=T0 + timedelta(days=8), space="default", body={}, event_id="m2")
        assert (await board.card(week)).current and len(counted) == 1

        restarted = Scoreboard(db, policy=PolicySettings(), path=path, compute_with=counting, keep_in=db)  # type: ignore[arg-type]
        kept = await restarted.card(week)
        assert kept is not None and kept.current and len(counted) == 1, "kept across a restart"
        assert kept.card.figures["redactions"].value == first.card.figures["redactions"].value

        async with db.transaction():  # a record inside the period: counted again
            await log.append("event", at=T0 + timedelta(days=2), space="default", body={"redactions": 3},
                             event_id="m3")
        await asyncio.sleep(0.05)  # past the throttle: 10x as long as the last count took
        again = await restarted.card(week, wait=5)
        assert again is not None and len(counted) == 2
        assert again.card.figures["redactions"].value == 3
