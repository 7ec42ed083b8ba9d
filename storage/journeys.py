"""Journeys by (space, user): each person's working memory as JSON.

What a journey holds is the core's (``bot.journeys``); this stores it.
"""

from __future__ import annotations

import json
from typing import Any

from storage.sql import Sql


class JourneyRows:
    """SQL for ``journeys``. Callers own the transaction."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    async def get(self, space: str, user: str) -> dict[str, Any] | None:
        row = await self.db.fetchone('SELECT state FROM journeys WHERE space = ? AND "user" = ?', (space, user))
        return json.loads(row["state"]) if row else None

    async def save(self, space: str, user: str, state: dict[str, Any]) -> None:
        await self.db.execute(
            'INSERT INTO journeys (space, "user", state) VALUES (?,?,?) '
            'ON CONFLICT (space, "user") DO UPDATE SET state = excluded.state',
            (space, user, json.dumps(state, ensure_ascii=False)))
