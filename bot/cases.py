"""Cases: every question opens one; it always has an owner and a next step.

Lifecycle: open → answered | routed → resolved, and back to reopened when
the asker says it did not work or returns to a resolved thread; closed when
the question is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

import numpy as np
from pydantic import TypeAdapter

from bot.actions import Candidate
from bot.events import Address
from storage.database import Database

Status = Literal["open", "answered", "routed", "resolved", "reopened", "closed"]
BOT = "bot"
STAFF_QUEUE = "staff"  # routed, not yet taken by a named person
MAX_TURNS = 40


@dataclass(frozen=True, slots=True)
class Turn:
    """One line of the case's conversation, as the staff card shows it."""

    who: Literal["asker", "bot", "staff", "other"]
    user: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Case:
    key: str
    space: str
    user: str
    question: str
    address: Address
    opened_at: datetime
    updated_at: datetime
    user_name: str | None = None
    status: Status = "open"
    owner: str = BOT
    next_step: str = ""
    card: str | None = None
    card_ref: str | None = None
    route_reason: str | None = None
    answered_by: str | None = None
    entry: str | None = None
    entry_version: int | None = None
    options: tuple[str, ...] = ()
    clarifications: int = 0
    linked_to: str | None = None
    private: bool = False
    turns: tuple[Turn, ...] = ()
    resolution: Literal["confirmed", "presumed"] | None = None
    last_asker_at: datetime | None = None
    last_reply_at: datetime | None = None
    reminded: bool = False
    candidates: tuple[Candidate, ...] = ()

    def said(self, who: Literal["asker", "bot", "staff", "other"], user: str, text: str,
             at: datetime) -> Case:
        turns = (*self.turns, Turn(who, user, text, at))[-MAX_TURNS:]
        changes: dict[str, object] = {"turns": turns, "updated_at": at}
        if who == "asker":
            changes["last_asker_at"] = at
        elif who in ("bot", "staff"):
            changes["last_reply_at"] = at
        return replace(self, **changes)  # type: ignore[arg-type]

    def asker_words(self) -> list[str]:
        return [t.text for t in self.turns if t.who == "asker"]


_CASE = TypeAdapter(Case)


def _vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=np.float32)


class CaseStore:
    """Cases by (space, key), and the platform references that lead to them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, space: str, key: str) -> Case | None:
        row = await self.db.fetchone(
            "SELECT state FROM cases WHERE space = ? AND key = ?", (space, key)
        )
        return _CASE.validate_python(json.loads(row["state"])) if row else None

    async def save(self, case: Case, vector: np.ndarray | None = None) -> None:
        """Store the case; ``vector`` (the question's embedding) when it changed."""
        state = json.dumps(_CASE.dump_python(case, mode="json"), ensure_ascii=False)
        blob = None if vector is None else vector.astype(np.float32).tobytes()
        await self.db.execute(
            """INSERT INTO cases (space, key, user, status, opened_at, updated_at, state, vector)
               VALUES (?,?,?,?,?,?,?,?)
               ON CONFLICT (space, key) DO UPDATE SET status = excluded.status,
                   updated_at = excluded.updated_at, state = excluded.state,
                   vector = coalesce(excluded.vector, cases.vector)""",
            (case.space, case.key, case.user, case.status, case.opened_at.isoformat(),
             case.updated_at.isoformat(), state, blob),
        )

    async def with_status(self, space: str | None, *statuses: str) -> list[Case]:
        marks = ",".join("?" * len(statuses))
        sql = f"SELECT state FROM cases WHERE status IN ({marks})"
        params: list[str] = list(statuses)
        if space is not None:
            sql += " AND space = ?"
            params.append(space)
        rows = await self.db.fetchall(sql + " ORDER BY opened_at, key", params)
        return [_CASE.validate_python(json.loads(row["state"])) for row in rows]

    async def waiting_on(self, space: str, key: str) -> list[Case]:
        """Cases linked to ``key`` that wait for staff with it (the same person
        asked the same again while ``key`` was with staff)."""
        return [c for c in await self.with_status(space, "routed") if c.linked_to == key and c.key != key]

    async def page(self, statuses: tuple[str, ...], *, space: str | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[Case], int]:
        """A page of cases in ``statuses``, oldest first, and how many there are in all."""
        where = f" WHERE status IN ({','.join('?' * len(statuses))})"
        params: list[object] = list(statuses)
        if space is not None:
            where += " AND space = ?"
            params.append(space)
        total = await self.db.fetchone("SELECT count(*) AS n FROM cases" + where, params)
        keys = await self.db.fetchall("SELECT space, key FROM cases" + where + " ORDER BY opened_at, key "
                                      "LIMIT ? OFFSET ?", [*params, limit, offset])  # the index alone
        found = [await self.get(row["space"], row["key"]) for row in keys]
        return [case for case in found if case is not None], int(total["n"]) if total else 0

    async def of_user(self, space: str, user: str, *, since: datetime) -> list[Case]:
        rows = await self.db.fetchall(
            "SELECT state FROM cases WHERE space = ? AND user = ? AND opened_at >= ? "
            "ORDER BY opened_at DESC",
            (space, user, since.isoformat()),
        )
        return [_CASE.validate_python(json.loads(row["state"])) for row in rows]

    async def vector(self, space: str, key: str) -> np.ndarray | None:
        """The stored embedding of a case's question, if any."""
        row = await self.db.fetchone(
            "SELECT vector FROM cases WHERE space = ? AND key = ?", (space, key)
        )
        return None if row is None or row["vector"] is None else _vector(row["vector"])

    async def vectors(self, space: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored question embeddings of ``keys`` (those that have one)."""
        if not keys:
            return {}
        rows = await self.db.fetchall(
            f"SELECT key, vector FROM cases WHERE space = ? AND key IN ({','.join('?' * len(keys))})"
            " AND vector IS NOT NULL", (space, *keys),
        )
        return {row["key"]: _vector(row["vector"]) for row in rows}

    async def waiting_vectors(self, space: str, *, since: datetime,
                              excluding: str) -> list[tuple[str, np.ndarray]]:
        """(key, question embedding) of the space's cases waiting for staff,
        opened since ``since``, other than ``excluding``."""
        rows = await self.db.fetchall(
            "SELECT key, vector FROM cases WHERE space = ? AND status = 'routed' AND key != ? "
            "AND vector IS NOT NULL AND opened_at >= ?", (space, excluding, since.isoformat()),
        )
        return [(row["key"], _vector(row["vector"])) for row in rows]

    async def link(self, space: str, ref: str, key: str, what: str) -> None:
        await self.db.execute(
            "INSERT OR REPLACE INTO refs (space, ref, case_key, what) VALUES (?,?,?,?)",
            (space, ref, key, what),
        )

    async def by_ref(self, space: str, ref: str) -> tuple[str, str] | None:
        row = await self.db.fetchone(
            "SELECT case_key, what FROM refs WHERE space = ? AND ref = ?", (space, ref)
        )
        return (row["case_key"], row["what"]) if row else None
