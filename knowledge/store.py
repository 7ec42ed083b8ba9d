"""Entries, their versions, question forms and conflicts, as ``Entry`` values.

The SQL is the storage layer's (``storage.knowledge``); this keeps what a
process may cache and turns stored rows into entries and back.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np

from knowledge.entries import LIVE, QUESTION, Entry, answer_key
from knowledge.lexical import BM25_B, BM25_K1, bm25_idf, indexed
from storage.contract import EntryRepository
from storage.eventlog import EventLog
from storage.knowledge import Change, EntryRows, FormOp
from storage.sql import Sql


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
        "section": entry.section,
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
        provenance=_provenance(row["provenance"]),
        section=_get(row, "section"),
    )


def _get(row: Any, key: str) -> Any:
    """A column that older snapshots (JSON of an earlier schema) may not have."""
    try:
        return row[key]
    except (KeyError, IndexError):
        return None


def _provenance(value: Any) -> dict[str, str] | None:
    if not value:
        return None
    return dict(json.loads(value) if isinstance(value, str) else value)


class EntryStore:
    """Entries, forms and conflicts of one store. Callers own the transaction."""

    CACHE = 10_000

    def __init__(self, db: Sql) -> None:
        self.db = db
        self.rows: EntryRepository = EntryRows(db)
        self.log = EventLog(db)
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
            for row in await self.rows.many(missing):
                entry = found[row["id"]] = entry_from_mapping(row)
                self._keep(entry)
        return found

    async def entries(self, *, space: str | None = None, status: str | None = LIVE) -> list[Entry]:
        """Entries of ``space`` (every space when ``None``) with ``status`` (any when ``None``)."""
        return [entry_from_mapping(row) for row in await self.rows.entries(space=space, status=status)]

    async def find(self, *, text: str = "", space: str | None = None, status: str | None = None,
                   stale_on: date | None = None, limit: int = 50, offset: int = 0) -> tuple[list[Entry], int]:
        """A page of entries matching ``text`` (id, question forms or answer, any case),
        newest change first, and how many match in all. ``stale_on``: only live
        entries whose ``review_after`` is before that day."""
        rows, total = await self.rows.find(text=text, space=space, status=status, limit=limit, offset=offset,
                                           stale_before=stale_on.isoformat() if stale_on else None)
        return [entry_from_mapping(row) for row in rows], total

    async def spaces(self) -> list[str]:
        """Every space that has knowledge."""
        return await self.rows.spaces()

    async def with_answer(self, space: str, answer: str) -> list[Entry]:
        return [entry_from_mapping(row) for row in await self.rows.with_answer_key(space, answer_key(answer))]

    async def next_id(self, prefix: str = "k") -> str:
        """A fresh ``k<n>`` id, never one an import already took."""
        while True:
            candidate = f"{prefix}{await self.rows.next_number()}"
            if not await self.rows.exists(candidate):
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
        await self.rows.save(entry_to_row(entry), answer_key=answer_key(entry.answer), snapshot=snapshot)

    async def history(self, entry_id: str) -> list[dict[str, Any]]:
        return await self.rows.history(entry_id)

    async def all_versions(self) -> list[tuple[str, int, dict[str, Any]]]:
        """(entry id, version, snapshot) of every kept version, for checking them."""
        return await self.rows.all_versions()

    async def version(self, entry_id: str, version: int) -> dict[str, Any] | None:
        return await self.rows.version(entry_id, version)

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
        kind: str = QUESTION,
    ) -> list[int]:
        """Store question forms (or a section's passages, ``kind`` ``passage``)
        with their vectors, and their terms in the full-text index."""
        return await self.rows.add_forms(entry.id, entry.space, texts, vectors, author=author, case=case, at=at,
                                         kind=kind, terms=[indexed(text) for text in texts])

    async def live_forms(self, entry_id: str, kind: str | None = None) -> list[tuple[int, str]]:
        """(id, text) of an entry's live forms; ``kind`` keeps only questions or passages."""
        return await self.rows.live_forms(entry_id, kind)

    async def case_forms(self, entry_id: str, case: str) -> list[tuple[int, str, str | None]]:
        """(id, text, author) of an entry's live question forms that ``case`` taught."""
        return await self.rows.case_forms(entry_id, case)

    async def form_vectors(self, form_ids: Sequence[int]) -> np.ndarray:
        return await self.rows.form_vectors(form_ids)

    async def kill_forms(self, form_ids: Iterable[int], space: str) -> None:
        await self.rows.kill_forms(form_ids, space)

    async def load_live_forms(self) -> tuple[np.ndarray, list[str], list[str], list[int]]:
        """Every answerable form (of a live entry: a pending entry's forms are
        stored, not searched): (ids, entry ids, spaces, passage form ids), without vectors.

        The start-up path: vectors are read only for spaces whose index must
        be built (``space_vectors``); a valid HNSW snapshot needs none.
        """
        return await self.rows.load_live_forms()

    async def space_vectors(self, space: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of a space's live forms, in id order, in one query."""
        return await self.rows.space_vectors(space, dim)

    async def note_forms(self, form_ids: Iterable[int], space: str, op: FormOp) -> None:
        """Record in the change feed that forms became (un)answerable."""
        self.rows.note_forms(form_ids, space, op)

    async def changes_since(self, seq: int) -> list[Change]:
        """(seq, form id, space, op) of the change feed after ``seq``."""
        return await self.rows.changes_since(seq)

    async def answerable_forms(self, form_ids: Sequence[int]) -> list[tuple[int, str, str, bytes, str]]:
        """(id, entry id, space, vector, kind) of those forms that are live, of live entries."""
        return await self.rows.answerable_forms(form_ids)

    # -- the full-text index ---------------------------------------------------

    async def lexical(self, space: str, words: Sequence[str], limit: int, *,
                      counts: Mapping[str, int] | None = None) -> list[tuple[int, str, str, str, float]]:
        """(form id, entry id, kind, text, BM25) of the live forms of live entries in
        ``space`` holding any of ``words`` (index terms), best first (higher is better):
        BM25 as SQLite's FTS5 computes it (its constants, its idf), in portable SQL.
        ``counts``: ``term_counts(words)`` when the caller has them already."""
        words = list(dict.fromkeys(words))
        if not words:
            return []
        forms, tokens = await self.rows.index_size()
        if counts is None:
            counts = await self.rows.term_counts(words)
        weights = {w: bm25_idf(counts.get(w, 0), forms) for w in words}
        return await self.rows.lexical(space, weights, tokens / forms if forms else 1.0, limit,
                                       k1=BM25_K1, b=BM25_B)

    async def term_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many indexed forms (of every space) hold each term."""
        return await self.rows.term_counts(terms)

    async def index_old_forms(self) -> int:
        """Put live forms stored before the full-text index existed into it."""
        async with self.db.transaction():
            forms = await self.rows.unindexed_forms()
            await self.rows.index_terms([(form_id, indexed(text)) for form_id, text in forms])
        return len(forms)

    async def change_seq(self) -> int:
        return await self.rows.change_seq()

    # -- conflicts -------------------------------------------------------------

    def _conflicts_changed(self) -> None:
        self._conflicts.clear()
        self._partners.clear()

    async def flag_conflict(self, a: str, b: str, space: str, at: datetime) -> bool:
        first, second = sorted((a, b))
        if not await self.rows.flag_conflict(first, second, space, at):
            return False
        self._conflicts_changed()
        await self.log.append("conflict", at=at, space=space, body={"a": first, "b": second, "status": "open"})
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
        if cached is None:
            cached = self._conflicts[space] = await self.rows.open_conflicts(space)
        return cached

    async def settle_conflicts(self, entry_id: str, at: datetime) -> int:
        """A new version or a retirement of ``entry_id`` settles its open conflicts."""
        settled = await self.rows.settle_conflicts_of(entry_id, at)
        if settled:
            self._conflicts_changed()
        for a, b, space in settled:
            await self.log.append("conflict", at=at, space=space,
                                  body={"a": a, "b": b, "status": "settled", "by_entry": entry_id})
        return len(settled)

    async def settle_pair(self, a: str, b: str, at: datetime, *, how: str, by: str | None) -> bool:
        """Settle the open conflict between ``a`` and ``b`` (``how``: e.g. both
        right); ``False`` if there was none. The pair is never flagged again."""
        first, second = sorted((a, b))
        space = await self.rows.settle_pair(first, second, at)
        if space is None:
            return False
        self._conflicts_changed()
        await self.log.append("conflict", at=at, space=space,
                              body={"a": first, "b": second, "status": "settled", "how": how, "by": by})
        return True
