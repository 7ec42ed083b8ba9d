"""Inbox and outbox on each store: an event is kept once, an action until it is performed."""

from __future__ import annotations

from storage.eventlog import EventLog
from storage.mailroom import Inbox, Outbox
from storage.sql import Sql
from tests.storage.conftest import AT, at


async def test_an_event_is_stored_once_and_a_redelivery_writes_nothing(db: Sql) -> None:
    log = EventLog(db)
    inbox = Inbox(db, log)
    assert await inbox.receive(space="s", event_id="m1", at=AT, body={"text": "hi"})
    assert not await inbox.receive(space="s", event_id="m1", at=at(1), body={"text": "hi"})
    assert await inbox.receive(space="t", event_id="m1", at=at(2), body={"text": "other space"})
    assert [(r.space, r.event_id) async for r in log.records()] == [("s", "m1"), ("t", "m1")]
    assert (await log.verify()).ok


async def test_what_was_received_but_never_handled_is_found_again_in_order(db: Sql) -> None:
    inbox = Inbox(db, EventLog(db))
    for n in range(1, 4):
        await inbox.receive(space="s", event_id=f"m{n}", at=at(n), body={"n": n})
    await inbox.mark("s", "m2", "handled")
    await inbox.mark("s", "m3", "failed")
    assert await inbox.unhandled() == [("m1", {"n": 1})]


async def test_an_action_waits_in_the_outbox_until_it_is_performed(db: Sql) -> None:
    outbox = Outbox(db)
    first = await outbox.put(event_id="m1", space="s", body={"type": "reply", "text": "été"})
    second = await outbox.put(event_id="m1", space="s", body={"type": "route"})
    assert second > first
    await outbox.performed(first, at=AT, ref="ts-1")
    assert await outbox.pending() == [(second, {"type": "route"})]
