"""PostgreSQL through asyncpg: a pool, one connection per transaction, migrations, notifications.

The store for several worker processes. The repositories' portable SQL
(``?`` placeholders) is turned into PostgreSQL's (``$1``) once per
statement. A transaction holds one pooled connection from start to commit;
reads outside a transaction take any free one, so reading never waits for
a writer. Within one process transactions take turns, as on SQLite (a flow
reads a case and writes it back in one transaction, and must not interleave
with another transaction of the same process); between processes the rows
and the advisory locks decide. Every transaction that wrote tells the other processes at commit
(``NOTIFY``), which is how their indexes follow within milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage.postgres.migrations import MIGRATIONS
from storage.postgres.notifications import Notifications
from storage.sql import ChangeKind, Dialect, Listener, Row, StoreError, StoreHealth, StoreUnavailable

logger = logging.getLogger(__name__)

CHANNEL = "journeybot_changes"
LOCKS = 0x4A42  # advisory lock class for journeybot ("JB")
CHAIN_LOCK = 1  # the event log's and the change feed's append lock
MIGRATION_LOCK = 2
_WRITES = ("INSERT", "UPDATE", "DELETE")
LOCK_TIMEOUT_MS = 5000  # as SQLite's busy timeout: a lock held longer is a passing condition

# PostgreSQL's conditions that pass (https://www.postgresql.org/docs/15/errcodes-appendix.html):
# whole classes 08 (connection), 40 (serialization failure, deadlock), 53 (disk full, out of
# memory, too many connections), 57 (admin shutdown, crash, cannot connect now, statement
# cancelled), 58 (I/O error); and lock_not_available (55P03, a lock timeout) and
# read_only_sql_transaction (25006, a standby during a failover).
PASSING_CLASSES = frozenset({"08", "40", "53", "57", "58"})
PASSING_STATES = frozenset({"55P03", "25006"})


def unavailable(exc: BaseException) -> StoreUnavailable | None:
    """``exc`` as a ``StoreUnavailable`` when it says the server cannot work right now."""
    if isinstance(exc, StoreUnavailable):
        return exc
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        if state[:2] in PASSING_CLASSES or state in PASSING_STATES:
            return StoreUnavailable(f"the PostgreSQL store cannot work now: {exc}")
        return None
    closed = isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)
    if closed or isinstance(exc, (OSError, TimeoutError)):
        return StoreUnavailable(f"the PostgreSQL store cannot be reached: {exc or type(exc).__name__}")
    return None


def _gone(conn: Any) -> bool:
    """Whether a transaction's pooled connection died under it (closed, or taken back by the
    pool when the server ended the session)."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:  # the pool released it: its connection was lost
        return True


@asynccontextmanager
async def passing_as_unavailable() -> AsyncIterator[None]:
    """Raise PostgreSQL's passing conditions as ``StoreUnavailable`` (the runtime waits them out)."""
    try:
        yield
    except Exception as exc:
        translated = unavailable(exc)
        if translated is None or translated is exc:
            raise
        raise translated from exc


def without_password(url: str) -> str:
    """``url`` fit for a log line or a message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@lru_cache(maxsize=2048)
def to_postgres(sql: str) -> str:
    """``?`` placeholders (outside quotes) as ``$1``, ``$2``, …"""
    out: list[str] = []
    number = 0
    quote: str | None = None
    for char in sql:
        if quote is not None:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "?":
            number += 1
            out.append(f"${number}")
            continue
        out.append(char)
    return "".join(out)


@lru_cache(maxsize=2048)
def _writes(sql: str) -> bool:
    return sql.lstrip().upper().startswith(_WRITES)


@dataclass(slots=True)
class _Tx:
    """One open transaction: its connection and what happens at its end."""

    conn: Any  # asyncpg's pooled connection
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one statement at a time on it
    undo: list[Callable[[], None]] = field(default_factory=list)
    before_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    memo: dict[str, Any] = field(default_factory=dict)
    changes: set[str] = field(default_factory=set)
    chained: bool = False


class PostgresDatabase:
    """An open PostgreSQL database with journeybot's schema (``storage.sql.Sql``).

    Lifecycle: ``await open()`` … ``await close()`` (or ``async with``).
    """

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        self.url = url
        self.location = without_password(url)
        self.pool_size = pool_size
        self._pool: asyncpg.Pool | None = None
        self._tx: ContextVar[_Tx | None] = ContextVar(f"journeybot-pg-tx-{id(self)}", default=None)
        self._turns = asyncio.Lock()  # one transaction at a time in this process
        self._name = secrets.token_hex(8)  # how this store's own notifications are recognised
        self._version = 0
        self._listeners: list[Listener] = []
        self._notifications: Notifications | None = None

    async def __aenter__(self) -> PostgresDatabase:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreError("the database is not open")
        return self._pool

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url, min_size=1, max_size=self.pool_size,
                server_settings={"lock_timeout": str(LOCK_TIMEOUT_MS)})
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as exc:
            raise StoreError(f"cannot open the PostgreSQL store at {self.location}: {exc}") from exc
        try:
            await self._migrate()
            self._notifications = Notifications(self.url, CHANNEL, on_message=self._heard,
                                                on_reconnect=self._reconnected)
            await self._notifications.start()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._notifications is not None:
            await self._notifications.stop()
            self._notifications = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def _migrate(self) -> None:
        async with self.pool.acquire() as conn:
            await conn.execute("SET lock_timeout = 0")  # another worker may be migrating: wait
            await conn.execute("SELECT pg_advisory_lock($1, $2)", LOCKS, MIGRATION_LOCK)
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                current = await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
                latest = len(MIGRATIONS)
                if current > latest:
                    raise StoreError(
                        f"the database at {self.location} has schema version {current}, newer than this "
                        f"journeybot understands ({latest}); upgrade journeybot")
                if current < latest:
                    logger.info("%s the PostgreSQL store's schema (version %d → %d)",
                                "creating" if current == 0 else "upgrading", current, latest)
                for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
                    logger.debug("migrating the PostgreSQL store to schema version %d", version)
                    async with conn.transaction():
                        await conn.execute(script)
                        await conn.execute("INSERT INTO schema_version VALUES ($1)", version)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1, $2)", LOCKS, MIGRATION_LOCK)
                await conn.execute("RESET lock_timeout")

    # -- transactions ----------------------------------------------------------

    @asynccontextmanager
    async def transaction(self, *, aside: bool = False) -> AsyncIterator[PostgresDatabase]:
        """Run the block's writes as one transaction on one connection (re-entrant); ``aside``
        does not wait for this process's other transactions (``storage.sql.Transactions``)."""
        if self._tx.get() is not None:
            yield self
            return
        async with contextlib.nullcontext() if aside else self._turns:
            async with passing_as_unavailable():  # the server's conditions, never the block's
                conn = await self.pool.acquire()
            tx = _Tx(conn)
            token = self._tx.set(tx)
            pg = conn.transaction()
            try:
                async with passing_as_unavailable():
                    await pg.start()
                yield self
                async with passing_as_unavailable():
                    await self._finish(tx)
                    await pg.commit()
            except BaseException:
                await self._roll_back(pg, tx)
                raise
            finally:
                self._tx.reset(token)
                await self.pool.release(conn)

    async def _finish(self, tx: _Tx) -> None:
        done = 0
        while done < len(tx.before_commit):  # a hook may add another
            await tx.before_commit[done]()
            done += 1
        if tx.changes:
            async with tx.lock:
                await tx.conn.execute("SELECT pg_notify($1, $2)", CHANNEL,
                                      f"{self._name} {','.join(sorted(tx.changes))}")

    async def _roll_back(self, pg: Any, tx: _Tx) -> None:
        try:
            await pg.rollback()
        except Exception:  # the connection may be gone; the server rolls back either way
            logger.debug("rolling back on a broken connection", exc_info=True)
        for undo in reversed(tx.undo):
            try:
                undo()
            except Exception:
                logger.exception("undoing an in-memory change after a rollback failed")

    def _current(self, what: str) -> _Tx:
        tx = self._tx.get()
        if tx is None:
            raise RuntimeError(f"{what} needs a transaction")
        return tx

    @property
    def memo(self) -> dict[str, Any]:
        return self._current("memo").memo

    def before_commit(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._current("before_commit").before_commit.append(hook)

    def on_rollback(self, undo: Callable[[], None]) -> None:
        tx = self._tx.get()
        if tx is not None:
            tx.undo.append(undo)

    async def lock_chain(self) -> None:
        tx = self._current("lock_chain")
        if not tx.chained:
            async with tx.lock:
                await tx.conn.execute("SELECT pg_advisory_xact_lock($1, $2)", LOCKS, CHAIN_LOCK)
            tx.chained = True

    def note_change(self, kind: ChangeKind) -> None:
        self._current("note_change").changes.add(kind)

    # -- statements ------------------------------------------------------------

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        async with passing_as_unavailable():
            return await self._statement(method, sql, *args)

    async def _statement(self, method: str, sql: str, *args: Any) -> Any:
        statement = to_postgres(sql)
        tx = self._tx.get()
        if tx is not None:
            if _writes(sql):
                tx.changes.add("state")
            async with tx.lock:
                try:
                    return await getattr(tx.conn, method)(statement, *args)
                except (asyncpg.InterfaceError, asyncpg.exceptions.InternalClientError) as exc:
                    if _gone(tx.conn):  # the server ended the session between statements
                        raise StoreUnavailable(f"the PostgreSQL store dropped the connection: {exc}") from exc
                    raise
        async with self.pool.acquire() as conn:
            if _writes(sql):  # a write of its own: tell the others too
                async with conn.transaction():
                    result = await getattr(conn, method)(statement, *args)
                    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{self._name} state")
                return result
            return await getattr(conn, method)(statement, *args)

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        await self._run("execute", sql, *params)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(row) for row in rows]
        if batch:
            await self._run("executemany", sql, batch)

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._run("fetchrow", sql, *params)

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return list(await self._run("fetch", sql, *params))

    async def schema_version(self) -> int:
        row = await self.fetchone("SELECT coalesce(max(version), 0) AS v FROM schema_version")
        return int(row["v"]) if row else 0

    # -- other processes' changes ------------------------------------------------

    async def data_version(self) -> int:
        """Bumped by every other process's commit we heard of, and by every
        reconnect of the listening connection (we may have missed some)."""
        return self._version

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _heard(self, payload: str) -> None:
        sender, _, kinds = payload.partition(" ")
        if sender == self._name:
            return
        self._version += 1
        for kind in kinds.split(","):
            self._tell(kind)

    def _reconnected(self) -> None:
        self._version += 1
        self._tell("reconnected")

    def _tell(self, kind: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(kind)
            except Exception:
                logger.exception("a store change listener failed")

    # -- health ----------------------------------------------------------------------

    async def health(self) -> StoreHealth:
        """A round trip to the server and the notifications' state; never raises."""
        start = time.perf_counter()
        try:
            version = await asyncio.wait_for(self.schema_version(), timeout=2.0)
        except Exception as exc:
            logger.warning("store health check failed: %s", exc)
            return StoreHealth(False, "postgresql", 0, (time.perf_counter() - start) * 1000,
                               f"{self.location}: {exc or type(exc).__name__}")
        elapsed = (time.perf_counter() - start) * 1000
        listening = self._notifications is not None and self._notifications.connected
        # Reconnecting notifications delay other workers' changes, they lose none: still healthy.
        detail = self.location + ("" if listening else " (change notifications reconnecting)")
        return StoreHealth(True, "postgresql", version, elapsed, detail)
