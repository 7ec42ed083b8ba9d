"""What the operator's console reads, on each store: a page of cases, entries
found by text, the log after a record, and the scorecard ledger kept in chunks."""

from __future__ import annotations

from datetime import date

import pytest

from learning import bookkeeping
from learning.bookkeeping import catch_up, keep, restore
from learning.ledger import Ledger
from storage.cases import CaseRows
from storage.eventlog import EventLog
from storage.knowledge import EntryRows
from storage.sql import Sql
from tests.storage.conftest import at
from tests.storage.test_cases import case
from tests.storage.test_entries import entry


async def test_a_page_of_cases_oldest_first_with_the_count_of_all(db: Sql) -> None:
    rows = CaseRows(db)
    for n, status in enumerate(("routed", "answered", "routed", "resolved", "reopened")):
        await rows.save(case(f"c{n}", status=status, opened=10 - n))
    await rows.save(case("t1", status="routed", opened=0, space="t"))
    states, total = await rows.page(["routed", "reopened"], space="s", limit=2, offset=0)
    assert [s["key"] for s in states] == ["c4", "c2"] and total == 3
    states, total = await rows.page(["routed", "reopened"], space="s", limit=2, offset=2)
    assert [s["key"] for s in states] == ["c0"] and total == 3
    states, total = await rows.page(["routed"], space=None, limit=10, offset=0)
    assert [s["key"] for s in states] == ["t1", "c2", "c0"] and total == 3


async def test_entries_are_found_by_text_in_any_case_newest_change_first(db: Sql) -> None:
    rows = EntryRows(db)
    await rows.save(entry("k1", answer="Open Settings → API.", questions=["Rotate my KEY?"]), answer_key="a",
                    snapshot=False)
    await rows.save(entry("k2", version=3, answer="Use 100% of the quota_limit."), answer_key="b", snapshot=False)
    await rows.save(entry("k3", status="pending", answer="Ask billing.", space="t"), answer_key="c",
                    snapshot=False)
    await rows.save(entry("k4", answer="Until June.", review_after="2026-01-01"), answer_key="d", snapshot=False)
    found, total = await rows.find(text="rotate my key", space=None, status=None, stale_before=None,
                                   limit=10, offset=0)
    assert [e["id"] for e in found] == ["k1"] and total == 1, "question forms, any case"
    found, _ = await rows.find(text="100%", space=None, status=None, stale_before=None, limit=10, offset=0)
    assert [e["id"] for e in found] == ["k2"], "% is a character here, not a wildcard"
    found, _ = await rows.find(text="a_l", space=None, status=None, stale_before=None, limit=10, offset=0)
    assert [e["id"] for e in found] == ["k2"], "and so is _"
    assert (await rows.find(text="a%l", space=None, status=None, stale_before=None, limit=10, offset=0))[1] == 0
    found, total = await rows.find(text="", space="s", status="live", stale_before=None, limit=2, offset=0)
    assert [e["id"] for e in found] == ["k2", "k1"] and total == 3, "newest change first (then by id), all counted"
    found, _ = await rows.find(text="", space=None, status=None, stale_before=date(2026, 3, 1).isoformat(),
                               limit=10, offset=0)
    assert [e["id"] for e in found] == ["k4"]
    assert await rows.spaces() == ["s", "t"]


async def test_the_log_is_read_after_a_record(db: Sql) -> None:
    log = EventLog(db)
    async with db.transaction():
        for n in range(5):
            await log.append("case", at=at(n), space="s", body={"to": "open", "n": n}, case=f"c{n}")
    every = [r.seq async for r in log.records()]
    assert [r.body["n"] async for r in log.records(after=every[1])] == [2, 3, 4]
    assert [r.seq async for r in log.records(after=every[-1])] == []


async def test_the_scorecard_ledger_is_kept_in_chunks_and_read_back(db: Sql, monkeypatch: pytest.MonkeyPatch) -> None:
    log = EventLog(db)
    async with db.transaction():
        for n in range(30):
            await log.append("event", at=at(n), space="s", body={"type": "message", "user": f"u{n % 4}",
                                                                 "channel": "help"}, event_id=f"e{n}")
            await log.append("case", at=at(n), space="s", body={"to": "open", "user": f"u{n % 4}"}, case=f"c{n}")
    monkeypatch.setattr(bookkeeping, "CHUNK", 10)
    monkeypatch.setattr(bookkeeping, "BATCH", 5)
    ledger = Ledger()
    assert await catch_up(ledger, db, keep_in=db) == 60
    await keep(ledger, db)
    again = await restore(db)
    assert again.chunks == ledger.chunks >= 2 and again.head == ledger.head
    assert again.scorecard().as_json() == ledger.scorecard().as_json()
