"""Nothing lost: events are stored as they arrive, actions before they are sent.

``Inbox`` keeps each event once (a platform's redelivery is recognised by the
insert itself) with its place in the event log, and what became of it
(received → handled | failed); what was received but never handled is found
again after a stop. ``Outbox`` keeps each action until the adapter says it was
performed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from storage.eventlog import EventLog
from storage.sql import Sql

EventStatus = Literal["received", "handled", "failed"]


class _SeenBefore(Exception):
    """Internal: roll back the storing of a redelivered event."""


class Inbox:
    """Events as received, each once."""

    def __init__(self, db: Sql, log: EventLog) -> None:
        self.db = db
        self.log = log

    async def receive(self, *, space: str, event_id: str, at: datetime, body: dict[str, Any]) -> bool:
        """Store the event (its log record and its row); ``False`` if it was
        stored before, and then nothing is written."""
        try:
            async with self.db.transaction():
                seq = await self.log.append_now("event", at=at, space=space, event_id=event_id, body=body)
                new = await self.db.fetchall(
                    "INSERT INTO events (space, id, log_seq, status) VALUES (?,?,?,'received') "
                    "ON CONFLICT (space, id) DO NOTHING RETURNING id", (space, event_id, seq))
                if not new:
                    raise _SeenBefore
        except _SeenBefore:
            return False
        return True

    async def mark(self, space: str, event_id: str, status: EventStatus) -> None:
        await self.db.execute("UPDATE events SET status = ? WHERE space = ? AND id = ?",
                              (status, space, event_id))

    async def unhandled(self) -> list[tuple[str, dict[str, Any]]]:
        """(id, stored body) of events received but never handled, in arrival order."""
        rows = await self.db.fetchall(
            "SELECT e.space, e.id, l.body FROM events e JOIN log l ON l.seq = e.log_seq "
            "WHERE e.status = 'received' ORDER BY e.log_seq")
        return [(row["id"], json.loads(row["body"])) for row in rows]


class Outbox:
    """Actions stored before they are performed, marked when they are."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    async def put(self, *, event_id: str, space: str, body: dict[str, Any]) -> int:
        """Store an action's body; returns its sequence number."""
        row = await self.db.fetchone("INSERT INTO outbox (event_id, space, body) VALUES (?,?,?) RETURNING seq",
                                     (event_id, space, json.dumps(body, ensure_ascii=False)))
        assert row is not None
        return int(row["seq"])

    async def performed(self, seq: int, *, at: datetime, ref: str | None) -> None:
        await self.db.execute("UPDATE outbox SET performed_at = ?, ref = ? WHERE seq = ?",
                              (at.isoformat(), ref, seq))

    async def pending(self) -> list[tuple[int, dict[str, Any]]]:
        """(seq, body) of actions stored but not yet performed, oldest first."""
        rows = await self.db.fetchall(
            "SELECT seq, body FROM outbox WHERE performed_at IS NULL ORDER BY seq")
        return [(row["seq"], json.loads(row["body"])) for row in rows]
