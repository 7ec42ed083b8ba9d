"""Knowledge files uploaded on the console, imported in the background with
progress, through the same code as ``journeybot kb import``."""

from __future__ import annotations

import asyncio
import logging
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.overview import NotKnowledge, Overview

logger = logging.getLogger(__name__)

SUFFIXES = (".yaml", ".yml", ".jsonl", ".ndjson", ".json", ".md", ".markdown")
MAX_BYTES = 20 * 1024 * 1024
KEEP_JOBS = 20


@dataclass(slots=True)
class Job:
    id: str
    name: str
    by: str
    entries: int
    done: int = 0
    total: int | None = None
    state: str = "running"  # running | done | failed
    report: Any = None
    error: str | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    @property
    def percent(self) -> int:
        if self.state != "running":
            return 100
        return int(100 * self.done / self.total) if self.total else 0


def check_upload(name: str, data: bytes, *, space: str | None) -> tuple[Path, int]:
    """Save the upload to a temporary file if it reads as knowledge; raise
    ``NotKnowledge`` (nothing imported) if it does not."""
    suffix = Path(name or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise NotKnowledge(f"“{name or 'the file'}” is not a knowledge file: use .yaml, .jsonl, .json or .md.")
    if not data.strip():
        raise NotKnowledge(f"“{name}” is empty.")
    if len(data) > MAX_BYTES:
        raise NotKnowledge(f"“{name}” is larger than {MAX_BYTES // (1024 * 1024)} MB; import it with "
                           "journeybot kb import instead.")
    folder = Path(tempfile.mkdtemp(prefix="journeybot-upload-"))
    path = folder / ("upload" + suffix)
    path.write_bytes(data)
    try:
        return path, Overview.check_file(path, space=space)
    except NotKnowledge as exc:
        _discard(path)
        raise NotKnowledge(f"“{name}” {exc}.") from exc


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.parent.rmdir()


class Imports:
    """Running and recent import jobs."""

    def __init__(self, console: Any) -> None:
        self.console = console
        self.jobs: dict[str, Job] = {}

    def start(self, path: Path, *, name: str, entries: int, space: str | None, by: str) -> Job:
        job = Job(secrets.token_hex(6), name, by, entries)
        self.jobs[job.id] = job
        while len(self.jobs) > KEEP_JOBS:
            oldest = next(iter(self.jobs))
            if self.jobs[oldest].state == "running":
                break
            del self.jobs[oldest]
        job.task = asyncio.create_task(self._run(job, path, space), name=f"journeybot-web-import-{job.id}")
        return job

    async def _run(self, job: Job, path: Path, space: str | None) -> None:
        from bot.cli import import_knowledge

        core = self.console.core

        def progress(step: Any) -> None:  # a knowledge.importer.FileProgress
            job.done, job.total = step.done_bytes, step.total_bytes

        try:
            async with core.exclusive():
                job.report = await import_knowledge(core, path, space=space, quiet=True, author=job.by,
                                                    progress=progress)
            job.state = "done"
            logger.info("web: %s imported %s: %d new, %d new versions, %d unchanged, %d skipped", job.by,
                        job.name, len(job.report.created), len(job.report.versioned),
                        len(job.report.unchanged), len(job.report.problems))
        except Exception as exc:
            logger.exception("web: importing %s for %s failed", job.name, job.by)
            job.state, job.error = "failed", f"The import stopped: {exc}"
        finally:
            _discard(path)

    async def cancel_all(self) -> None:
        for job in self.jobs.values():
            if job.task is not None and not job.task.done():
                job.task.cancel()
