"""Small keyed values in the ``meta`` table: settings a part of journeybot
keeps for itself (the web console's accounts and session key, say)."""

from __future__ import annotations

import json
from typing import Any

from bot.storage.database import Database


class MetaStore:
    """JSON values by key. Callers own the transaction for writes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, key: str) -> Any:
        row = await self.db.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else json.loads(row["value"])

    async def put(self, key: str, value: Any) -> None:
        await self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                              (key, json.dumps(value, ensure_ascii=False)))

    async def delete(self, key: str) -> None:
        await self.db.execute("DELETE FROM meta WHERE key = ?", (key,))

    async def with_prefix(self, prefix: str) -> dict[str, Any]:
        rows = await self.db.fetchall("SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key",
                                      (prefix, prefix + "\uffff"))
        return {row["key"]: json.loads(row["value"]) for row in rows}
