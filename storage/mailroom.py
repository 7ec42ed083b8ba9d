"""Nothing lost: events are stored as they arrive, actions before they are sent.

The two queues the runtime works from, with contracts that hold for one
worker process as for several on one PostgreSQL store:

``Inbox`` keeps each event once (a platform's redelivery is recognised by the
insert itself) with its place in the event log and what became of it
(received → handled | failed). Storing an event is its acknowledgement: a
platform is told "got it" only after ``receive`` returned. The worker that
stored it holds a **lease** on it (``Lease``): it handles it now, and no other
worker sweeps it up until the lease ends, so a live worker takes over what a
dead one left, once its lease has run out. The transaction that handles an
event first ``claim``s it (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite: its
one writer), so an event is handled once however many paths or workers reach
it; what was received but never handled is found again with ``unhandled``.

``Outbox`` keeps each action until the adapter says it was performed. Each
action has a ``key``, unique across stores, that the platform send carries
(Discord's nonce, Slack's message metadata), and counts its ``attempts``: an
action attempted before may have reached the platform already, so its adapter
looks for it there before sending it again. A worker ``claim``s actions to
send with a lease (PostgreSQL: ``FOR UPDATE SKIP LOCKED``), a whole case at a
time, so two workers never send one action, and a case's actions go out in
order from one worker.

Times of leases are milliseconds since the epoch, the caller's clock
(``now_ms``): workers' clocks agree to well within a lease.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from storage.eventlog import EventLog
from storage.sql import Sql, marks

EventStatus = Literal["received", "handled", "failed"]


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True, slots=True)
class Lease:
    """Which worker holds a row, and for how long (ms)."""

    worker: str
    ms: int

    def until(self, now: int) -> int:
        return now + self.ms


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

    async def receive(self, *, space: str, event_id: str, at: datetime, body: dict[str, Any],
                      lease: Lease | None = None) -> bool:
        """Store the event (its log record and its row) durably, leased to ``lease``'s
        worker; ``False`` if it was stored before, and then nothing is written.
        Raises ``StoreUnavailable`` when the store cannot take it now (nothing is kept then)."""
        worker, until = (lease.worker, lease.until(now_ms())) if lease else (None, None)
        try:
            async with self.db.transaction(aside=True):  # not behind the events being handled
                seq = await self.log.append_now("event", at=at, space=space, event_id=event_id, body=body)
                new = await self.db.fetchall(
                    "INSERT INTO events (space, id, log_seq, status, worker, lease_until) "
                    "VALUES (?,?,?,'received',?,?) ON CONFLICT (space, id) DO NOTHING RETURNING id",
                    (space, event_id, seq, worker, until))
                if not new:
                    raise _SeenBefore
        except _SeenBefore:
            return False
        return True

    async def claim(self, space: str, event_id: str) -> bool:
        """Inside the transaction that handles the event: ``True`` when it still waits
        to be handled; no other transaction handles it until this one ends (SQLite:
        the write lock; PostgreSQL: the row, ``FOR UPDATE SKIP LOCKED``). ``False`` when
        it was handled already, or another worker has it in hand right now."""
        lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        row = await self.db.fetchone(f"SELECT status FROM events WHERE space = ? AND id = ?{lock}",
                                     (space, event_id))
        return row is not None and row["status"] == "received"

    async def known(self, space: str, event_id: str) -> bool:
        """Whether an event with this id was stored (in any state)."""
        return await self.db.fetchone("SELECT 1 FROM events WHERE space = ? AND id = ?",
                                      (space, event_id)) is not None

    async def waits(self, space: str, event_id: str) -> bool:
        """Whether an event with this id was stored and is not handled yet."""
        row = await self.db.fetchone("SELECT status FROM events WHERE space = ? AND id = ?", (space, event_id))
        return row is not None and row["status"] == "received"

    async def mark(self, space: str, event_id: str, status: EventStatus) -> None:
        await self.db.execute("UPDATE events SET status = ? WHERE space = ? AND id = ?",
                              (status, space, event_id))

    async def hold(self, space: str, event_id: str, lease: Lease) -> bool:
        """Lease an event not handled yet to ``lease``'s worker from now on (it is out on a
        slow call for it); ``False`` when it was handled meanwhile."""
        async with self.db.transaction(aside=True):
            rows = await self.db.fetchall(
                "UPDATE events SET worker = ?, lease_until = ? WHERE space = ? AND id = ? AND status = 'received' "
                "RETURNING id", (lease.worker, lease.until(now_ms()), space, event_id))
        return bool(rows)

    async def unhandled(self, limit: int = 100, *, worker: str | None = None,
                        now: int | None = None) -> list[Waiting]:
        """The oldest events received but never handled (at most ``limit``), in arrival
        order. With ``worker``: only those it may take, its own and those whose lease
        has run out (``now``, ms) or that have none."""
        where, params = "e.status = 'received'", []
        if worker is not None:
            where += " AND (e.worker IS NULL OR e.worker = ? OR e.lease_until IS NULL OR e.lease_until < ?)"
            params = [worker, now if now is not None else now_ms()]
        rows = await self.db.fetchall(
            f"SELECT e.space, e.id, l.body FROM events e JOIN log l ON l.seq = e.log_seq "
            f"WHERE {where} ORDER BY e.log_seq LIMIT ?", (*params, limit))
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

    async def put(self, *, event_id: str, space: str, body: dict[str, Any],
                  case: str | None = None) -> tuple[int, str]:
        """Store an action's body (of ``case``, if any); returns its sequence number and its key."""
        key = new_key()
        row = await self.db.fetchone(
            "INSERT INTO outbox (event_id, space, body, key, case_key) VALUES (?,?,?,?,?) RETURNING seq",
            (event_id, space, json.dumps(body, ensure_ascii=False), key, case))
        assert row is not None
        return int(row["seq"]), key

    async def attempt(self, seq: int) -> None:
        """Durably note that the action is about to be sent: from now on it may have
        reached the platform even if it is never marked performed."""
        await self.db.execute("UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", (seq,))

    async def performed(self, seq: int, *, at: datetime, ref: str | None) -> None:
        await self.db.execute("UPDATE outbox SET performed_at = ?, ref = ?, lease_until = NULL WHERE seq = ?",
                              (at.isoformat(), ref, seq))

    async def pending(self, limit: int = 500) -> list[Queued]:
        """The oldest actions stored but not yet performed (at most ``limit``), oldest first."""
        rows = await self.db.fetchall(
            "SELECT seq, key, attempts, body FROM outbox WHERE performed_at IS NULL ORDER BY seq LIMIT ?",
            (limit,))
        return [_queued(row) for row in rows]

    async def claim(self, lease: Lease, *, limit: int = 200, now: int | None = None) -> list[Queued]:
        """The oldest pending actions this worker may send now, leased to it: a case's
        actions in order, none of a case whose earlier action another worker holds (by a
        lease not run out, or by a claim in progress: ``FOR UPDATE SKIP LOCKED``)."""
        now = now if now is not None else now_ms()
        async with self.db.transaction():
            rows = await self.db.fetchall(
                "SELECT seq, space, case_key, worker, lease_until FROM outbox "
                "WHERE performed_at IS NULL ORDER BY seq LIMIT ?", (limit,))
            if not rows:
                return []
            current = {row["seq"]: row for row in rows}
            if self.db.dialect == "postgresql":  # rows another claim holds are skipped, and block their case
                locked = await self.db.fetchall(
                    f"SELECT seq, space, case_key, worker, lease_until FROM outbox WHERE seq IN ({marks(rows)}) "
                    "AND performed_at IS NULL FOR UPDATE SKIP LOCKED", [row["seq"] for row in rows])
                current = {row["seq"]: row for row in locked}
            mine = _claimable(rows, current, lease.worker, now)
            if not mine:
                return []
            await self.db.execute(f"UPDATE outbox SET worker = ?, lease_until = ? WHERE seq IN ({marks(mine)})",
                                  (lease.worker, lease.until(now), *mine))
            claimed = await self.db.fetchall(
                f"SELECT seq, key, attempts, body FROM outbox WHERE seq IN ({marks(mine)}) ORDER BY seq", mine)
        return [_queued(row) for row in claimed]

    async def unperformed(self, space: str) -> int:
        """How many actions of ``space`` wait to be performed (by any worker)."""
        row = await self.db.fetchone("SELECT count(*) AS n FROM outbox WHERE space = ? AND performed_at IS NULL",
                                     (space,))
        return int(row["n"]) if row else 0


def _claimable(rows: list[Any], current: dict[int, Any], worker: str, now: int) -> list[int]:
    """Of ``rows`` (oldest first), the seqs ``worker`` may take: each case in order, up to
    its first action that is held elsewhere (``current`` lacks it, or another's lease runs)."""
    blocked: set[tuple[str, str | None]] = set()
    mine: list[int] = []
    for row in rows:
        case = (row["space"], row["case_key"])
        if case in blocked:
            continue
        now_row = current.get(row["seq"])
        held = now_row is None or (now_row["worker"] not in (None, worker) and (now_row["lease_until"] or 0) > now)
        if held:
            blocked.add(case)
            continue
        mine.append(int(row["seq"]))
    return mine


def _queued(row: Any) -> Queued:
    return Queued(row["seq"], row["key"] or f"o{row['seq']}", row["attempts"], json.loads(row["body"]))
