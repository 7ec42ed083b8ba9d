"""Cases by (space, key) and the platform references that lead to them.

A case is kept as its JSON state plus the few columns it is found by
(asker, status, when it opened) and its question's embedding; what a case
means is the core's (``bot.cases``), this stores and finds it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from storage.sql import Sql, marks


@dataclass(frozen=True, slots=True)
class CaseRow:
    """What is stored of a case: where it is found, and its whole state."""

    space: str
    key: str
    user: str
    status: str
    opened_at: str
    updated_at: str
    state: dict[str, Any]


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


def _states(rows: Sequence[Any]) -> list[dict[str, Any]]:
    return [json.loads(row["state"]) for row in rows]


class CaseRows:
    """SQL for ``cases`` and ``refs``. Callers own the transaction."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    async def get(self, space: str, key: str) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT state FROM cases WHERE space = ? AND key = ?", (space, key))
        return json.loads(row["state"]) if row else None

    async def save(self, case: CaseRow, vector: np.ndarray | None = None) -> None:
        """Store the case; its question's embedding when given (kept when not)."""
        blob = None if vector is None else np.asarray(vector, dtype=np.float32).tobytes()
        await self.db.execute(
            """INSERT INTO cases (space, key, "user", status, opened_at, updated_at, state, vector)
               VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT (space, key) DO UPDATE SET status = excluded.status,
                   updated_at = excluded.updated_at, state = excluded.state,
                   vector = coalesce(excluded.vector, cases.vector)""",
            (case.space, case.key, case.user, case.status, case.opened_at, case.updated_at,
             json.dumps(case.state, ensure_ascii=False), blob),
        )

    async def with_status(self, space: str | None, statuses: Sequence[str]) -> list[dict[str, Any]]:
        """States of the cases in ``statuses`` (of every space when ``None``), oldest first."""
        sql = f"SELECT state FROM cases WHERE status IN ({marks(statuses)})"
        params: list[str] = list(statuses)
        if space is not None:
            sql += " AND space = ?"
            params.append(space)
        return _states(await self.db.fetchall(sql + " ORDER BY opened_at, key", params))

    async def page(self, statuses: Sequence[str], *, space: str | None, limit: int,
                   offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of the states of the cases in ``statuses``, oldest first, and how many there are in all
        (the page's keys are read from the index alone, then their states)."""
        where = f" WHERE status IN ({marks(statuses)})"
        params: list[Any] = list(statuses)
        if space is not None:
            where += " AND space = ?"
            params.append(space)
        total = await self.db.fetchone("SELECT count(*) AS n FROM cases" + where, params)
        keys = await self.db.fetchall("SELECT space, key FROM cases" + where + " ORDER BY opened_at, key "
                                      "LIMIT ? OFFSET ?", [*params, limit, offset])
        states = [await self.get(row["space"], row["key"]) for row in keys]
        return [state for state in states if state is not None], int(total["n"]) if total else 0

    async def of_user(self, space: str, user: str, *, since: str) -> list[dict[str, Any]]:
        """States of the cases ``user`` opened since ``since``, newest first."""
        return _states(await self.db.fetchall(
            'SELECT state FROM cases WHERE space = ? AND "user" = ? AND opened_at >= ? ORDER BY opened_at DESC',
            (space, user, since)))

    async def vector(self, space: str, key: str) -> np.ndarray | None:
        row = await self.db.fetchone("SELECT vector FROM cases WHERE space = ? AND key = ?", (space, key))
        return None if row is None or row["vector"] is None else _vector(row["vector"])

    async def set_vectors(self, vectors: Sequence[tuple[str, str, np.ndarray]]) -> None:
        """Replace the question embeddings of (space, key) cases."""
        await self.db.executemany("UPDATE cases SET vector = ? WHERE space = ? AND key = ?",
                                  [(np.asarray(v, np.float32).tobytes(), space, key) for space, key, v in vectors])

    async def vectors(self, space: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        if not keys:
            return {}
        rows = await self.db.fetchall(
            f"SELECT key, vector FROM cases WHERE space = ? AND key IN ({marks(keys)}) AND vector IS NOT NULL",
            (space, *keys))
        return {row["key"]: _vector(row["vector"]) for row in rows}

    async def waiting_vectors(self, space: str, *, since: str, excluding: str) -> list[tuple[str, np.ndarray]]:
        """(key, embedding) of the space's routed cases opened since ``since``, but ``excluding``."""
        rows = await self.db.fetchall(
            "SELECT key, vector FROM cases WHERE space = ? AND status = 'routed' AND key != ? "
            "AND vector IS NOT NULL AND opened_at >= ?", (space, excluding, since))
        return [(row["key"], _vector(row["vector"])) for row in rows]

    async def link(self, space: str, ref: str, key: str, what: str) -> None:
        await self.db.execute(
            "INSERT INTO refs (space, ref, case_key, what) VALUES (?,?,?,?) "
            "ON CONFLICT (space, ref) DO UPDATE SET case_key = excluded.case_key, what = excluded.what",
            (space, ref, key, what))

    async def by_ref(self, space: str, ref: str) -> tuple[str, str] | None:
        row = await self.db.fetchone("SELECT case_key, what FROM refs WHERE space = ? AND ref = ?", (space, ref))
        return (row["case_key"], row["what"]) if row else None
