"""Cases: every question opens one; it always has an owner and a next step.

Lifecycle: open → answered | routed → resolved, and back to reopened when
the asker says it did not work or returns to a resolved thread; closed when
the question is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import numpy as np
from pydantic import TypeAdapter

from bot.actions import Candidate
from bot.events import Address
from storage.cases import CaseRow, CaseRows
from storage.contract import CaseRepository
from storage.sql import Sql

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
    owner_name: str | None = None  # the display name of a person who owns it
    route_detail: str | None = None  # why it went to staff, when more precise than its reason
    clearable: str | None = None  # the sensitive category it only resembles (a public staff answer clears it)
    held_entry: str | None = None  # the entry held back: for a promise no policy backs, or failing answers
    confirming: str | None = None  # the question whose one option staff would otherwise have been asked about

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


def _case(state: dict[str, Any]) -> Case:
    return _CASE.validate_python(state)


class CaseStore:
    """Cases by (space, key), and the platform references that lead to them
    (stored by ``storage.cases``)."""

    def __init__(self, db: Sql) -> None:
        self.rows: CaseRepository = CaseRows(db)

    async def get(self, space: str, key: str) -> Case | None:
        state = await self.rows.get(space, key)
        return _case(state) if state is not None else None

    async def save(self, case: Case, vector: np.ndarray | None = None) -> None:
        """Store the case; ``vector`` (the question's embedding) when it changed."""
        row = CaseRow(space=case.space, key=case.key, user=case.user, status=case.status,
                      opened_at=case.opened_at.isoformat(), updated_at=case.updated_at.isoformat(),
                      state=_CASE.dump_python(case, mode="json"))
        await self.rows.save(row, vector)

    async def with_status(self, space: str | None, *statuses: str) -> list[Case]:
        return [_case(state) for state in await self.rows.with_status(space, statuses)]

    async def waiting_on(self, space: str, key: str) -> list[Case]:
        """Cases linked to ``key`` that wait for staff with it (the same person
        asked the same again while ``key`` was with staff)."""
        return [c for c in await self.with_status(space, "routed") if c.linked_to == key and c.key != key]

    async def page(self, statuses: tuple[str, ...], *, space: str | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[Case], int]:
        """A page of cases in ``statuses``, oldest first, and how many there are in all."""
        states, total = await self.rows.page(statuses, space=space, limit=limit, offset=offset)
        return [_case(state) for state in states], total

    async def of_user(self, space: str, user: str, *, since: datetime) -> list[Case]:
        return [_case(state) for state in await self.rows.of_user(space, user, since=since.isoformat())]

    async def vector(self, space: str, key: str) -> np.ndarray | None:
        """The stored embedding of a case's question, if any."""
        return await self.rows.vector(space, key)

    async def set_vectors(self, vectors: Sequence[tuple[str, str, np.ndarray]]) -> None:
        """Replace the question embeddings of (space, key) cases (a new model answers)."""
        await self.rows.set_vectors(vectors)

    async def vectors(self, space: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored question embeddings of ``keys`` (those that have one)."""
        return await self.rows.vectors(space, keys)

    async def waiting_vectors(self, space: str, *, since: datetime,
                              excluding: str) -> list[tuple[str, np.ndarray]]:
        """(key, question embedding) of the space's cases waiting for staff,
        opened since ``since``, other than ``excluding``."""
        return await self.rows.waiting_vectors(space, since=since.isoformat(), excluding=excluding)

    async def link(self, space: str, ref: str, key: str, what: str) -> None:
        await self.rows.link(space, ref, key, what)

    async def by_ref(self, space: str, ref: str) -> tuple[str, str] | None:
        return await self.rows.by_ref(space, ref)
