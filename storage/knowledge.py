"""Knowledge in the store: entries and their versions, question forms with
their vectors, the change feed replicas follow, and conflicts.

Rows go in and out as plain values (an entry as a dict of its fields, JSON
columns decoded); what an entry means is ``knowledge``'s. Callers own the
transaction.

The change feed (``form_changes``) is what every process's vector index
follows. Its rows are written just before the transaction commits, under the
store's append lock, so their numbers are in commit order: a replica that has
applied the feed up to ``n`` has seen everything committed before ``n`` (on
PostgreSQL, numbers taken mid-transaction would commit out of order and a
replica could step over one). The commit then tells other processes (NOTIFY).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

import numpy as np

from storage.sql import Row, Sql, marks

FormOp = Literal["add", "remove"]
Indexed = tuple[int, Mapping[str, int]]  # a form's length in terms, and each term with its count
Change = tuple[int, int, str, str]  # seq, form id, space, op

ENTRY_COLUMNS = ("id", "space", "version", "status", "questions", "answer", "answer_key", "tags", "url",
                 "review_after", "author", "source_case", "origin", "private", "created_at", "updated_at",
                 "provenance", "section")
_JSON = ("questions", "tags", "provenance")


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def entry_row(row: Row) -> dict[str, Any]:
    """A stored entry as plain values (JSON columns decoded, ``private`` a bool)."""
    out = {name: row[name] for name in ENTRY_COLUMNS}
    for name in _JSON:
        out[name] = json.loads(out[name]) if out[name] else None
    out["questions"] = out["questions"] or []
    out["tags"] = out["tags"] or []
    out["private"] = bool(out["private"])
    return out


class EntryRows:
    """SQL for ``entries``, ``entry_versions``, ``forms``, ``form_changes``, ``conflicts``, ``counters``."""

    def __init__(self, db: Sql) -> None:
        self.db = db

    # -- entries and their versions --------------------------------------------

    async def many(self, ids: Sequence[str]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = await self.db.fetchall(f"SELECT * FROM entries WHERE id IN ({marks(chunk)})", tuple(chunk))
            found += map(entry_row, rows)
        return found

    async def entries(self, *, space: str | None, status: str | None) -> list[dict[str, Any]]:
        """Entries of ``space`` (every space when ``None``) with ``status`` (any when ``None``)."""
        sql, params = "SELECT * FROM entries WHERE 1=1", []
        for clause, value in (("space = ?", space), ("status = ?", status)):
            if value is not None:
                sql += f" AND {clause}"
                params.append(value)
        return [entry_row(row) for row in await self.db.fetchall(sql + " ORDER BY space, created_at, id", params)]

    async def find(self, *, text: str, space: str | None, status: str | None, stale_before: str | None,
                   limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """A page of entries whose id, question forms or answer contain ``text`` (any case),
        newest change first, and how many match in all. ``stale_before`` (an ISO day): only
        live entries whose review date is before it."""
        where, params = " WHERE 1=1", list[Any]()
        if text:
            pattern = "%" + text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where += " AND (" + " OR ".join(f"lower({c}) LIKE ? ESCAPE '\\'" for c in ("id", "questions", "answer")) + ")"
            params += [pattern] * 3
        for clause, value in (("space = ?", space), ("status = ?", status)):
            if value is not None:
                where += f" AND {clause}"
                params.append(value)
        if stale_before is not None:
            where += " AND status = 'live' AND review_after IS NOT NULL AND review_after < ?"
            params.append(stale_before)
        total = await self.db.fetchone("SELECT count(*) AS n FROM entries" + where, params)
        rows = await self.db.fetchall("SELECT * FROM entries" + where + " ORDER BY updated_at DESC, id "
                                      "LIMIT ? OFFSET ?", [*params, limit, offset])
        return [entry_row(row) for row in rows], int(total["n"]) if total else 0

    async def spaces(self) -> list[str]:
        """Every space that has knowledge."""
        return [row["space"] for row in await self.db.fetchall("SELECT DISTINCT space FROM entries ORDER BY space")]

    async def with_answer_key(self, space: str, key: str) -> list[dict[str, Any]]:
        """Entries of ``space``, not retired, whose normalised answer is ``key``."""
        rows = await self.db.fetchall(
            "SELECT * FROM entries WHERE space = ? AND answer_key = ? AND status != 'retired'", (space, key))
        return [entry_row(row) for row in rows]

    async def exists(self, entry_id: str) -> bool:
        return await self.db.fetchone("SELECT 1 FROM entries WHERE id = ?", (entry_id,)) is not None

    async def next_number(self) -> int:
        """The next value of the entry counter (one atomic step, also with several writers)."""
        row = await self.db.fetchone(
            "INSERT INTO counters (name, value) VALUES ('entry', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value")
        assert row is not None
        return int(row["value"])

    async def save(self, entry: dict[str, Any], *, answer_key: str, snapshot: bool) -> None:
        """Insert or update the current version (``entry``: the fields of ``ENTRY_COLUMNS``
        but ``answer_key``); ``snapshot`` keeps it in the history too."""
        values = {**entry, "answer_key": answer_key, "private": int(bool(entry["private"]))}
        for name in _JSON:
            values[name] = _dumps(values[name])
        values["questions"] = values["questions"] or "[]"
        values["tags"] = values["tags"] or "[]"
        updates = ", ".join(f"{c} = excluded.{c}" for c in ENTRY_COLUMNS if c not in ("id", "space", "created_at"))
        await self.db.execute(
            f"INSERT INTO entries ({', '.join(ENTRY_COLUMNS)}) VALUES ({marks(ENTRY_COLUMNS)}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}", [values[c] for c in ENTRY_COLUMNS])
        if snapshot:
            await self.db.execute(
                "INSERT INTO entry_versions (entry_id, version, snapshot, author, source_case, at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (entry_id, version) DO UPDATE SET "
                "snapshot = excluded.snapshot, author = excluded.author, "
                "source_case = excluded.source_case, at = excluded.at",
                (entry["id"], entry["version"], json.dumps(entry, ensure_ascii=False), entry["author"],
                 entry["source_case"], entry["updated_at"] or ""))

    async def history(self, entry_id: str) -> list[dict[str, Any]]:
        rows = await self.db.fetchall(
            "SELECT snapshot FROM entry_versions WHERE entry_id = ? ORDER BY version", (entry_id,))
        return [json.loads(row["snapshot"]) for row in rows]

    async def all_versions(self) -> list[tuple[str, int, dict[str, Any]]]:
        """(entry id, version, snapshot) of every kept version, for checking them."""
        rows = await self.db.fetchall("SELECT entry_id, version, snapshot FROM entry_versions ORDER BY entry_id, version")
        return [(row["entry_id"], int(row["version"]), json.loads(row["snapshot"])) for row in rows]

    async def version(self, entry_id: str, version: int) -> dict[str, Any] | None:
        row = await self.db.fetchone(
            "SELECT snapshot FROM entry_versions WHERE entry_id = ? AND version = ?", (entry_id, version))
        return json.loads(row["snapshot"]) if row else None

    # -- question forms and their vectors ----------------------------------------

    async def add_forms(self, entry_id: str, space: str, texts: Sequence[str], vectors: np.ndarray, *,
                        author: str | None, case: str | None, at: datetime, kind: str = "question",
                        terms: Sequence[Indexed] = ()) -> list[int]:
        """Store forms (live, of ``kind``: question or passage) with their vectors,
        and ``terms[i]`` of ``texts[i]`` in the full-text index; the feed says ``add`` for each."""
        ids: list[int] = []
        async with self.db.transaction():
            for text, vector in zip(texts, vectors, strict=True):
                row = await self.db.fetchone(
                    "INSERT INTO forms (entry_id, space, text, vector, live, author, source_case, at, kind) "
                    "VALUES (?,?,?,?,1,?,?,?,?) RETURNING id",
                    (entry_id, space, text, np.asarray(vector, np.float32).tobytes(), author, case, at.isoformat(),
                     kind))
                assert row is not None
                ids.append(int(row["id"]))
            await self.index_terms(list(zip(ids, terms, strict=True)) if terms else [])
            self.note_forms(ids, space, "add")
        return ids

    async def index_terms(self, forms: Sequence[tuple[int, Indexed]]) -> None:
        """Put forms into the full-text index: each form's length in terms, and each
        term with its count."""
        if not forms:
            return
        await self.db.executemany("UPDATE forms SET terms_len = ? WHERE id = ?",
                                  [(length, form_id) for form_id, (length, _) in forms])
        await self.db.executemany("INSERT INTO form_terms (form_id, term, tf) VALUES (?,?,?)",
                                  [(form_id, term, tf) for form_id, (_, counts) in forms
                                   for term, tf in counts.items()])

    async def kill_forms(self, form_ids: Iterable[int], space: str) -> None:
        """Forms no longer live (nor in the full-text index); the feed says ``remove`` for each."""
        ids = list(form_ids)
        async with self.db.transaction():
            await self.db.executemany("UPDATE forms SET live = 0, terms_len = NULL WHERE id = ?",
                                      [(i,) for i in ids])
            await self.db.executemany("DELETE FROM form_terms WHERE form_id = ?", [(i,) for i in ids])
            self.note_forms(ids, space, "remove")

    def note_forms(self, form_ids: Iterable[int], space: str, op: FormOp) -> None:
        """Inside a transaction: record in the change feed that forms became
        (un)answerable (written when it commits)."""
        rows = [(i, space, op) for i in form_ids]
        if not rows:
            return
        memo = self.db.memo
        if "form_changes" not in memo:
            memo["form_changes"] = []
            self.db.before_commit(self._write_feed)
        memo["form_changes"] += rows

    async def _write_feed(self) -> None:
        rows = self.db.memo.pop("form_changes", [])
        if rows:
            await self.db.lock_chain()
            await self.db.executemany("INSERT INTO form_changes (form_id, space, op) VALUES (?,?,?)", rows)
            self.db.note_change("knowledge")

    async def live_forms(self, entry_id: str, kind: str | None = None) -> list[tuple[int, str]]:
        """(id, text) of an entry's live forms; ``kind`` keeps only questions or passages."""
        sql, params = "SELECT id, text FROM forms WHERE entry_id = ? AND live = 1", [entry_id]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        rows = await self.db.fetchall(sql + " ORDER BY id", params)
        return [(int(row["id"]), row["text"]) for row in rows]

    async def case_forms(self, entry_id: str, case: str) -> list[tuple[int, str, str | None]]:
        """(id, text, author) of an entry's live question forms that ``case`` taught."""
        rows = await self.db.fetchall(
            "SELECT id, text, author FROM forms WHERE entry_id = ? AND source_case = ? AND live = 1 "
            "AND kind = 'question' ORDER BY id", (entry_id, case))
        return [(int(row["id"]), row["text"], row["author"]) for row in rows]

    async def form_vectors(self, form_ids: Sequence[int]) -> np.ndarray:
        """The vectors of ``form_ids``, in that order."""
        if not form_ids:
            return np.zeros((0, 0), dtype=np.float32)
        rows = await self.db.fetchall(f"SELECT id, vector FROM forms WHERE id IN ({marks(form_ids)})",
                                      tuple(form_ids))
        by_id = {int(row["id"]): row["vector"] for row in rows}
        return np.stack([np.frombuffer(by_id[i], dtype=np.float32) for i in form_ids])

    async def load_live_forms(self) -> tuple[np.ndarray, list[str], list[str], list[int]]:
        """Every answerable form (live, of a live entry): (ids, entry ids, spaces,
        the ids of those that are passages), no vectors."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.entry_id, f.space, f.kind FROM forms f JOIN entries e ON e.id = f.entry_id "
            "WHERE f.live = 1 AND e.status = 'live' ORDER BY f.id")
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        passages = [int(row[0]) for row in rows if row[3] == "passage"]
        return ids, [row[1] for row in rows], [row[2] for row in rows], passages

    async def space_vectors(self, space: str, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of a space's answerable forms, in id order, in one query."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.vector FROM forms f JOIN entries e ON e.id = f.entry_id "
            "WHERE f.live = 1 AND f.space = ? AND e.status = 'live' ORDER BY f.id", (space,))
        ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        vectors = np.frombuffer(b"".join(bytes(row[1]) for row in rows), dtype=np.float32)
        return ids, vectors.reshape(len(rows), dim)

    async def answerable_forms(self, form_ids: Sequence[int]) -> list[tuple[int, str, str, bytes, str]]:
        """(id, entry id, space, vector, kind) of those of ``form_ids`` that are live, of live entries."""
        found: list[tuple[int, str, str, bytes, str]] = []
        for start in range(0, len(form_ids), 500):
            chunk = form_ids[start : start + 500]
            rows = await self.db.fetchall(
                f"SELECT f.id, f.entry_id, f.space, f.vector, f.kind FROM forms f "
                f"JOIN entries e ON e.id = f.entry_id "
                f"WHERE f.id IN ({marks(chunk)}) AND f.live = 1 AND e.status = 'live' ORDER BY f.id", tuple(chunk))
            found += [(int(row[0]), row[1], row[2], bytes(row[3]), row[4]) for row in rows]
        return found

    # -- the full-text index ---------------------------------------------------------

    async def lexical(self, space: str, idf: Mapping[str, float], avg_len: float, limit: int, *,
                      k1: float, b: float) -> list[tuple[int, str, str, str, float]]:
        """(form id, entry id, kind, text, BM25) of the live forms of live entries in
        ``space`` holding any term of ``idf`` (term: its weight), best first: BM25
        with ``k1`` and ``b`` over forms ``avg_len`` terms long on average."""
        if not idf:
            return []
        words = list(idf)
        weight = " ".join("WHEN ? THEN CAST(? AS DOUBLE PRECISION)" for _ in words)
        rows = await self.db.fetchall(
            f"SELECT f.id, f.entry_id, f.kind, f.text, s.score FROM ("
            f"SELECT t.form_id AS form_id, SUM((CASE t.term {weight} ELSE 0.0 END) * t.tf "
            f"* CAST(? AS DOUBLE PRECISION) / (t.tf + CAST(? AS DOUBLE PRECISION) "
            f"* (CAST(? AS DOUBLE PRECISION) + CAST(? AS DOUBLE PRECISION) * f.terms_len))) AS score "
            f"FROM form_terms t JOIN forms f ON f.id = t.form_id JOIN entries e ON e.id = f.entry_id "
            f"WHERE t.term IN ({marks(words)}) AND f.space = ? AND f.live = 1 AND e.status = 'live' "
            f"GROUP BY t.form_id ORDER BY score DESC, t.form_id LIMIT ?) s "
            f"JOIN forms f ON f.id = s.form_id ORDER BY s.score DESC, f.id",
            (*[v for w in words for v in (w, idf[w])], k1 + 1, k1, 1 - b, b / max(avg_len, 1e-9),
             *words, space, limit))
        return [(int(row[0]), row[1], row[2], row[3], float(row[4])) for row in rows]

    async def index_size(self) -> tuple[int, int]:
        """(forms in the full-text index, their terms in all), every space."""
        row = await self.db.fetchone("SELECT COUNT(terms_len) AS n, SUM(terms_len) AS tokens FROM forms")
        return (int(row["n"] or 0), int(row["tokens"] or 0)) if row else (0, 0)

    async def term_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """How many indexed forms (of every space) hold each term."""
        if not terms:
            return {}
        rows = await self.db.fetchall(
            f"SELECT term, COUNT(*) AS n FROM form_terms WHERE term IN ({marks(terms)}) GROUP BY term",
            tuple(terms))
        return {row[0]: int(row[1]) for row in rows}

    async def unindexed_forms(self) -> list[tuple[int, str]]:
        """(id, text) of live forms not in the full-text index (stored before it existed)."""
        rows = await self.db.fetchall("SELECT id, text FROM forms WHERE live = 1 AND terms_len IS NULL ORDER BY id")
        return [(int(row[0]), row[1]) for row in rows]

    # -- the change feed -----------------------------------------------------------

    async def changes_since(self, seq: int) -> list[Change]:
        """(seq, form id, space, op) of the change feed after ``seq``, in order."""
        rows = await self.db.fetchall(
            "SELECT seq, form_id, space, op FROM form_changes WHERE seq > ? ORDER BY seq", (seq,))
        return [(int(row[0]), int(row[1]), row[2], row[3]) for row in rows]

    async def change_seq(self) -> int:
        row = await self.db.fetchone("SELECT max(seq) AS s FROM form_changes")
        return int(row["s"] or 0) if row else 0

    # -- conflicts -------------------------------------------------------------------

    async def flag_conflict(self, a: str, b: str, space: str, at: datetime) -> bool:
        """Flag ``a`` and ``b`` (sorted) as disagreeing; ``False`` if the pair was ever flagged."""
        row = await self.db.fetchone(
            "INSERT INTO conflicts (a, b, space, status, at) VALUES (?,?,?,'open',?) "
            "ON CONFLICT (a, b) DO NOTHING RETURNING a", (a, b, space, at.isoformat()))
        return row is not None

    async def open_conflicts(self, space: str | None = None) -> list[tuple[str, str]]:
        sql, params = "SELECT a, b FROM conflicts WHERE status = 'open'", []
        if space is not None:
            sql += " AND space = ?"
            params.append(space)
        return [(row["a"], row["b"]) for row in await self.db.fetchall(sql + " ORDER BY a, b", params)]

    async def settle_conflicts_of(self, entry_id: str, at: datetime) -> list[tuple[str, str, str]]:
        """Settle every open conflict of ``entry_id``; (a, b, space) of each one settled."""
        rows = await self.db.fetchall(
            "UPDATE conflicts SET status = 'settled', settled_at = ? "
            "WHERE status = 'open' AND (a = ? OR b = ?) RETURNING a, b, space", (at.isoformat(), entry_id, entry_id))
        return sorted((row["a"], row["b"], row["space"]) for row in rows)

    async def settle_pair(self, a: str, b: str, at: datetime) -> str | None:
        """Settle the open conflict of ``a`` and ``b`` (sorted); its space, or ``None`` if none was open."""
        row = await self.db.fetchone(
            "UPDATE conflicts SET status = 'settled', settled_at = ? WHERE a = ? AND b = ? AND status = 'open' "
            "RETURNING space", (at.isoformat(), a, b))
        return row["space"] if row else None
