"""Small keyed values (e.g. vectors of configured examples, so start-up never re-embeds them)."""

from __future__ import annotations

from storage.sql import Sql


class Meta:
    """Small keyed values."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        row = await self.db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def put(self, key: str, value: str) -> None:
        async with self.db.transaction():
            await self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
