"""Bring drafts into the live store: create, version or leave unchanged.

Importing an existing id makes a new version only when something changed,
so importing an export (or the same file twice) changes nothing. A docs
section that staff corrected (or retired) keeps their word when the docs are
imported again: the import reports it, and says when the docs changed since
the text the staff corrected. Question
texts are embedded in batches, with progress reported for large files;
``import_file`` streams a file of any size through this in chunks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from pathlib import Path

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.docs.passages import passage_texts
from knowledge.entries import QUESTION, RETIRED, Draft, Entry, same_answer
from knowledge.files import Problem, iter_file

logger = logging.getLogger(__name__)

BATCH = 64
WRITE_BATCH = 512
CHUNK = 2048  # entries read, embedded and written at a time by ``import_file``
CONFLICT_SCAN_LIMIT = 20_000  # forms; beyond this `kb import` skips the pairwise scan

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    versioned: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    conflicts: list[tuple[str, str]] = field(default_factory=list)
    forms: int = 0  # question forms of the entries created or versioned
    retired: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # docs sections staff corrected or retired: left as they are
    outdated: list[str] = field(default_factory=list)  # of those, the ones whose docs text changed since

    @property
    def imported(self) -> int:
        return len(self.created) + len(self.versioned)

    def add(self, other: ImportReport) -> None:
        """Fold in the report of the next part of the same import."""
        self.created += other.created
        self.versioned += other.versioned
        self.unchanged += other.unchanged
        self.problems += other.problems
        self.conflicts += other.conflicts
        self.forms += other.forms
        self.retired += other.retired
        self.kept += other.kept
        self.outdated += other.outdated


@dataclass(frozen=True, slots=True)
class FileProgress:
    """How far a file import has got: bytes read of the file, entries read,
    entries created or versioned so far."""

    done_bytes: int
    total_bytes: int
    read: int
    imported: int


async def import_file(
    kb: KnowledgeBase,
    path: Path,
    *,
    space: str | None,
    author: str | None,
    at: datetime,
    progress: Callable[[FileProgress], None] | None = None,
    conflict_threshold: float = 0.92,
    conflict_answer_gap: float = 0.80,
) -> ImportReport:
    """Import a knowledge file as a stream, ``CHUNK`` entries at a time, so a
    file of any size is read, embedded and written in bounded memory
    (only the ids seen stay, to name an id used twice). Parsing runs in a
    worker thread; each chunk's writes are their own transactions."""
    position = [0, 0]

    def on_bytes(done: int, total: int) -> None:
        position[:] = [done, total]

    items = iter_file(path, space=space, progress=on_bytes)
    report = ImportReport()
    read = 0
    budget = CONFLICT_SCAN_LIMIT
    while chunk := await asyncio.to_thread(lambda: list(islice(items, CHUNK))):
        drafts = [d for d in chunk if isinstance(d, Draft)]
        report.problems += [p for p in chunk if isinstance(p, Problem)]
        read += len(drafts)
        part = await import_drafts(kb, drafts, author=author, at=at, conflict_threshold=conflict_threshold,
                                   conflict_answer_gap=conflict_answer_gap, conflict_scan_limit=budget)
        budget = max(0, budget - part.forms)
        report.add(part)
        if progress is not None:
            progress(FileProgress(position[0], position[1], read, report.imported))
    return report


def _changed(entry: Entry, draft: Draft) -> bool:
    return (
        entry.questions != tuple(dict.fromkeys(draft.questions))
        or entry.answer != draft.answer
        or entry.tags != draft.tags
        or entry.url != draft.url
        or entry.review_after != draft.review_after
        or (entry.status != draft.status)
        or entry.section != draft.section
    )


async def import_drafts(
    kb: KnowledgeBase,
    drafts: Sequence[Draft],
    *,
    author: str | None,
    at: datetime,
    progress: Progress | None = None,
    conflict_threshold: float = 0.92,
    conflict_answer_gap: float = 0.80,
    conflict_scan_limit: int = CONFLICT_SCAN_LIMIT,
    replaces: Callable[[Entry], bool] | None = None,
) -> ImportReport:
    """Create, version or leave each draft; ``replaces`` names the stored
    entries this import stands for as a whole (a docs folder's sections):
    those it no longer has are retired."""
    report = ImportReport()
    work = await _changes(kb, drafts, report, author=author)
    vectors = await _embed_new_texts(kb, work, progress)
    touched = await _write(kb, work, vectors, author=author, at=at, report=report)
    if replaces is not None:
        await _retire_missing(kb, drafts, replaces, report, author=author, at=at)
    report.forms = total_forms = sum(len(e.questions) for e in touched)
    if total_forms <= conflict_scan_limit:
        report.conflicts = await flag_conflicts(
            kb, touched, at=at, threshold=conflict_threshold, answer_gap=conflict_answer_gap)
    elif total_forms:
        logger.info("skipped the conflict scan for %d new question forms (limit %d)",
                    total_forms, CONFLICT_SCAN_LIMIT)
    return report


async def _changes(kb: KnowledgeBase, drafts: Sequence[Draft], report: ImportReport,
                   *, author: str | None) -> list[tuple[Draft, Entry | None]]:
    """The drafts that create or change an entry, each with the entry it changes;
    the rest go into the report as unchanged, kept (staff's word) or as problems."""
    existing = await kb.store.many([d.id for d in drafts if d.id])
    work: list[tuple[Draft, Entry | None]] = []
    for draft in drafts:
        # a file without ids: the entry imported before is the one with the same answer to its questions
        old = existing.get(draft.id) if draft.id else await _imported_before(kb, draft)
        if old is not None and old.space != draft.space:
            report.problems.append(Problem(
                f"entry {draft.id}", f"id belongs to space {old.space!r}, not {draft.space!r}"))
            continue
        if old is not None and not _changed(old, draft):
            report.unchanged.append(old.id)
            continue
        if old is not None and draft.section is not None and _staff_said(old, author):
            report.kept.append(old.id)
            if await _docs_moved_on(kb, old, draft):
                report.outdated.append(old.id)
            continue
        work.append((draft, old))
    if report.kept:
        logger.info("kept %d docs sections as staff corrected or retired them (%d changed in the docs since)",
                    len(report.kept), len(report.outdated))
    return work


async def _imported_before(kb: KnowledgeBase, draft: Draft) -> Entry | None:
    """For an entry without an ``id``: one of its space that already gives its answer to every
    question it asks (the same file imported again), if any."""
    for entry in await kb.store.with_answer(draft.space, draft.answer):
        if set(draft.questions) <= set(entry.questions):
            return entry
    return None


def _staff_said(entry: Entry, importer: str | None) -> bool:
    """Staff corrected this section's answer (in a thread), or someone other
    than the importer retired it: the docs do not overrule them."""
    return entry.taught or (entry.status == RETIRED and entry.author != importer)


async def _docs_moved_on(kb: KnowledgeBase, entry: Entry, draft: Draft) -> bool:
    """Has the section's text in the docs changed since the version staff worked from?"""
    imported = [v for v in await kb.store.history(entry.id) if v.get("origin") == "import"]
    return bool(imported) and imported[-1].get("answer") != draft.answer


async def _embed_new_texts(kb: KnowledgeBase, work: Sequence[tuple[Draft, Entry | None]],
                           progress: Progress | None) -> dict[str, np.ndarray]:
    """Embed every question (and docs passage) that is not already stored with the entry."""
    texts: list[str] = []
    for draft, old in work:
        have = set(old.questions) if old else set()
        texts.extend(q for q in dict.fromkeys(draft.questions) if q not in have)
        old_passages = set(passage_texts(old)) if old else set()
        texts.extend(p for p in passage_texts(_as_entry(draft)) if p not in old_passages)
    unique = list(dict.fromkeys(texts))
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(unique), BATCH):
        batch = unique[start : start + BATCH]
        for text, vector in zip(batch, await kb.embedder.embed(batch), strict=True):
            vectors[text] = vector
        if progress:
            progress(min(start + BATCH, len(unique)), len(unique))
    if progress and not unique:
        progress(0, 0)
    return vectors


async def _write(kb: KnowledgeBase, work: Sequence[tuple[Draft, Entry | None]],
                 vectors: dict[str, np.ndarray], *, author: str | None, at: datetime,
                 report: ImportReport) -> list[Entry]:
    """Create or version each entry, ``WRITE_BATCH`` to a transaction."""
    touched: list[Entry] = []
    for start in range(0, len(work), WRITE_BATCH):
        async with kb.db.transaction():
            for draft, old in work[start : start + WRITE_BATCH]:
                if old is None:
                    questions = list(dict.fromkeys(draft.questions))
                    entry = await kb.create(
                        draft, author=author, origin="import", at=at,
                        vectors=np.stack([vectors[q] for q in questions]), known=vectors,
                    )
                    report.created.append(entry.id)
                else:
                    entry = await kb.revise(
                        old, author=author, origin="import", at=at, answer=draft.answer,
                        questions=draft.questions, tags=draft.tags, url=draft.url,
                        review_after=draft.review_after, status=draft.status, section=draft.section,
                        known=vectors,
                    )
                    report.versioned.append(entry.id)
                touched.append(entry)
    return touched


async def _retire_missing(kb: KnowledgeBase, drafts: Sequence[Draft], replaces: Callable[[Entry], bool],
                          report: ImportReport, *, author: str | None, at: datetime) -> None:
    """Sections the docs no longer have stop answering (their history stays);
    one that staff corrected keeps answering, reported as outdated."""
    present = {d.id for d in drafts}
    spaces = {d.space for d in drafts}
    for space in spaces:
        for entry in await kb.store.entries(space=space):
            if entry.id in present or not replaces(entry):
                continue
            if entry.taught:
                report.kept.append(entry.id)
                report.outdated.append(entry.id)
                continue
            await kb.retire(entry, by=author, at=at)
            report.retired.append(entry.id)


def _as_entry(draft: Draft) -> Entry:
    return Entry(id=draft.id or "", space=draft.space, version=0, status=draft.status,
                 questions=tuple(dict.fromkeys(draft.questions)), answer=draft.answer,
                 section=draft.section)


def _same_docs(a: Entry, b: Entry) -> bool:
    """Two sections of imported docs are parts of one text, never a conflict
    (a parent and its subsections, or two "Action required" steps of a guide)."""
    return a.section is not None and b.section is not None


async def flag_conflicts(
    kb: KnowledgeBase,
    entries: Sequence[Entry],
    *,
    at: datetime,
    threshold: float,
    answer_gap: float,
) -> list[tuple[str, str]]:
    """Flag pairs of entries asked the same way but answering differently."""
    flagged: list[tuple[str, str]] = []
    for entry in entries:
        if entry.status != "live":
            continue
        forms = await kb.store.live_forms(entry.id, QUESTION)
        if not forms:
            continue
        vectors = await kb.store.form_vectors([fid for fid, _ in forms])
        near: dict[str, float] = {}
        for vector in vectors:
            for hit in await kb.search(entry.space, vector, k=12):
                if hit.entry.id != entry.id and hit.score >= threshold:
                    near[hit.entry.id] = max(near.get(hit.entry.id, 0.0), hit.score)
        if not near:
            continue
        others = await kb.store.many(list(near))
        for other in others.values():
            if same_answer(other.answer, entry.answer) or _same_docs(entry, other):
                continue
            a, b = await kb.embedder.embed([entry.answer, other.answer])
            if float(np.dot(a, b)) < answer_gap and await kb.store.flag_conflict(
                entry.id, other.id, entry.space, at
            ):
                logger.info("conflict: %s and %s answer the same question differently", entry.id, other.id)
                flagged.append(tuple(sorted((entry.id, other.id))))  # type: ignore[arg-type]
    return flagged
