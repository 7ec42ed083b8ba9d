"""The core's side of the outbox: an action is stored before it is sent and
marked when sent, so a crash or an outage delays a reply but never drops or
doubles it (DESIGN.md, "nothing is lost").

``Core`` stores each event's actions here inside the event's transaction; the
sender (``bot.outbound``) takes them back out through the core, notes each
attempt before the adapter sends and each send after it. Kept apart from
``bot.core`` so the pipeline reads on its own.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from bot.actions import Action, CardUpdate, Private, Route
from bot.cases import CaseStore
from bot.wire import action_from_json, action_to_json
from storage.eventlog import EventLog
from storage.mailroom import Lease, Outbox, Queued
from storage.sql import Sql


class Delivery:
    """Actions into the outbox, and back out to be sent, once each."""

    def __init__(self, *, db: Sql, outbox: Outbox, cases: CaseStore, log: EventLog, lease: Lease) -> None:
        self.db = db
        self.outbox = outbox
        self.cases = cases
        self.log = log
        self.lease = lease  # this worker's claim on the actions it sends

    async def store(self, actions: list[Action], at: datetime) -> list[Action]:
        """Put ``actions`` in the outbox and the event log (inside the caller's
        transaction); each comes back with its outbox ``seq`` and ``key``."""
        stored: list[Action] = []
        for action in actions:
            body = action_to_json(action)
            seq, key = await self.outbox.put(event_id=action.event, space=action.space, body=body, case=action.case)
            await self.log.append("action", at=at, space=action.space,
                                  case=action.case, event_id=action.event, body={**body, "seq": seq})
            stored.append(replace(action, seq=seq, key=key))
        return stored

    async def attempting(self, action: Action) -> None:
        """``action`` is about to be sent: noted durably, so that after a crash it is
        looked for on the platform before it is sent again."""
        await self.outbox.attempt(action.seq)

    async def performed(self, action: Action, ref: str | None = None) -> None:
        """The adapter did ``action``; ``ref`` is what it posted, if anything."""
        at = datetime.now(UTC)
        async with self.db.transaction():
            await self.outbox.performed(action.seq, at=at, ref=ref)
            already_linked = isinstance(action, Route | CardUpdate) and ref == action.card
            if ref and action.case and not already_linked and isinstance(action, Route | CardUpdate | Private):
                what = "dm" if isinstance(action, Private) else "card"
                await self.cases.link(action.space, ref, action.case, what)
                if isinstance(action, Route):
                    case = await self.cases.get(action.space, action.case)
                    if case is not None:
                        await self.cases.save(replace(case, card_ref=ref))

    async def pending(self) -> list[Action]:
        """Actions stored but not yet performed (after a crash or an outage), oldest
        first; ``resend`` on those attempted before."""
        return [_action(queued) for queued in await self.outbox.pending()]

    async def to_send(self) -> list[Action]:
        """Pending actions this worker may send now, claimed for it (a case's in order;
        none another worker holds); ``resend`` on those attempted before."""
        return [_action(queued) for queued in await self.outbox.claim(self.lease)]


def _action(queued: Queued) -> Action:
    """An outbox row as the action it holds; ``resend`` when it was attempted before."""
    return replace(action_from_json(queued.body), seq=queued.seq, key=queued.key, resend=queued.attempts > 0)
