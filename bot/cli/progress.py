"""Progress of a long import: a bar on a terminal, a plain line now and then elsewhere.

A cron job, a CI log or ``… 2> import.log`` has no terminal, and a
250,000-entry import takes minutes: without a word in that time nobody can
tell a working import from a hung one. Off a terminal a line goes to
standard error every ``every`` seconds (none at all for a quick import).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import IO, Any

from knowledge.importer import FileProgress

EVERY = 5.0  # seconds between progress lines off a terminal


class ImportProgress:
    """Shows ``FileProgress`` updates for one import; use as a context manager."""

    def __init__(self, label: str, *, stream: IO[str] | None = None, every: float | None = None,
                 quiet: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.every = EVERY if every is None else every
        self.quiet = quiet
        self.clock = clock
        self._bar: Any = None
        self._task: Any = None
        self._last = 0.0

    def __enter__(self) -> ImportProgress:
        self._last = self.clock()
        if not self.quiet and self.stream.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn(f"importing {self.label}"), BarColumn(), TaskProgressColumn(),
                                 TextColumn("{task.fields[entries]}"), TimeRemainingColumn(),
                                 transient=True, console=Console(file=self.stream))
            self._bar.__enter__()
            self._task = self._bar.add_task("import", total=None, entries="")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.__exit__(kind, exc, tb)

    def step(self, what: str, done: int, total: int) -> None:
        """A stage of work other than reading a knowledge file (an export's
        files read, its questions embedded)."""
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=done, total=total or None, entries=what)
            return
        now = self.clock()
        if now - self._last < self.every:
            return
        self._last = now
        share = f" {100 * done / total:.0f}%" if total else ""
        self.stream.write(f"importing {self.label}: {what}{share}\n")
        self.stream.flush()

    def __call__(self, progress: FileProgress) -> None:
        if self.quiet:
            return
        counts = f"{progress.read:,} entries read, {progress.imported:,} new or changed"
        if self._bar is not None:
            self._bar.update(self._task, completed=progress.done_bytes, total=progress.total_bytes or None,
                             entries=counts)
            return
        now = self.clock()
        if now - self._last < self.every:
            return
        self._last = now
        share = f"{100 * progress.done_bytes / progress.total_bytes:.0f}% of the file, " \
            if progress.total_bytes else ""
        self.stream.write(f"importing {self.label}: {share}{counts}\n")
        self.stream.flush()
