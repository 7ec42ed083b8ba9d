"""The ledger counts what ``compute`` counts, for any period, space and
channel, from the log folded once (``learning.ledger``)."""

from __future__ import annotations

import ast
import random
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from learning.ledger import Ledger
from learning.scorecard import compute
from learning.tally import _ON, FIELDS
from storage.database import Database
from storage.eventlog import EventLog, Record
from tests.learning.community import community_core, play_community

LEARNING = Path(__file__).resolve().parents[2] / "learning"


@pytest.fixture
async def core(embedder: Any) -> AsyncIterator[Any]:
    """The community's core: it helps in ``help``, ``general`` and ``support``."""
    core = await community_core(embedder)
    try:
        yield core
    finally:
        await core.close()


async def records_of(db: Database) -> list[Record]:
    return [rec async for rec in EventLog(db).records()]


def bounds(first: datetime, last: datetime, *, n: int, seed: int) -> list[dict[str, Any]]:
    """Periods of every shape over the log: open ends, days, weeks, cut mid-day."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = [{}, {"space": "acme"}, {"channel": "general"}, {"space": "default", "channel": "help"}]
    for _ in range(n):
        since = first + (last - first) * rng.random()
        until = since + timedelta(hours=rng.choice((5, 24, 72, 24 * 7, 24 * 30)))
        out.append({"since": since if rng.random() < 0.85 else None, "until": until if rng.random() < 0.85 else None,
                    "space": rng.choice((None, None, "default", "acme")),
                    "channel": rng.choice((None, None, "help", "general", "support"))})
    return out


async def assert_same(db: Database, ledger: Ledger, shapes: list[dict[str, Any]]) -> None:
    for shape in shapes:
        full = (await compute(db, **shape)).as_json()
        assert ledger.scorecard(**shape).as_json() == full, shape


async def test_the_ledger_counts_what_a_full_read_counts_for_any_period_space_and_channel(core: Any) -> None:
    chat = (await play_community(core)).chat
    records = await records_of(core.db)
    ledger = Ledger()
    ledger.fold(records)
    span = ledger.span()
    assert span is not None and len({r.space for r in records}) == 2
    await assert_same(core.db, ledger, bounds(*span, n=40, seed=3))
    assert ledger.scorecard().figures["task_success"].denominator, "the log has ended cases to count"
    assert chat.now > span[1]
    assert len(ledger.records) > 500 and repr(ledger) == f"Ledger(head={ledger.head}, records={len(ledger.records)}, chunks=0)", \
        "short: asyncio reprs a finished task's result, and a ledger's full repr took seconds"


async def test_records_dated_out_of_order_are_counted_as_a_full_read_counts_them(core: Any) -> None:
    """Platforms stamp events with their own clocks: the log's order is not always time order."""
    await play_community(core, days=8)
    rng = random.Random(5)
    shifted = Database(":memory:")
    await shifted.open()
    shift: dict[str, timedelta] = {}
    try:
        log = EventLog(shifted)
        async with shifted.transaction():
            for rec in await records_of(core.db):
                key = rec.case or rec.event_id or ""
                moved = shift.setdefault(key, timedelta(minutes=rng.randint(-600, 600)))
                await log.append(rec.kind, at=rec.at + moved, space=rec.space, body=rec.body,  # type: ignore[arg-type]
                                 case=rec.case, event_id=rec.event_id)
        ledger = Ledger()
        ledger.fold(await records_of(shifted))
        span = ledger.span()
        assert span is not None
        await assert_same(shifted, ledger, bounds(*span, n=25, seed=9))
    finally:
        await shifted.close()


async def test_a_view_to_now_kept_up_to_date_record_by_record_counts_what_a_full_read_counts(core: Any) -> None:
    played = await play_community(core, days=6)
    chat = played.chat
    waiting = await chat.ask("can I print a notebook as a poster?", user="u77")
    played.waiting.append(waiting.route.card)
    ledger = Ledger()
    ledger.fold(await records_of(core.db))
    since = chat.now - timedelta(days=3)
    views: list[dict[str, Any]] = [{}, {"since": since}, {"channel": "help"}, {"since": since, "channel": "help"},
                                   {"space": "acme"}]
    before = [ledger.scorecard(**view) for view in views]
    assert played.answered
    for card in played.waiting:  # cases from before the views were counted: staff answer them now
        await chat.staff("Sorry for the wait: Settings → Export.", card=card)
    for case, asker in played.answered[:6]:
        await chat.press(case, "not_solved", user=asker)
    await play_community(core, days=4, seed=12, chat=chat)  # and the community goes on
    assert ledger.fold(await records_of(core.db)) > 0
    after = [ledger.scorecard(**view) for view in views]
    assert after[0].as_json() != before[0].as_json()
    await assert_same(core.db, ledger, views)


async def test_a_bounded_period_is_kept_until_a_record_dated_inside_it_arrives(core: Any) -> None:
    chat = (await play_community(core, days=4)).chat
    ledger = Ledger()
    ledger.fold(await records_of(core.db))
    span = ledger.span()
    assert span is not None
    week = {"since": span[0], "until": span[0] + timedelta(days=2)}
    first = ledger.scorecard(**week)
    assert ledger.scorecard(**week) is first
    await chat.ask("how do I rotate my api key", user="late")  # after the period: it still holds
    ledger.fold(await records_of(core.db))
    assert ledger.scorecard(**week) is first
    log = EventLog(core.db)
    async with core.db.transaction():  # a record dated inside it: counted again
        await log.append("event", at=span[0] + timedelta(hours=1), space="default",
                         body={"type": "message", "redactions": 2})
    ledger.fold(await records_of(core.db))
    again = ledger.scorecard(**week)
    assert again is not first and again.figures["redactions"].value == first.figures["redactions"].value + 2  # type: ignore[operator]


def test_the_fields_the_ledger_keeps_are_the_fields_the_tally_and_the_figures_read() -> None:
    """A figure that reads a field the ledger drops would count differently:
    every ``.get("name")`` in the tally and the figures names a kept field (or
    one of the tally's own counters)."""
    kept = {name for fields in FIELDS.values() for name in fields} | {"candidates", "version"}
    counters = {"redactions", "promise_blocked", "private_move", "entries_taught", "all", "staff", "solved",
                "not_solved"}
    read = set()
    for module in ("tally.py", "figures.py"):
        for node in ast.walk(ast.parse((LEARNING / module).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                read.add(node.args[0].value)
    assert read - kept - counters == set()
    assert set(FIELDS) == set(_ON), "a kind the tally reads is a kind the ledger keeps"
