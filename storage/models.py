"""The learning loop's tables (migration 5 on both stores; migration 9 gave a
lesson its case and the time it was withdrawn): model versions, staged
vectors, calibrators, observed outcomes, lessons and each entry's record of
answers.

``storage.contract.ModelRepository`` and ``LessonRepository`` are the
contract the learning loop types against; ``LearningRows`` implements both
in portable SQL over ``storage.sql.Sql`` (``?`` placeholders, ``ON CONFLICT
… DO UPDATE``), so SQLite and PostgreSQL pass one suite
(``tests/storage/test_models.py``). Callers own the transaction
(``transaction()`` is the store's own). Values cross as plain data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from storage.meta import Meta
from storage.sql import Sql, marks

CURRENT_KEY = "model.current"
LAST_ADAPTATION_KEY = "model.last_adaptation"


# An entry's record of its current answer, on an upsert: an answer given with another answer
# (its key) starts it afresh; a failure of another answer (an outcome come in after the entry
# changed) leaves it; the same answer's add to it.
_NOW = ("CASE WHEN excluded.answer_key = entry_record.answer_key "
        "THEN entry_record.{n}_now + excluded.{n}_now "
        "WHEN excluded.answers_now > 0 THEN excluded.{n}_now ELSE entry_record.{n}_now END")


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """One model version: its parent, status and held-out / training figures."""

    version: int
    parent: int
    status: str  # promoted | rejected | rolled_back | lost (its weights file vanished) | staged
    at: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Pair:
    """A (question, entry) pair the community taught, with where it came from."""

    text: str
    entry: str
    space: str
    kind: str  # import | staff | correction | pick | solved
    form_id: int | None = None


Outcome = tuple[list[dict[str, Any]], str | None, str | None]  # candidates, right entry, wrong entry


class LearningRows:
    """SQL for the learning loop's tables."""

    def __init__(self, db: Sql) -> None:
        self.db = db
        self.meta = Meta(db)

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        return self.db.transaction()

    # -- models --------------------------------------------------------------

    async def current_model(self) -> int:
        value = await self.meta.get(CURRENT_KEY)
        return int(value) if value is not None else 0

    async def set_current(self, version: int) -> None:
        await self.meta.put(CURRENT_KEY, str(version))

    async def next_version(self) -> int:
        row = await self.db.fetchone("SELECT max(version) AS v FROM models")
        return int(row["v"] or 0) + 1 if row is not None else 1

    async def record_model(self, record: ModelRecord) -> None:
        await self.db.execute(
            "INSERT INTO models (version, parent, status, at, body) VALUES (?,?,?,?,?) "
            "ON CONFLICT (version) DO UPDATE SET parent = excluded.parent, status = excluded.status, "
            "at = excluded.at, body = excluded.body",
            (record.version, record.parent, record.status, record.at, json.dumps(record.body)))

    async def set_status(self, version: int, status: str) -> None:
        await self.db.execute("UPDATE models SET status = ? WHERE version = ?", (status, version))

    async def models(self) -> list[ModelRecord]:
        rows = await self.db.fetchall("SELECT version, parent, status, at, body FROM models ORDER BY version")
        return [ModelRecord(int(r["version"]), int(r["parent"]), r["status"], r["at"], json.loads(r["body"]))
                for r in rows]

    async def model(self, version: int) -> ModelRecord | None:
        return next((m for m in await self.models() if m.version == version), None)

    # -- vectors: staged, then swapped in one transaction ----------------------------

    async def stage_vectors(self, version: int, form_ids: Sequence[int], vectors: np.ndarray) -> None:
        await self.db.executemany(
            "INSERT INTO model_vectors (model, form_id, vector) VALUES (?,?,?) "
            "ON CONFLICT (model, form_id) DO UPDATE SET vector = excluded.vector",
            [(version, int(f), np.asarray(v, np.float32).tobytes())
             for f, v in zip(form_ids, vectors, strict=True)])

    async def staged_ids(self, version: int) -> set[int]:
        rows = await self.db.fetchall("SELECT form_id FROM model_vectors WHERE model = ?", (version,))
        return {int(r["form_id"]) for r in rows}

    async def swap_in(self, version: int) -> None:
        """Every form's vector becomes the staged one, and ``version`` the current model."""
        await self.db.execute(
            "UPDATE forms SET vector = (SELECT m.vector FROM model_vectors m WHERE m.model = ? "
            "AND m.form_id = forms.id) WHERE id IN (SELECT form_id FROM model_vectors WHERE model = ?)",
            (version, version))
        await self.db.execute("DELETE FROM model_vectors WHERE model = ?", (version,))
        await self.set_current(version)

    async def drop_staged(self, keep: int | None = None) -> int:
        """Staged vectors of a swap that never happened (a crash mid-way)."""
        rows = await self.db.fetchall("SELECT DISTINCT model FROM model_vectors")
        stale = [int(r["model"]) for r in rows if int(r["model"]) != keep]
        for version in stale:
            await self.db.execute("DELETE FROM model_vectors WHERE model = ?", (version,))
        return len(stale)

    # -- forms and what was taught ------------------------------------------------------

    async def all_forms(self) -> list[tuple[int, str, str, str, str]]:
        """(form id, entry id, space, text, origin of the entry) of every form, live or not."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.entry_id, f.space, f.text, e.origin FROM forms f "
            "JOIN entries e ON e.id = f.entry_id ORDER BY f.id")
        return [(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]

    async def form_vectors(self) -> tuple[list[int], np.ndarray]:
        rows = await self.db.fetchall("SELECT id, vector FROM forms ORDER BY id")
        if not rows:
            return [], np.zeros((0, 0), np.float32)
        return [int(r[0]) for r in rows], np.stack([np.frombuffer(r[1], np.float32) for r in rows])

    async def teaching_pairs(self) -> list[Pair]:
        """Every live question form of a live entry, and every pick or Solved lesson."""
        rows = await self.db.fetchall(
            "SELECT f.id, f.entry_id, f.space, f.text, f.source_case FROM forms f "
            "JOIN entries e ON e.id = f.entry_id WHERE f.live = 1 AND e.status = 'live' ORDER BY f.id")
        pairs = [Pair(r["text"], r["entry_id"], r["space"],
                      "import" if r["source_case"] is None else "staff", int(r["id"])) for r in rows]
        rows = await self.db.fetchall(
            "SELECT l.space, l.entry_id, l.text, l.kind FROM lessons l JOIN entries e ON e.id = l.entry_id "
            "WHERE e.status = 'live' AND l.withdrawn IS NULL ORDER BY l.id")
        pairs += [Pair(r["text"], r["entry_id"], r["space"], r["kind"]) for r in rows]
        return pairs

    async def add_lesson(self, *, space: str, entry: str, text: str, kind: str, at: datetime,
                         case: str | None = None) -> None:
        await self.db.execute(
            "INSERT INTO lessons (space, entry_id, text, kind, at, case_key) VALUES (?,?,?,?,?,?)",
            (space, entry, text, kind, at.isoformat(), case))

    async def withdraw_lessons(self, *, space: str, case: str, entry: str, at: datetime) -> list[str]:
        """The lessons ``case`` taught about ``entry`` stop being training pairs (the
        answer they stood for failed); the rows are kept, marked. Their kinds, by id."""
        rows = await self.db.fetchall(
            "SELECT id, kind FROM lessons WHERE space = ? AND case_key = ? AND entry_id = ? "
            "AND withdrawn IS NULL ORDER BY id", (space, case, entry))
        if rows:
            await self.db.execute(
                f"UPDATE lessons SET withdrawn = ? WHERE id IN ({marks(rows)})",
                (at.isoformat(), *(int(r["id"]) for r in rows)))
        return [str(r["kind"]) for r in rows]

    async def lessons_since(self, at: str) -> int:
        """Question forms and lessons taught after ``at`` (the last adaptation)."""
        forms = await self.db.fetchone(
            "SELECT count(*) AS n FROM forms WHERE source_case IS NOT NULL AND at > ?", (at,))
        lessons = await self.db.fetchone(
            "SELECT count(*) AS n FROM lessons WHERE at > ? AND withdrawn IS NULL", (at,))
        return (int(forms["n"]) if forms else 0) + (int(lessons["n"]) if lessons else 0)

    async def last_adaptation(self) -> str | None:
        return await self.meta.get(LAST_ADAPTATION_KEY)

    async def set_last_adaptation(self, at: str) -> None:
        await self.meta.put(LAST_ADAPTATION_KEY, at)

    # -- calibration -------------------------------------------------------------

    async def calibrator(self, space: str, model: int) -> dict[str, Any] | None:
        row = await self.db.fetchone("SELECT body FROM calibrators WHERE space = ? AND model = ?",
                                     (space, model))
        return None if row is None else dict(json.loads(row["body"]))

    async def save_calibrator(self, space: str, model: int, body: dict[str, Any], at: datetime) -> None:
        await self.db.execute(
            "INSERT INTO calibrators (space, model, body, at) VALUES (?,?,?,?) "
            "ON CONFLICT (space, model) DO UPDATE SET body = excluded.body, at = excluded.at",
            (space, model, json.dumps(body), at.isoformat()))

    async def observe(self, *, space: str, case: str, model: int, at: datetime,
                      candidates: list[dict[str, Any]], decision: str) -> None:
        """A decision's candidates. A new decision on the same case replaces it, unless what became of
        it is known (a reopen, then the bot decides again): that one is kept under ``case#n``, so the
        calibration still learns from it."""
        async with self.db.transaction():
            await self.db.execute(
                "UPDATE observations SET case_key = case_key || '#' || "
                "(SELECT count(*) FROM observations o WHERE o.space = ? AND substr(o.case_key, 1, ?) = ?) "
                "WHERE space = ? AND case_key = ? AND (outcome IS NOT NULL OR wrong IS NOT NULL)",
                (space, len(case) + 1, f"{case}#", space, case))
            await self.db.execute(
                "INSERT INTO observations (space, case_key, model, at, candidates, decision) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT (space, case_key) DO UPDATE SET model = excluded.model, "
                "at = excluded.at, candidates = excluded.candidates, decision = excluded.decision, "
                "outcome = NULL, wrong = NULL",
                (space, case, model, at.isoformat(), json.dumps(candidates), decision))

    async def settle(self, *, space: str, case: str, right: str | None = None,
                     wrong: str | None = None) -> None:
        if right is not None:
            await self.db.execute("UPDATE observations SET outcome = ? WHERE space = ? AND case_key = ?",
                                  (right, space, case))
        if wrong is not None:  # an answer once confirmed (Solved) and shown wrong since is not a right one
            await self.db.execute(
                "UPDATE observations SET wrong = ?, outcome = CASE WHEN outcome = ? THEN NULL ELSE outcome END "
                "WHERE space = ? AND case_key = ?", (wrong, wrong, space, case))

    async def shown_wrong(self, space: str, case: str) -> str | None:
        """The entry ``case``'s decision was already shown wrong with, if any."""
        row = await self.db.fetchone("SELECT wrong FROM observations WHERE space = ? AND case_key = ?",
                                     (space, case))
        return None if row is None else row["wrong"]

    async def outcomes(self, space: str, model: int) -> list[Outcome]:
        rows = await self.db.fetchall(
            "SELECT candidates, outcome, wrong FROM observations WHERE space = ? AND model = ? "
            "AND (outcome IS NOT NULL OR wrong IS NOT NULL)", (space, model))
        return [(json.loads(r["candidates"]), r["outcome"], r["wrong"]) for r in rows]

    async def measured(self, space: str | None = None) -> tuple[int, int]:
        """(bot answers, answers shown wrong) as the entries' records count them."""
        sql = "SELECT coalesce(sum(answers), 0) AS a, coalesce(sum(failed), 0) AS f FROM entry_record"
        row = await self.db.fetchone(sql + (" WHERE space = ?" if space else ""), (space,) if space else ())
        return (int(row["a"]), int(row["f"])) if row is not None else (0, 0)

    # -- survival ---------------------------------------------------------------------

    async def count_answer(self, space: str, entry: str, answer_key: str | None = None, *,
                           failed: bool = False) -> None:
        """One answer of ``entry`` given with the answer whose key is ``answer_key`` (default: the
        answer the entry gives now), or, ``failed``, that answer shown wrong: counted in the
        entry's lifetime and, while it is the entry's answer, in its record of now (``_NOW``)."""
        answered, wrong = (0, 1) if failed else (1, 0)
        key, given = (("?", (answer_key,)) if answer_key is not None
                      else ("coalesce((SELECT answer_key FROM entries WHERE id = ?), '')", (entry,)))
        await self.db.execute(
            "INSERT INTO entry_record "
            "(entry_id, space, answers, failed, answer_key, answers_now, failed_now) "
            f"VALUES (?,?,?,?,{key},?,?) ON CONFLICT (entry_id) DO UPDATE SET "
            "answers = entry_record.answers + excluded.answers, "
            "failed = entry_record.failed + excluded.failed, "
            f"answers_now = {_NOW.format(n='answers')}, failed_now = {_NOW.format(n='failed')}, "
            "answer_key = CASE WHEN excluded.answers_now > 0 THEN excluded.answer_key "
            "ELSE entry_record.answer_key END",
            (entry, space, answered, wrong, *given, answered, wrong))

    async def records(self, entries: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Per entry, over its lifetime: (answers, answers shown wrong)."""
        if not entries:
            return {}
        rows = await self.db.fetchall(
            f"SELECT entry_id, answers, failed FROM entry_record WHERE entry_id IN ({marks(entries)})",
            tuple(entries))
        return {r["entry_id"]: (int(r["answers"]), int(r["failed"])) for r in rows}

    async def records_now(self, entries: Sequence[str]) -> dict[str, tuple[int, int]]:
        """Per entry whose record is of the answer it gives now: (those answers, those shown wrong).
        An entry whose answer changed since has none: it starts afresh."""
        if not entries:
            return {}
        rows = await self.db.fetchall(
            "SELECT r.entry_id, r.answers_now, r.failed_now FROM entry_record r "
            "JOIN entries e ON e.id = r.entry_id AND e.answer_key = r.answer_key "
            f"WHERE r.entry_id IN ({marks(entries)})", tuple(entries))
        return {r["entry_id"]: (int(r["answers_now"]), int(r["failed_now"])) for r in rows}

    async def afresh(self, entry: str) -> None:
        """Staff vouched for ``entry``'s answer as it is now: its record of now starts again (the
        lifetime counts stay)."""
        await self.db.execute("UPDATE entry_record SET answers_now = 0, failed_now = 0 WHERE entry_id = ?",
                              (entry,))

    async def all_records(self, space: str | None = None) -> list[tuple[str, str, int, int]]:
        """(entry, space, answers, shown wrong) over each entry's lifetime."""
        sql = "SELECT entry_id, space, answers, failed FROM entry_record"
        rows = await self.db.fetchall(sql + (" WHERE space = ?" if space else "") + " ORDER BY entry_id",
                                      (space,) if space else ())
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    async def current_records(self, space: str | None = None) -> list[tuple[str, str, int, int]]:
        """(entry, space, answers, shown wrong) of each live entry's current answer, where its record
        has any."""
        sql = ("SELECT r.entry_id, r.space, r.answers_now, r.failed_now FROM entry_record r "
               "JOIN entries e ON e.id = r.entry_id AND e.answer_key = r.answer_key AND e.status = 'live'")
        rows = await self.db.fetchall(sql + (" WHERE r.space = ?" if space else "") + " ORDER BY r.entry_id",
                                      (space,) if space else ())
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]
