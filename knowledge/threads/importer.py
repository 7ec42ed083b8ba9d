"""Past threads into the knowledge store, as pending entries, all or nothing.

The whole export is read and checked first (a malformed file stops the
import before anything is written), questions are embedded outside any
transaction (a running bot keeps writing meanwhile), then every entry is
written in one transaction. Re-importing the same export changes nothing:
a thread's entry keeps its id, an unchanged pending entry is left as it is,
and an entry staff already reviewed (approved, edited, rejected) is never
touched again; only a still-pending entry whose thread grew gets a new
version.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from knowledge.base import KnowledgeBase
from knowledge.entries import PENDING, Draft, Entry
from knowledge.files import Problem
from knowledge.importer import BATCH, ImportReport
from knowledge.threads.discord import DiscordExport, read_discord
from knowledge.threads.model import Staff, Tally, Thread
from knowledge.threads.qa import Redact, Skipped, to_draft
from knowledge.threads.slack import SlackExport, read_slack
from knowledge.threads.source import ExportError, ExportFiles, export_kind

logger = logging.getLogger(__name__)

ORIGIN = "thread"
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(slots=True)
class ExportReading:
    """What an export holds: drafts for the threads staff answered, and why
    the other conversations made none."""

    kind: str
    drafts: list[Draft] = field(default_factory=list)
    threads: int = 0
    passed_over: Tally = field(default_factory=Tally)
    staff_seen: bool = False


def read_export(path: Path, *, staff: Staff, redact: Redact, space: str = "default",
                workspace_url: str | None = None, channels: Collection[str] = (),
                progress: Progress | None = None) -> ExportReading:
    """Read a Slack or Discord export into pending drafts (nothing is stored).

    ``redact`` removes personal data and secrets from every text (the core
    passes its own). ``ExportError`` names the file and line of anything
    malformed; ``ValueError`` if ``path`` is no export at all.
    """
    kind = export_kind(path)
    if kind is None:
        raise ExportError(f"{path}: neither a Slack export (a folder or .zip with channels.json) "
                          "nor a DiscordChatExporter JSON export")

    def reading(done: int, total: int) -> None:
        if progress is not None:
            progress("reading", done, total)

    export: SlackExport | DiscordExport
    with ExportFiles(path) as files:
        if kind == "slack":
            export = read_slack(files, workspace_url=workspace_url, channels=channels, progress=reading)
        else:
            export = read_discord(files, channels=tuple(channels), progress=reading)
    out = ExportReading(kind=kind, threads=len(export.threads), passed_over=export.tally,
                        staff_seen=any(p in staff for p in export.people.values()))
    seen: set[str] = set()
    for thread in export.threads:
        result = to_draft(thread, staff=staff, people=export.people, redact=redact, space=space)
        if isinstance(result, Skipped):
            out.passed_over.add(f"threads {result.why}")
        elif result.id not in seen:
            seen.add(result.id or "")
            out.drafts.append(result)
    return out


def thread_of(entry: Entry) -> str:
    """How a thread entry is named to a reviewer: platform, channel, date."""
    where = entry.provenance or {}
    return " ".join(x for x in (where.get("platform", ""), where.get("channel", ""), where.get("date", "")) if x)


def _changed(entry: Entry, draft: Draft) -> bool:
    return (entry.questions != tuple(dict.fromkeys(draft.questions)) or entry.answer != draft.answer
            or entry.provenance != draft.provenance)


async def import_threads(kb: KnowledgeBase, drafts: Sequence[Draft], *, author: str, at: datetime,
                         progress: Progress | None = None) -> ImportReport:
    """Store ``drafts`` (from ``read_export``) as pending entries in one transaction."""
    report = ImportReport()
    existing = await kb.store.many([d.id for d in drafts if d.id])
    work: list[tuple[Draft, Entry | None]] = []
    for draft in drafts:
        old = existing.get(draft.id or "")
        if old is not None and old.space != draft.space:
            report.problems.append(Problem(f"thread {draft.id}", f"already imported into space {old.space!r}"))
        elif old is None:
            work.append((draft, None))
        elif old.status == PENDING and old.origin == ORIGIN and old.author == author and _changed(old, draft):
            work.append((draft, old))  # the thread grew since the last export, and no one reviewed it yet
        else:
            report.unchanged.append(old.id)  # the same, or staff edited or decided on it already

    texts = list(dict.fromkeys(q for draft, old in work if old is None for q in draft.questions))
    vectors: dict[str, np.ndarray] = {}
    for start in range(0, len(texts), BATCH):
        batch = texts[start : start + BATCH]
        vectors.update(zip(batch, await kb.embedder.embed(batch), strict=True))
        if progress is not None:
            progress("embedding", min(start + BATCH, len(texts)), len(texts))

    async with kb.db.transaction():
        for draft, old in work:
            if old is None:
                questions = list(dict.fromkeys(draft.questions))
                entry = await kb.create(draft, author=author, origin=ORIGIN, at=at,
                                        vectors=np.stack([vectors[q] for q in questions]))
                report.created.append(entry.id)
            else:
                entry = await kb.revise(old, author=author, origin=ORIGIN, at=at, answer=draft.answer,
                                        questions=draft.questions, status=PENDING,
                                        provenance=draft.provenance)
                report.versioned.append(entry.id)
            report.forms += len(entry.questions)
    logger.info("past threads: %d new pending entries, %d updated, %d unchanged",
                len(report.created), len(report.versioned), len(report.unchanged))
    return report


__all__ = ["ExportError", "ExportReading", "Thread", "import_threads", "read_export", "thread_of"]
