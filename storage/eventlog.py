"""The append-only event log: the evidence trail and the scorecard's only input.

Each record carries the hash of the one before it, so changing, removing or
reordering a stored record breaks the chain from that point on; ``verify``
names the first broken record.

Several writers (processes on one PostgreSQL) keep one chain: a transaction's
records are numbered and chained just before it commits, under the store's
append lock (``Sql.lock_chain``), so the head a transaction chains from is
always the last record committed before it, and the lock is held only for
that last moment, never while a flow thinks.

Record kinds and case transitions: ``storage.vocabulary``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.sql import Row, Sql, marks
from storage.vocabulary import LogKind

GENESIS = "0" * 64
PAGE = 2000  # records read per query: bounded memory on either store, no cursor held open

_COLUMNS = "seq, kind, at, space, case_key, event_id, body, prev_hash, hash"


def canonical(body: Any) -> str:
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev: str, kind: str, at: str, space: str, case: str | None,
               event_id: str | None, body: str) -> str:
    material = "\x1f".join((prev, kind, at, space, case or "", event_id or "", body))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    kind: str
    at: datetime
    space: str
    case: str | None
    event_id: str | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A record exactly as kept: its time and body as the text that was hashed."""

    seq: int
    kind: str
    at: str
    space: str
    case: str | None
    event_id: str | None
    body: str
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, row: Row) -> StoredRecord:
        return cls(int(row["seq"]), row["kind"], row["at"], row["space"], row["case_key"],
                   row["event_id"], row["body"], row["prev_hash"], row["hash"])

    def as_row(self) -> tuple[Any, ...]:
        return (self.seq, self.kind, self.at, self.space, self.case, self.event_id, self.body,
                self.prev_hash, self.hash)

    @property
    def sealed(self) -> bool:
        """Does the hash still match the content and the hash before it?"""
        return self.hash == chain_hash(self.prev_hash, self.kind, self.at, self.space, self.case,
                                       self.event_id, self.body)


@dataclass(frozen=True, slots=True)
class ChainReport:
    records: int
    broken_at: int | None
    why: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


_Pending = tuple[str, str, str, str | None, str | None, str]  # kind, at, space, case, event id, body


class EventLog:
    """Appends to and reads the log of one database."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    # -- writing ---------------------------------------------------------------

    async def append(
        self,
        kind: LogKind,
        *,
        at: datetime,
        space: str,
        body: dict[str, Any],
        case: str | None = None,
        event_id: str | None = None,
    ) -> None:
        """Add a record to the current transaction (one of its own if none):
        numbered and chained when the transaction commits."""
        async with self.db.transaction():
            self._pending().append((kind, at.isoformat(), space, case, event_id, canonical(body)))

    async def append_now(
        self,
        kind: LogKind,
        *,
        at: datetime,
        space: str,
        body: dict[str, Any],
        case: str | None = None,
        event_id: str | None = None,
    ) -> int:
        """``append``, numbered at once (takes the append lock now): for a
        caller that stores the record's number beside it. Keep its transaction short."""
        async with self.db.transaction():
            self._pending().append((kind, at.isoformat(), space, case, event_id, canonical(body)))
            await self._chain_pending()
            seq: int = self.db.memo["log_head"][0]
            return seq

    def _pending(self) -> list[_Pending]:
        memo = self.db.memo
        if "log_pending" not in memo:
            memo["log_pending"] = []
            memo["log_rows"] = []
            self.db.before_commit(self._flush)
        pending: list[_Pending] = memo["log_pending"]
        return pending

    async def _chain_pending(self) -> None:
        memo = self.db.memo
        if "log_head" not in memo:
            await self.db.lock_chain()
            row = await self.db.fetchone("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1")
            memo["log_head"] = (int(row["seq"]), row["hash"]) if row else (0, GENESIS)
        seq, prev = memo["log_head"]
        for kind, at, space, case, event_id, text in memo["log_pending"]:
            seq += 1
            digest = chain_hash(prev, kind, at, space, case, event_id, text)
            memo["log_rows"].append((seq, kind, at, space, case, event_id, text, prev, digest))
            prev = digest
        memo["log_head"] = (seq, prev)
        memo["log_pending"] = []

    async def _flush(self) -> None:
        await self._chain_pending()
        rows = self.db.memo.pop("log_rows", [])
        self.db.memo["log_rows"] = []
        if rows:
            await self.db.executemany(f"INSERT INTO log ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", rows)

    async def copy_in(self, records: Sequence[StoredRecord]) -> None:
        """Store records exactly as kept elsewhere (moving a store): nothing is re-chained."""
        await self.db.executemany(f"INSERT INTO log ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
                                  [r.as_row() for r in records])

    # -- reading ---------------------------------------------------------------

    async def records(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        space: str | None = None,
        case: str | None = None,
        kinds: tuple[LogKind, ...] | None = None,
        after: int | None = None,
    ) -> AsyncIterator[Record]:
        """Records in order; ``after``: only those newer than that sequence number."""
        where, params = _where(since=since, until=until, space=space, case=case, kinds=kinds)
        async for stored in self._pages(where, params, after=after or 0):
            yield Record(seq=stored.seq, kind=stored.kind, at=datetime.fromisoformat(stored.at),
                         space=stored.space, case=stored.case, event_id=stored.event_id,
                         body=json.loads(stored.body))

    async def stored(self, *, space: str | None = None, since: datetime | None = None,
                     until: datetime | None = None, after: int = 0) -> AsyncIterator[StoredRecord]:
        """Records exactly as kept (hashes, the hashed text), oldest first, from ``after`` on."""
        where, params = _where(since=since, until=until, space=space)
        async for stored in self._pages(where, params, after=after):
            yield stored

    async def _pages(self, where: str, params: list[Any], *, after: int = 0) -> AsyncIterator[StoredRecord]:
        while True:
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM log WHERE seq > ?{where} ORDER BY seq LIMIT {PAGE}", [after, *params])
            for row in rows:
                yield StoredRecord.of(row)
            if len(rows) < PAGE:
                return
            after = int(rows[-1]["seq"])

    async def of_case(self, case: str, space: str | None = None) -> list[StoredRecord]:
        where, params = _where(space=space, case=case)
        return [r async for r in self._pages(where, params)]

    async def of_kind(self, kind: LogKind, space: str) -> list[StoredRecord]:
        where, params = _where(space=space, kinds=(kind,))
        return [r async for r in self._pages(where, params)]

    async def latest(self, kind: LogKind, space: str, limit: int) -> list[StoredRecord]:
        """The newest ``limit`` records of ``kind`` in ``space``, oldest first."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM log WHERE kind = ? AND space = ? ORDER BY seq DESC LIMIT ?",
            (kind, space, limit))
        return [StoredRecord.of(row) for row in reversed(rows)]

    async def events(self, space: str, event_ids: Sequence[str]) -> list[StoredRecord]:
        """The ``event`` records of these platform event ids."""
        found: list[StoredRecord] = []
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            rows = await self.db.fetchall(
                f"SELECT {_COLUMNS} FROM log WHERE kind = 'event' AND space = ? AND event_id IN ({marks(chunk)}) "
                "ORDER BY seq", (space, *chunk))
            found += map(StoredRecord.of, rows)
        return found

    async def at(self, seq: int) -> StoredRecord | None:
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM log WHERE seq = ?", (seq,))
        return StoredRecord.of(row) if row else None

    async def spaces(self, space: str | None = None) -> list[str]:
        """The spaces anything was recorded in; with ``space``, just it, if it has records."""
        if space is not None:
            row = await self.db.fetchone("SELECT 1 FROM log WHERE space = ? LIMIT 1", (space,))
            return [space] if row else []
        return [r["space"] for r in await self.db.fetchall("SELECT DISTINCT space FROM log ORDER BY space")]

    async def head(self) -> tuple[int, str | None]:
        """(number, hash) of the newest record; (0, None) for an empty log."""
        row = await self.db.fetchone("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1")
        return (int(row["seq"]), row["hash"]) if row else (0, None)

    async def seq_before(self, seq: int) -> int:
        """The number of the record stored before ``seq`` (0 when none)."""
        row = await self.db.fetchone("SELECT max(seq) AS seq FROM log WHERE seq < ?", (seq,))
        return int(row["seq"]) if row and row["seq"] is not None else 0

    async def hashes_starting(self, prefix: str, limit: int = 2) -> list[str]:
        """Hashes of stored records that start with ``prefix`` (at most ``limit``)."""
        rows = await self.db.fetchall("SELECT hash FROM log WHERE substr(hash, 1, ?) = ? LIMIT ?",
                                      (len(prefix), prefix, limit))
        return [row["hash"] for row in rows]

    async def count(self) -> int:
        row = await self.db.fetchone("SELECT count(*) AS n FROM log")
        return int(row["n"]) if row else 0

    async def verify(self) -> ChainReport:
        """Recompute the chain; name the first record whose hash does not hold."""
        prev = GENESIS
        count = 0
        async for record in self._pages("", []):
            count += 1
            if record.prev_hash != prev:
                return ChainReport(count, record.seq, "it does not follow the record before it")
            if not record.sealed:
                return ChainReport(count, record.seq, "its content was changed after it was written")
            prev = record.hash
        return ChainReport(count, None, None)


def _where(*, since: datetime | None = None, until: datetime | None = None, space: str | None = None,
           case: str | None = None, kinds: tuple[LogKind, ...] | None = None) -> tuple[str, list[Any]]:
    sql, params = "", []
    for clause, value in (("at >= ?", since), ("at < ?", until), ("space = ?", space), ("case_key = ?", case)):
        if value is not None:
            sql += f" AND {clause}"
            params.append(value.isoformat() if isinstance(value, datetime) else value)
    if kinds:
        sql += f" AND kind IN ({marks(kinds)})"
        params.extend(kinds)
    return sql, params
