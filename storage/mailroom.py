"""Nothing lost: events are stored as they arrive, actions before they are sent.

The two queues the runtime works from, with contracts a store with several
worker processes keeps as well (PostgreSQL: ``FOR UPDATE SKIP LOCKED``):

``Inbox`` keeps each event once (a platform's redelivery is recognised by the
insert itself) with its place in the event log and what became of it
(received → handled | failed). Storing an event is its acknowledgement: a
platform is told "got it" only after ``receive`` returned. The transaction
that handles an event first ``claim``s it, so an event is handled once
however many paths (a live delivery, recovery after a stop) reach it; what
was received but never handled is found again with ``unhandled``.

``Outbox`` keeps each action until the adapter says it was performed. Each
action has a ``key``, unique across stores, that the platform send carries
(Discord's nonce, Slack's message metadata), and counts its ``attempts``: an
action attempted before may have reached the platform already, so its adapter
looks for it there before sending it again.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage.eventlog import EventLog
from storage.sql import Sql

EventStatus = Literal["received", "handled", "failed"]


class _SeenBefore(Exception):
    """Internal: roll back the storing of a redelivered event."""


@dataclass(frozen=True, slots=True)
class Waiting:
    """An event received but not handled yet, as stored."""

    space: str
    id: str
    body: dict[str, Any]


class Inbox:
    """Events as received, each once."""

    def __init__(self, db: Sql, log: EventLog) -> None:
        self.db = db
        self.log = log

    async def receive(self, *, space: str, event_id: str, at: datetime, body: dict[str, Any]) -> bool:
        """Store the event (its log record and its row) durably; ``False`` if it was
        stored before, and then nothing is written. Raises ``StoreUnavailable``
        when the store cannot take it now (nothing is kept then)."""
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

    async def claim(self, space: str, event_id: str) -> bool:
        """Inside the transaction that handles the event: ``True`` when it still waits
        to be handled; no other transaction handles it until this one ends (SQLite:
        the write lock; PostgreSQL: ``FOR UPDATE SKIP LOCKED``). ``False`` when it was
        handled already, or another worker has it."""
        row = await self.db.fetchone("SELECT status FROM events WHERE space = ? AND id = ?", (space, event_id))
        return row is not None and row["status"] == "received"

    async def known(self, space: str, event_id: str) -> bool:
        """Whether an event with this id was stored (in any state)."""
        return await self.db.fetchone("SELECT 1 FROM events WHERE space = ? AND id = ?",
                                      (space, event_id)) is not None

    async def mark(self, space: str, event_id: str, status: EventStatus) -> None:
        await self.db.execute("UPDATE events SET status = ? WHERE space = ? AND id = ?",
                              (status, space, event_id))

    async def unhandled(self, limit: int = 100) -> list[Waiting]:
        """The oldest events received but never handled (at most ``limit``), in arrival order."""
        rows = await self.db.fetchall(
            "SELECT e.space, e.id, l.body FROM events e JOIN log l ON l.seq = e.log_seq "
            "WHERE e.status = 'received' ORDER BY e.log_seq LIMIT ?", (limit,))
        return [Waiting(row["space"], row["id"], json.loads(row["body"])) for row in rows]


@dataclass(frozen=True, slots=True)
class Queued:
    """An action stored and not performed yet."""

    seq: int
    key: str
    attempts: int
    body: dict[str, Any]


def new_key() -> str:
    """An action's key: 12 hex digits, unique across stores (a send's nonce holds 25 characters)."""
    return secrets.token_hex(6)


class Outbox:
    """Actions stored before they are performed, marked when they are."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    async def put(self, *, event_id: str, space: str, body: dict[str, Any]) -> tuple[int, str]:
        """Store an action's body; returns its sequence number and its key."""
        key = new_key()
        row = await self.db.fetchone(
            "INSERT INTO outbox (event_id, space, body, key) VALUES (?,?,?,?) RETURNING seq",
            (event_id, space, json.dumps(body, ensure_ascii=False), key))
        assert row is not None
        return int(row["seq"]), key

    async def attempt(self, seq: int) -> None:
        """Durably note that the action is about to be sent: from now on it may have
        reached the platform even if it is never marked performed."""
        await self.db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))

    async def performed(self, seq: int, *, at: datetime, ref: str | None) -> None:
        await self.db.execute("UPDATE outbox SET performed_at = ?, ref = ? WHERE seq = ?",
                              (at.isoformat(), ref, seq))

    async def pending(self, limit: int = 500) -> list[Queued]:
        """The oldest actions stored but not yet performed (at most ``limit``), oldest first."""
        rows = await self.db.fetchall(
            "SELECT seq, key, attempts, body FROM outbox WHERE performed_at IS NULL ORDER BY seq LIMIT ?",
            (limit,))
        return [Queued(row["seq"], row["key"] or f"o{row['seq']}", row["attempts"], json.loads(row["body"]))
                for row in rows]
