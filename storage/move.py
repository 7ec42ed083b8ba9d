"""Moving a store (``journeybot db migrate --to postgresql://…``): every table
copied as it is, the event log record for record with its hashes, so the
chain verifies on the new store exactly as it did on the old.

Safe to run again, and to resume after a stop: append-only tables (the log,
the change feed) continue after what the destination already holds, once
its newest record is shown to be the source's own; every other table is
copied by key, replacing what an earlier run left. Stop the bot first: rows
changed on the source after their table was copied are copied by the next
run, not this one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from storage.eventlog import EventLog, StoredRecord
from storage.sql import Sql, StoreError, marks

logger = logging.getLogger(__name__)

BATCH = 1000
Mode = Literal["append", "upsert", "keep"]
Progress = Callable[[str, int, int], None]  # table, rows done, rows in all


@dataclass(frozen=True, slots=True)
class Table:
    """A table to copy: its key, its columns, and how a row already there is treated."""

    name: str
    key: tuple[str, ...]
    columns: tuple[str, ...]
    mode: Mode  # append: continue after the destination's last key; upsert: replace; keep: leave

    def insert(self) -> str:
        names = ", ".join(self.columns)
        sql = f"INSERT INTO {self.name} ({names}) VALUES ({marks(self.columns)}) ON CONFLICT ({', '.join(self.key)})"
        if self.mode != "upsert":
            return sql + " DO NOTHING"
        updates = ", ".join(f"{c} = excluded.{c}" for c in self.columns if c not in self.key)
        return sql + f" DO UPDATE SET {updates}"


# Every table of schema 8, in an order that keeps references whole. A new
# migration adds its tables here (tests/storage/test_move.py checks nothing is left out).
TABLES: tuple[Table, ...] = (
    Table("counters", ("name",), ("name", "value"), "upsert"),
    Table("meta", ("key",), ("key", "value"), "upsert"),
    Table("entries", ("id",), ("id", "space", "version", "status", "questions", "answer", "answer_key", "tags",
                              "url", "review_after", "author", "source_case", "origin", "private", "created_at",
                              "updated_at", "provenance", "section"), "upsert"),
    Table("entry_versions", ("entry_id", "version"),
          ("entry_id", "version", "snapshot", "author", "source_case", "at"), "keep"),
    Table("forms", ("id",), ("id", "entry_id", "space", "text", "vector", "live", "author", "source_case", "at",
                            "kind", "terms_len"), "upsert"),
    Table("form_terms", ("form_id", "term"), ("form_id", "term", "tf"), "upsert"),
    Table("form_changes", ("seq",), ("seq", "form_id", "space", "op"), "append"),
    Table("conflicts", ("a", "b"), ("a", "b", "space", "status", "at", "settled_at"), "upsert"),
    Table("cases", ("space", "key"), ("space", "key", '"user"', "status", "opened_at", "updated_at", "state",
                                      "vector"), "upsert"),
    Table("refs", ("space", "ref"), ("space", "ref", "case_key", "what"), "upsert"),
    Table("journeys", ("space", '"user"'), ("space", '"user"', "state"), "upsert"),
    Table("events", ("space", "id"), ("space", "id", "log_seq", "status", "worker", "lease_until"), "upsert"),
    Table("outbox", ("seq",), ("seq", "event_id", "space", "body", "performed_at", "ref", "key", "attempts",
                               "case_key", "worker", "lease_until"), "upsert"),
    Table("models", ("version",), ("version", "parent", "status", "at", "body"), "upsert"),
    Table("model_vectors", ("model", "form_id"), ("model", "form_id", "vector"), "upsert"),
    Table("calibrators", ("space", "model"), ("space", "model", "body", "at"), "upsert"),
    Table("observations", ("space", "case_key"), ("space", "case_key", "model", "at", "candidates", "decision",
                                                 "outcome", "wrong"), "upsert"),
    Table("lessons", ("id",), ("id", "space", "entry_id", "text", "kind", "at", "case_key", "withdrawn"),
          "upsert"),
    Table("entry_record", ("entry_id",),
          ("entry_id", "space", "answers", "failed", "answer_key", "answers_now", "failed_now"), "upsert"),
)
IDENTITIES = (("forms", "id"), ("form_changes", "seq"), ("outbox", "seq"), ("lessons", "id"))


@dataclass(frozen=True, slots=True)
class Moved:
    """What a run copied: rows per table (the log counted apart), and the log's head on both sides."""

    rows: dict[str, int]
    log_copied: int
    log_records: int
    head: str | None


async def move(source: Sql, destination: Sql, *, progress: Progress | None = None) -> Moved:
    """Copy every table of ``source`` into ``destination`` (both open, at the same schema)."""
    mine, theirs = await source.schema_version(), await destination.schema_version()
    if mine != theirs:
        raise StoreError(f"the stores are at schema versions {mine} and {theirs}: open both with this journeybot")
    tell = progress or (lambda table, done, total: None)
    copied = {"log": await _copy_log(source, destination, tell)}
    for table in TABLES:
        copied[table.name] = await _copy_table(source, destination, table, tell)
    if destination.dialect == "postgresql":
        await _continue_numbering(destination)
    records, head = await EventLog(destination).count(), (await EventLog(destination).head())[1]
    return Moved(copied, copied.pop("log"), records, head)


async def _copy_log(source: Sql, destination: Sql, tell: Progress) -> int:
    """Continue the destination's log from its newest record, once that record is the source's own."""
    there = EventLog(destination)
    last, head = await there.head()
    if last:
        own = await EventLog(source).at(last)
        if own is None or own.hash != head:
            raise StoreError(f"the destination already holds an event log that is not this store's "
                             f"(record {last} differs): give an empty database")
    total = await EventLog(source).count()
    done, batch = last, []
    tell("log", done, total)
    async for record in EventLog(source).stored(after=last):
        batch.append(record)
        if len(batch) == BATCH:
            done = await _log_batch(there, destination, batch, done, total, tell)
            batch = []
    if batch:
        done = await _log_batch(there, destination, batch, done, total, tell)
    return done - last


async def _log_batch(there: EventLog, destination: Sql, batch: list[StoredRecord], done: int, total: int,
                     tell: Progress) -> int:
    async with destination.transaction():
        await there.copy_in(batch)
    done += len(batch)
    tell("log", done, total)
    return done


async def _copy_table(source: Sql, destination: Sql, table: Table, tell: Progress) -> int:
    total_row = await source.fetchone(f"SELECT count(*) AS n FROM {table.name}")
    total = int(total_row["n"]) if total_row else 0
    start: tuple[Any, ...] | None = None
    if table.mode == "append":
        last = await destination.fetchone(f"SELECT max({table.key[0]}) AS k FROM {table.name}")
        start = (last["k"],) if last and last["k"] is not None else None
    done = 0
    tell(table.name, done, total)
    while True:
        rows = await _rows_after(source, table, start)
        if not rows:
            return done
        async with destination.transaction():
            await destination.executemany(table.insert(), rows)
        done += len(rows)
        tell(table.name, done, total)
        start = tuple(rows[-1][table.columns.index(k)] for k in table.key)


async def _rows_after(source: Sql, table: Table, start: Sequence[Any] | None) -> list[tuple[Any, ...]]:
    """The next batch of ``table`` in key order after ``start`` (keyset paging: no cursor held)."""
    key = ", ".join(table.key)
    where, params = "", list(start or ())
    if start is not None:
        where = f"WHERE ({key}) > ({marks(table.key)})"
    rows = await source.fetchall(
        f"SELECT {', '.join(table.columns)} FROM {table.name} {where} ORDER BY {key} LIMIT {BATCH}", params)
    return [tuple(_value(v) for v in row) for row in rows]


def _value(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


async def _continue_numbering(destination: Sql) -> None:
    """Rows copied with their own numbers: PostgreSQL's identities carry on after them."""
    for table, column in IDENTITIES:
        await destination.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
            f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)")
