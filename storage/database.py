"""SQLite through aiosqlite: one connection, explicit transactions, migrations.

The embedded default store (``storage.sql.Sql``; PostgreSQL is the other). WAL with ``synchronous=NORMAL`` keeps a commit
cheap (no fsync per event) while a crash still loses nothing that was
committed before the last checkpoint of the OS; every write the core makes
goes through ``transaction()`` so each event's consequences land together.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import aiosqlite

from storage.migrations import MIGRATIONS
from storage.sql import Dialect, Listener, StoreError, StoreHealth, StoreUnavailable

logger = logging.getLogger(__name__)

__all__ = ["Database", "StoreError", "StoreUnavailable", "damaged"]


# SQLite's primary result codes for conditions that pass (https://sqlite.org/rescode.html):
# BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL.
PASSING = frozenset({5, 6, 7, 8, 10, 13, 14, 15})


def unavailable(exc: BaseException) -> StoreUnavailable | None:
    """``exc`` as a ``StoreUnavailable`` when it is SQLite saying the store cannot work right now."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(exc, sqlite3.OperationalError) and code is not None and code & 0xFF in PASSING:
        return StoreUnavailable(f"the store cannot be written: {exc}")
    return None


@asynccontextmanager
async def passing_as_unavailable() -> AsyncIterator[None]:
    """Raise SQLite's passing conditions as ``StoreUnavailable`` (the runtime waits them out)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        translated = unavailable(exc)
        if translated is None:
            raise
        raise translated from exc


def damaged(path: str, exc: BaseException) -> str:
    """One line for a store SQLite cannot read."""
    return (f"the store at {path!r} is damaged or not a journeybot database ({exc}); restore it from a "
            "backup (sqlite3's .recover can salvage what is left)")


class Database:
    """An open SQLite database with journeybot's schema.

    Lifecycle: ``await open()`` … ``await close()`` (or ``async with``).
    One writer at a time: ``transaction()`` serialises writers on an
    ``asyncio.Lock`` so a transaction's statements are never interleaved.
    """

    dialect: Dialect = "sqlite"

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.location = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        # Per task: is this task inside a transaction already? (re-entrancy)
        self._in_tx: ContextVar[bool] = ContextVar(f"journeybot-tx-{id(self)}", default=False)
        self._undo: list[Callable[[], None]] = []
        self._before_commit: list[Callable[[], Awaitable[None]]] = []
        # Values valid only inside the current transaction (under its write
        # lock), e.g. the event log's head; cleared when it ends.
        self.memo: dict[str, Any] = {}

    async def __aenter__(self) -> Database:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError("the database is not open")
        return self._conn

    async def open(self) -> None:
        try:
            # check_same_thread off: inside a transaction statements run on the event loop's
            # thread too (``_here``); SQLite itself is built serialized (threadsafety 3).
            self._conn = await aiosqlite.connect(self.path, isolation_level=None, check_same_thread=False)
        except Exception as exc:  # sqlite3.OperationalError and friends
            raise StoreError(f"cannot open the database at {self.path!r}: {exc}") from exc
        self._conn.row_factory = aiosqlite.Row
        try:
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA synchronous=NORMAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA busy_timeout=5000",
                "PRAGMA temp_store=MEMORY",
                "PRAGMA cache_size=-65536",
            ):
                await self._conn.execute(pragma)
            await self._migrate()
        except BaseException as exc:
            await self.close()  # an open connection's thread would keep the process alive
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreError(damaged(self.path, exc)) from exc
            raise

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _migrate(self) -> None:
        await self.conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
        )
        row = await self.fetchone("SELECT max(version) AS v FROM schema_version")
        current = (row["v"] if row else None) or 0
        latest = len(MIGRATIONS)
        if current > latest:
            raise StoreError(
                f"the database at {self.path!r} has schema version {current}, newer than this "
                f"journeybot understands ({latest}); upgrade journeybot"
            )
        if current < latest:
            logger.info("%s the store's schema (version %d → %d)",
                        "creating" if current == 0 else "upgrading", current, latest)
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            logger.debug("migrating the store to schema version %d", version)
            await self.conn.executescript(f"BEGIN;\n{script}\nINSERT INTO schema_version VALUES ({version});\nCOMMIT;")

    @asynccontextmanager
    async def transaction(self, *, aside: bool = False) -> AsyncIterator[Database]:
        """Run the block's writes as one transaction (re-entrant; one connection: ``aside`` takes turns too)."""
        if self._in_tx.get():
            yield self
            return
        async with self._lock:
            async with passing_as_unavailable():
                await self.conn.execute("BEGIN IMMEDIATE")
            token = self._in_tx.set(True)
            self._undo = []
            self._before_commit = []
            self.memo = {}
            try:
                yield self
                for hook in self._before_commit:
                    await hook()
            except BaseException:
                await self._roll_back()
                raise
            else:
                await self._commit()
            finally:
                self._undo = []
                self._before_commit = []
                self.memo = {}
                self._in_tx.reset(token)

    async def _commit(self) -> None:
        """COMMIT; a cancellation (a stop) waits for it rather than cut it in half, so the
        file and what was changed in memory alongside it always agree."""
        commit = asyncio.ensure_future(self.conn.execute("COMMIT"))
        try:
            await asyncio.shield(commit)
        except asyncio.CancelledError:
            await asyncio.wait({commit})
            if commit.exception() is not None:
                await self._roll_back()
            raise
        except BaseException as exc:
            await self._roll_back()
            translated = unavailable(exc)
            if translated is not None:
                raise translated from exc
            raise

    async def _roll_back(self) -> None:
        """Undo the transaction, in the file and in memory. A failed COMMIT (a full disk) may
        have rolled back already; one that did not (busy) must not leave the connection inside
        a transaction, or every later BEGIN would fail."""
        if self.conn.in_transaction:
            try:
                await self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                logger.exception("rolling back a failed transaction failed")
        for undo in reversed(self._undo):
            try:
                undo()
            except Exception:
                logger.exception("undoing an in-memory change after a rollback failed")

    def before_commit(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` inside the current transaction just before it commits
        (e.g. write what was buffered during it in one statement)."""
        if not self._in_tx.get():
            raise RuntimeError("before_commit needs a transaction")
        self._before_commit.append(hook)

    async def data_version(self) -> int:
        """Changes when another connection (another process) commits to this file."""
        row = await self.fetchone("PRAGMA data_version")
        return int(row[0]) if row else 0

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """SQLite pushes nothing: a reader polls ``data_version`` instead."""
        return lambda: None

    async def lock_chain(self) -> None:
        """Nothing to do: ``BEGIN IMMEDIATE`` already made this the only writer."""

    def note_change(self, kind: str) -> None:
        """Nothing to send: other processes see ``data_version`` change."""

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT max(version) AS v FROM schema_version")
        return int(row["v"] or 0) if row else 0

    async def health(self) -> StoreHealth:
        """One round trip to the file; never raises."""
        start = time.perf_counter()
        try:
            version = await self.schema_version()
        except Exception as exc:
            logger.warning("store health check failed: %s", exc)
            return StoreHealth(False, "sqlite", 0, (time.perf_counter() - start) * 1000, str(exc))
        return StoreHealth(True, "sqlite", version, (time.perf_counter() - start) * 1000, self.path)

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Register how to undo an in-memory change made inside the current
        transaction (e.g. a vector added to the index) should it roll back."""
        if self._in_tx.get():
            self._undo.append(undo)

    # Outside a transaction each helper is one trip to aiosqlite's thread: two thread
    # wake-ups, about 0.1 ms on a quiet machine, milliseconds on a loaded one (a
    # statement may wait there for another process's write lock). Inside this task's
    # transaction the write lock is held (``BEGIN IMMEDIATE``) and WAL readers never
    # block, so no statement waits for anyone: it runs right here, on the event
    # loop's thread, in microseconds. BEGIN, COMMIT and ROLLBACK still take the trip.

    def _here(self) -> sqlite3.Connection | None:
        """The connection itself, when this task is inside its transaction."""
        return self.conn._conn if self._in_tx.get() else None

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (use ``RETURNING`` with ``fetchone`` for what it made)."""
        await self.fetchall(sql, params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        here = self._here()
        async with passing_as_unavailable():
            if here is not None:
                here.executemany(sql, rows).close()
                return
            async with self.conn.executemany(sql, rows):
                pass

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[aiosqlite.Row]:
        here = self._here()
        async with passing_as_unavailable():
            if here is not None:
                return here.execute(sql, params).fetchall()
            return list(await self.conn.execute_fetchall(sql, params))
