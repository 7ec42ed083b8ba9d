"""The append-only event log: the evidence trail and the scorecard's only input.

Each record carries the hash of the one before it, so changing, removing or
reordering a stored record breaks the chain from that point on; ``verify``
names the first broken record.

Record kinds and case transitions: ``storage.vocabulary``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.database import Database
from storage.vocabulary import LogKind

GENESIS = "0" * 64


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
class ChainReport:
    records: int
    broken_at: int | None
    why: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


class EventLog:
    """Appends to and reads the log of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def append(
        self,
        kind: LogKind,
        *,
        at: datetime,
        space: str,
        body: dict[str, Any],
        case: str | None = None,
        event_id: str | None = None,
    ) -> int:
        text = canonical(body)
        stamp = at.isoformat()
        async with self.db.transaction():
            # The head is read once per transaction, under its write lock, so
            # another process appending to the same file never forks the chain;
            # the transaction's records are written together just before it commits.
            memo = self.db.memo
            head = memo.get("log_head")
            if head is None:
                row = await self.db.fetchone("SELECT seq, hash FROM log ORDER BY seq DESC LIMIT 1")
                head = (row["seq"], row["hash"]) if row else (0, GENESIS)
                memo["log_rows"] = []
                self.db.before_commit(self._flush)
            seq, prev = head[0] + 1, head[1]
            digest = chain_hash(prev, kind, stamp, space, case, event_id, text)
            memo["log_rows"].append((seq, kind, stamp, space, case, event_id, text, prev, digest))
            memo["log_head"] = (seq, digest)
            return seq

    async def _flush(self) -> None:
        rows = self.db.memo.pop("log_rows", [])
        if len(rows) == 1:
            await self.db.execute(
                "INSERT INTO log (seq, kind, at, space, case_key, event_id, body, prev_hash, hash) "
                "VALUES (?,?,?,?,?,?,?,?,?)", rows[0])
        elif rows:
            await self.db.executemany(
                "INSERT INTO log (seq, kind, at, space, case_key, event_id, body, prev_hash, hash) "
                "VALUES (?,?,?,?,?,?,?,?,?)", rows)

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
        sql, params = "SELECT * FROM log WHERE 1=1", list[Any]()
        if after is not None:
            sql += " AND seq > ?"
            params.append(after)
        if since is not None:
            sql += " AND at >= ?"
            params.append(since.isoformat())
        if until is not None:
            sql += " AND at < ?"
            params.append(until.isoformat())
        if space is not None:
            sql += " AND space = ?"
            params.append(space)
        if case is not None:
            sql += " AND case_key = ?"
            params.append(case)
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params.extend(kinds)
        async with self.db.conn.execute(sql + " ORDER BY seq", params) as cursor:
            cursor.iter_chunk_size = 1024  # rows per trip to aiosqlite's thread (64 by default)
            async for row in cursor:
                yield Record(
                    seq=row["seq"], kind=row["kind"], at=datetime.fromisoformat(row["at"]),
                    space=row["space"], case=row["case_key"], event_id=row["event_id"],
                    body=json.loads(row["body"]),
                )

    async def verify(self) -> ChainReport:
        """Recompute the chain; name the first record whose hash does not hold."""
        prev = GENESIS
        count = 0
        async with self.db.conn.execute("SELECT * FROM log ORDER BY seq") as cursor:
            async for row in cursor:
                count += 1
                if row["prev_hash"] != prev:
                    return ChainReport(count, row["seq"], "it does not follow the record before it")
                expected = chain_hash(prev, row["kind"], row["at"], row["space"], row["case_key"],
                                      row["event_id"], row["body"])
                if expected != row["hash"]:
                    return ChainReport(count, row["seq"], "its content was changed after it was written")
                prev = row["hash"]
        return ChainReport(count, None, None)
