"""What a journeybot database is to the code above it: transactions, portable SQL, change notes.

Two implementations: SQLite through aiosqlite (``storage.database``, the
embedded default) and PostgreSQL through asyncpg (``storage.postgres``),
chosen by ``storage.database_for``. The repositories in ``storage`` speak
one portable dialect to either: ``?`` placeholders, ``INSERT … ON CONFLICT``,
``RETURNING``, and ``"user"`` quoted. Nothing above ``storage`` writes SQL;
it opens transactions, registers how to undo an in-memory change should one
roll back, and hears when another process changed the store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgresql"]
Row = Any  # aiosqlite.Row or asyncpg.Record: both read by column name and by position
ChangeKind = Literal["knowledge", "state"]
Listener = Callable[[str], None]  # called with "knowledge", "state" or "reconnected"


class StoreError(Exception):
    """The store cannot be opened or used (bad path or URL, newer schema, damaged)."""


class StoreUnavailable(StoreError):
    """The store cannot take a write (or a read) right now, for a reason that passes: the disk is
    full, another process holds a lock past the timeout, an I/O error, the server's connection
    was lost or a serialization conflict. Nothing of the failed transaction was kept; trying
    again later is the remedy. Each store maps its own passing conditions to it."""


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """What ``/healthz`` says about the store: reachable, which one, how fast."""

    ok: bool
    dialect: Dialect
    schema: int
    latency_ms: float
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "store": self.dialect, "schema": self.schema,
                "latency_ms": round(self.latency_ms, 2), "detail": self.detail}


class Transactions(Protocol):
    """What the layers above ``storage`` may use of a database: no SQL."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def location(self) -> str:
        """Where the store is, for messages (a path, or a URL without its password)."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self, *, aside: bool = False) -> AbstractAsyncContextManager[Any]:
        """Run the block's writes as one transaction (re-entrant within a task).

        A process's transactions take turns. ``aside``: a short transaction that
        need not wait for this process's others, because it only adds rows none of
        them reads and writes back (storing an arriving event), so a platform is
        acknowledged without waiting for the event being handled. SQLite, with its
        one connection, takes turns all the same."""
        ...

    def on_rollback(self, undo: Callable[[], None]) -> None:
        """Undo an in-memory change made inside the current transaction should it roll back."""
        ...

    async def data_version(self) -> int:
        """Changes whenever another process committed to the store (or we may have missed it)."""
        ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` soon after another process commits a change (PostgreSQL's
        LISTEN/NOTIFY; SQLite has no such push, callers poll ``data_version``).
        Returns how to unsubscribe."""
        ...

    async def health(self) -> StoreHealth: ...


class Sql(Transactions, Protocol):
    """A database the repositories in ``storage`` speak portable SQL to."""

    @property
    def memo(self) -> dict[str, Any]:
        """Values valid only inside the current transaction (cleared when it ends)."""
        ...

    def before_commit(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run ``hook`` inside the current transaction just before it commits."""
        ...

    async def lock_chain(self) -> None:
        """Inside a transaction: hold the store's append lock until it ends, so
        records chained now follow every record committed before (a no-op on
        SQLite, whose writers are serialised by ``BEGIN IMMEDIATE``)."""
        ...

    def note_change(self, kind: ChangeKind) -> None:
        """Inside a transaction: tell other processes at commit that it changed ``kind``."""
        ...

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> None: ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    async def schema_version(self) -> int: ...


def marks(items: Sequence[Any] | Mapping[Any, Any]) -> str:
    """``?,?,?`` for an ``IN (…)`` list of ``items``."""
    return ",".join("?" * len(items))
