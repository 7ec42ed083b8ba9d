"""Ways a store fails that pass, made real without root: a full disk and a held lock.

``FullDisk`` caps the file with SQLite's ``max_page_count`` and fills what is
left, so the next write that needs room fails exactly as on a full disk
("database or disk is full"); ``free`` lifts the cap. ``HeldLock`` is another
connection holding the write lock (``BEGIN IMMEDIATE``) from a thread of its
own, for as long as the test likes, as another process would.
"""

from __future__ import annotations

import sqlite3
import threading

from storage.database import Database

UNLIMITED = 1_073_741_823  # SQLite's default max_page_count


class FullDisk:
    """The disk under ``db`` fills up (``fill``) and gets room again (``free``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def fill(self) -> None:
        conn = self.db.conn
        await conn.execute("CREATE TABLE IF NOT EXISTS filler (b BLOB)")
        pages = (await (await conn.execute("PRAGMA page_count")).fetchone())[0]  # type: ignore[index]
        await conn.execute(f"PRAGMA max_page_count = {pages + 2}")
        size = 2048
        while size >= 16:  # fill the last pages, then the last bytes of them
            try:
                await conn.execute("INSERT INTO filler VALUES (zeroblob(?))", (size,))
            except sqlite3.OperationalError:
                size //= 2

    async def free(self) -> None:
        await self.db.conn.execute(f"PRAGMA max_page_count = {UNLIMITED}")


class HeldLock:
    """Another connection to the file holds the write lock until ``release``."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._held = threading.Event()
        self._release = threading.Event()
        self._thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        self._held.set()
        self._release.wait()
        conn.execute("COMMIT")
        conn.close()

    def take(self) -> HeldLock:
        self._thread.start()
        self._held.wait(5)
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(5)
