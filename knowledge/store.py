"""Entries, their versions, question forms and conflicts in the database."""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np

from knowledge.entries import LIVE, Entry, answer_key
from storage.database import Database
from storage.eventlog import EventLog


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def entry_to_row(entry: Entry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "space": entry.space,
        "version": entry.version,
        "status": entry.status,
        "questions": list(entry.questions),
        "answer": entry.answer,
        "tags": list(entry.tags),
        "url": entry.url,
        "review_after": entry.review_after.isoformat() if entry.review_after else None,
        "author": entry.author,
        "source_case": entry.source_case,
        "origin": entry.origin,
        "private": entry.private,
        "created_at": _iso(entry.created_at),
        "updated_at": _iso(entry.updated_at),
        "provenance": entry.provenance,
    }


def entry_from_mapping(row: Any) -> Entry:
    def parse_list(value: Any) -> tuple[str, ...]:
        return tuple(json.loads(value) if isinstance(value, str) else value)

    review = row["review_after"]
    return Entry(
        id=row["id"],
        space=row["space"],
        version=int(row["version"]),
        status=row["status"],
        questions=parse_list(row["questions"]),
        answer=row["answer"],
        tags=parse_list(row["tags"]),
        url=row["url"],
        review_after=date.fromisoformat(review) if review else None,
        author=row["author"],
        source_case=row["source_case"],
        origin=row["origin"],
        private=bool(row["private"]),
        created_at=datetime.fromisoformat(row["created_at"]) if row["created_at"] else None,
        updated_at=datetime.fromisoformat(row["updated_at"]) if row["updated_at"] else None,
        provenance=json.loads(row["provenance"]) if row["provenance"] else None,
    )


class EntryStore:
    """SQL for the knowledge tables. Callers own the transaction."""

    CACHE = 10_000

    def __init__(self, db: Database) -> None:
        self.db = db
        self._conflicts: dict[str | None, list[tuple[str, str]]] = {}
        self._partners: dict[str, dict[str, frozenset[str]]] = {}
        # Entries as last written or read by this process. Every write of ours
        # goes through ``save`` (undone on rollback); another process's writes
        # make the core call ``forget_cached``.
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    def forget_cached(self) -> None:
        """Another process changed the store: read again what we keep."""
        self._conflicts.clear()
        self._partners.clear()
        self._entries.clear()

    def _keep(self, entry: Entry) -> None:
        self._entries[entry.id] = entry
        self._entries.move_to_end(entry.id)
        while len(self._entries) > self.CACHE:
            self._entries.popitem(last=False)

    async def get(self, entry_id: str) -> Entry | None:
        return (await self.many([entry_id])).get(entry_id)

    async def many(self, ids: Sequence[str]) -> dict[str, Entry]:
        found = {i: self._entries[i] for i in ids if i in self._entries}
        missing = [i for i in dict.fromkeys(ids) if i not in found]
        if missing:
            marks = ",".join("?" * len(missing))
            rows = await self.db.fetchall(f"SELECT * FROM entries WHERE id IN ({marks})", tuple(missing))
            for row in rows:
                entry = found[row["id"]] = entry_from_mapping(row)
                self._keep(entry)
        return found

    async def entries(self, *, space: str | None = None, status: str | None = LIVE) -> list[Entry]:
        """Entries of ``space`` (every space when ``None``) with ``status`` (any when ``None``)."""
        sql, params = "SELECT * FROM entries WHERE 1=1", []
        if space is not None:
            sql += " AND space = ?"
            params.append(space)
        if status is not None:
            sql += " AND status = ?"
            params.append(status)
        rows = await self.db.fetchall(sql + " ORDER BY space, created_at, id", params)
        return [entry_from_mapping(row) for row in rows]

    async def find(self, *, text: str = "", space: str | None = None, status: str | None = None,
                   stale_on: date | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Entry], int]:
        """A page of entries matching ``text`` (id, question forms or answer, any case),
        newest change first, and how many match in all. ``stale_on``: only live
        entries whose ``review_after`` is before that day."""
        where, params = " WHERE 1=1", []
        if text:
            pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where += " AND (id LIKE ? ESCAPE '\\' OR questions LIKE ? ESCAPE '\\' OR answer LIKE ? ESCAPE '\\')"
            params += [pattern, pattern, pattern]
        if space is not None:
            where += " AND space = ?"
            params.append(space)
        if status is not None:
            where += " AND status = ?"
            params.append(status)
        if stale_on is not None:
            where += " AND status = 'live' AND review_after IS NOT NULL AND review_after < ?"
            params.append(stale_on.isoformat())
        total = await self.db.fetchone("SELECT count(*) AS n FROM entries" + where, params)
        rows = await self.db.fetchall("SELECT * FROM entries" + where + " ORDER BY updated_at DESC, id "
                                      "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [entry_from_mapping(row) for row in rows], int(total["n"]) if total else 0

    async def spaces(self) -> list[str]:
        """Every space that has knowledge."""
        return [row["space"] for row in await self.db.fetchall("SELECT DISTINCT space FROM entries ORDER BY space")]

    async def with_answer(self, space: str, answer: str) -> list[Entry]:
        rows = await self.db.fetchall(
            "SELECT * FROM entries WHERE space = ? AND answer_key = ? AND status != 'retired'",
            (space, answer_key(answer)),
        )
        return [entry_from_mapping(row) for row in rows]

    async def next_id(self, prefix: str = "k") -> str:
        """A fresh ``k<n>`` id, never one an import already took."""
        while True:
            row = await self.db.fetchone("SELECT value FROM counters WHERE name = 'entry'")
            value = (row["value"] if row else 0) + 1
            await self.db.execute(
                "INSERT INTO counters (name, value) VALUES ('entry', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (value,),
            )
            candidate = f"{prefix}{value}"
            if await self.db.fetchone("SELECT 1 FROM entries WHERE id = ?", (candidate,)) is None:
                return candidate

    async def save(self, entry: Entry, *, snapshot: bool) -> None:
        """Insert or update the current version; ``snapshot`` keeps it in history."""
        before = self._entries.get(entry.id)
        self._keep(entry)

        def undo() -> None:  # the transaction rolled back: so does the cache
            if before is None:
                self._entries.pop(entry.id, None)
            else:
                self._entries[entry.id] = before

        self.db.on_rollback(undo)
        row = entry_to_row(entry)
        await self.db.execute(
            """INSERT INTO entries (id, space, version, status, questions, answer, answer_key, tags,
                   url, review_after, author, source_case, origin, private, created_at, updated_at,
                   provenance)
               VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
               ON CONFLICT (id) DO UPDATE SET version=excluded.version, status=excluded.status,
                   questions=excluded.questions, answer=excluded.answer,
                   answer_key=excluded.answer_key, tags=excluded.tags, url=excluded.url,
                   review_after=excluded.review_after, author=excluded.author,
                   source_case=excluded.source_case, origin=excluded.origin,
                   private=excluded.private, updated_at=excluded.updated_at,
                   provenance=excluded.provenance""",
            (
                entry.id, entry.space, entry.version, entry.status,
                json.dumps(row["questions"], ensure_ascii=False), entry.answer,
                answer_key(entry.answer), json.dumps(row["tags"], ensure_ascii=False),
                entry.url, row["review_after"], entry.author, entry.source_case, entry.origin,
                int(entry.private), row["created_at"], row["updated_at"],
                json.dumps(entry.provenance, ensure_ascii=False) if entry.provenance else None,
            ),
        )
        if snapshot:
            await self.db.execute(
                "INSERT OR REPLACE INTO entry_versions (entry_id, version, snapshot, author, "
                "source_case, at) VALUES (?,?,?,?,?,?)",
                (
                    entry.id, entry.version, json.dumps(row, ensure_ascii=False), entry.author,
                    entry.source_case, row["updated_at"] or "",
                ),
            )

    async def history(self, entry_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT snapshot FROM entry_versions WHERE entry_id = ? ORDER BY version", (entry_id,)
        )
        return [json.loads(row["snapshot"]) for row in rows]

    async def version(self, entry_id: str, version: int) -> dict[str, Any] | None:
        row = await self.db.fetchone(
            "SELECT snapshot FROM entry_versions WHERE entry_id = ? AND version = ?",
            (entry_id, version),
        )
        return json.loads(row["snapshot"]) if row else None

    # -- question forms and their vectors ------------------------------------

    async def add_forms(
        self,
        entry: Entry,
        texts: Sequence[str],
        vectors: np.ndarray,
        *,
        author: str | None,
        case: str | None,
        at: datetime,
    ) -> list[int]:
        ids: list[int] = []
        for text, vector in zip(texts, vectors, strict=True):
            form_id = await self.db.execute(
                "INSERT INTO forms (entry_id, space, text, vector, live, author, source_case, at) "
                "VALUES (?,?,?,?,1,?,?,?)",
                (entry.id, entry.space, text, np.asarray(vector, np.float32).tobytes(), author,
                 case, at.isoformat()),
            )
            ids.append(form_id)
        await self.db.executemany(
            "INSERT INTO form_changes (form_id, space, op) VALUES (?,?,'add')",
            [(fid, entry.space) for fid in ids],
        )
        return ids

    async def live_forms(self, entry_id: str) -> list[tuple[int, str]]:
        rows = await self.db.fetchall(
            "SELECT id, text FROM forms WHERE entry_id = ? AND live = 1 ORDER BY id", (entry_id,)
        )
        return [(int(row["id"]), row["text"]) for row in rows]

    async def form_vectors(self, form_ids: Sequence[int]) -> np.ndarray:
        if not form_ids:
            return np.zeros((0, 0), dtype=np.float32)
        marks = ",".join("?" * len(form_ids))
        rows = await self.db.fetchall(
            f"SELECT id, vector FROM forms WHERE id IN ({marks})", tuple(form_ids)
        )
        by_id = {int(row["id"]): row["vector"] for row in rows}
        return np.stack([np.frombuffer(by_id[i], dtype=np.float32) for i in form_ids])

    async def kill_forms(self, form_ids: Iterable[int], space: str) -> None:
        ids = list(form_ids)
        await self.db.executemany("UPDATE forms SET live = 0 WHERE id = ?", [(i,) for i in ids])
        await self.db.executemany(
            "INSERT INTO form_changes (form_id, space, op) VALUES (?,?,'remove')",
            [(i, space) for i in ids],
        )

    async def load_live_forms(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Every answerable form (of a live entry: a pending entry's forms are
        stored, not searched): (ids, entry ids, spaces), without vectors.

        The start-up path: vectors are read only for spaces whose index must
        be built (``space_vectors``); a valid HNSW snapshot needs none.
        """
        rows = await self.db.fetchall(
            "SELECT f.id, f.entry_id, f.space FROM forms f JOIN entries e ON e.id = f.entry_id "
            "WHERE f.live = 1 AND e.status = 'live' ORDER BY f.id")
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return ids, [row[1] for row in rows], [row[2] for row in rows]

    async def space_vectors(self, space: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of a space's live forms, in id order, in one query."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.vector FROM forms f JOIN entries e ON e.id = f.entry_id "
            "WHERE f.live = 1 AND f.space = ? AND e.status = 'live' ORDER BY f.id", (space,))
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
        return ids, vectors.reshape(len(rows), dim)

    async def note_forms(self, form_ids: Iterable[int], space: str, op: str) -> None:
        """Record in the change feed that forms became (un)answerable."""
        await self.db.executemany("INSERT INTO form_changes (form_id, space, op) VALUES (?,?,?)",
                                  [(i, space, op) for i in form_ids])

    async def changes_since(self, seq: int) -> list[tuple[int, int, str, str]]:
        """(seq, form id, space, op) of the change feed after ``seq``."""
        rows = await self.db.fetchall(
            "SELECT seq, form_id, space, op FROM form_changes WHERE seq > ? ORDER BY seq", (seq,))
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def answerable_forms(self, form_ids: Sequence[int]) -> list[tuple[int, str, str, bytes]]:
        """(id, entry id, space, vector) of those forms that are live, of live entries."""
        if not form_ids:
            return []
        marks = ",".join("?" * len(form_ids))
        rows = await self.db.fetchall(
            f"SELECT f.id, f.entry_id, f.space, f.vector FROM forms f JOIN entries e ON e.id = f.entry_id "
            f"WHERE f.id IN ({marks}) AND f.live = 1 AND e.status = 'live'", tuple(form_ids))
        return [(row[0], row[1], row[2], row[3]) for row in rows]

    async def change_seq(self) -> int:
        row = await self.db.fetchone("SELECT max(seq) AS s FROM form_changes")
        return int(row["s"] or 0) if row else 0

    # -- conflicts -------------------------------------------------------------

    async def flag_conflict(self, a: str, b: str, space: str, at: datetime) -> bool:
        first, second = sorted((a, b))
        row = await self.db.fetchone(
            "SELECT status FROM conflicts WHERE a = ? AND b = ?", (first, second)
        )
        if row is not None:
            return False
        await self.db.execute(
            "INSERT INTO conflicts (a, b, space, status, at) VALUES (?,?,?,'open',?)",
            (first, second, space, at.isoformat()),
        )
        self._conflicts.clear()
        self._partners.clear()
        await EventLog(self.db).append("conflict", at=at, space=space,
                                       body={"a": first, "b": second, "status": "open"})
        return True

    async def conflict_partners(self, space: str) -> dict[str, frozenset[str]]:
        """Each entry in an open conflict, with the entries it conflicts with."""
        cached = self._partners.get(space)
        if cached is None:
            partners: dict[str, set[str]] = {}
            for a, b in await self.open_conflicts(space):
                partners.setdefault(a, set()).add(b)
                partners.setdefault(b, set()).add(a)
            cached = self._partners[space] = {k: frozenset(v) for k, v in partners.items()}
        return cached

    async def open_conflicts(self, space: str | None = None) -> list[tuple[str, str]]:
        cached = self._conflicts.get(space)
        if cached is not None:
            return cached
        sql = "SELECT a, b FROM conflicts WHERE status = 'open'"
        params: tuple[str, ...] = ()
        if space is not None:
            sql += " AND space = ?"
            params = (space,)
        pairs = [(row["a"], row["b"]) for row in await self.db.fetchall(sql, params)]
        self._conflicts[space] = pairs
        return pairs

    async def settle_conflicts(self, entry_id: str, at: datetime) -> int:
        """A new version or a retirement of ``entry_id`` settles its open conflicts."""
        rows = await self.db.fetchall(
            "SELECT a, b, space FROM conflicts WHERE status = 'open' AND (a = ? OR b = ?)",
            (entry_id, entry_id),
        )
        if not rows:
            return 0
        await self.db.execute(
            "UPDATE conflicts SET status = 'settled', settled_at = ? "
            "WHERE status = 'open' AND (a = ? OR b = ?)",
            (at.isoformat(), entry_id, entry_id),
        )
        self._conflicts.clear()
        self._partners.clear()
        log = EventLog(self.db)
        for row in rows:
            await log.append("conflict", at=at, space=row["space"],
                             body={"a": row["a"], "b": row["b"], "status": "settled", "by_entry": entry_id})
        return len(rows)

    async def settle_pair(self, a: str, b: str, at: datetime, *, how: str, by: str | None) -> bool:
        """Settle the open conflict between ``a`` and ``b`` (``how``: e.g. both
        right); ``False`` if there was none. The pair is never flagged again."""
        first, second = sorted((a, b))
        row = await self.db.fetchone(
            "SELECT space FROM conflicts WHERE a = ? AND b = ? AND status = 'open'", (first, second))
        if row is None:
            return False
        await self.db.execute(
            "UPDATE conflicts SET status = 'settled', settled_at = ? WHERE a = ? AND b = ?",
            (at.isoformat(), first, second))
        self._conflicts.clear()
        self._partners.clear()
        await EventLog(self.db).append("conflict", at=at, space=row["space"],
                                       body={"a": first, "b": second, "status": "settled", "how": how, "by": by})
        return True
