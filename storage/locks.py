"""Two events of one case are never handled at the same time.

``CaseLocks.hold`` is called first thing in the transaction that handles an
event, with the keys of what the event touches (its case, the people whose
journeys it changes): until the transaction ends, no other transaction of
any worker holds one of them. An event that touches everything (time passing
over every open case) holds all of it at once (``everything``); others hold
that shared, so they run side by side with each other but never beside it.

PostgreSQL: transaction-level advisory locks (``pg_advisory_xact_lock``),
taken in one order (everything first, then keys sorted) so two transactions
never wait for each other in a circle; they end with the transaction, also
when its worker dies (the server ends the session). SQLite: nothing to do,
its one writer (``BEGIN IMMEDIATE``) already runs transactions one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.sql import Sql

LOCKS = 0x4A42  # the advisory lock class of storage.postgres ("JB")
EVERYTHING = 3  # its object id for "every case" (1: the log's chain, 2: migrations)
CASES = 0x4A43  # the class of per-case keys, hashed


class CaseLocks:
    """Per-case locks, held until the current transaction ends."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    async def hold(self, keys: Iterable[str], *, everything: bool = False) -> None:
        """Inside a transaction: wait for and hold ``keys`` (all of them, when ``everything``)."""
        if self.db.dialect != "postgresql":
            return
        mode = "" if everything else "_shared"
        await self.db.execute(f"SELECT pg_advisory_xact_lock{mode}(?::int, ?::int)", (LOCKS, EVERYTHING))
        for key in sorted(set(keys)):
            await self.db.execute("SELECT pg_advisory_xact_lock(?::int, hashtext(?))", (CASES, key))
