"""Small keyed values (e.g. vectors of configured examples, so start-up never re-embeds them)."""

from __future__ import annotations

from storage.database import Database


class Meta:
    """Small keyed values."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> str | None:
        row = await self.db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    async def put(self, key: str, value: str) -> None:
        async with self.db.transaction():
            await self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
