"""Knowledge as it was written, and as it is now.

Every change of an entry (created, revised, retired) leaves a ``knowledge``
record in the hash-chained event log with the sha256 of that version's
content (``content_hash``). The log cannot be changed without breaking its
chain; so an entry edited in the store behind journeybot's back — its
answer, link, tags, status, who taught it — no longer matches the hash its
version was written with, and ``check_knowledge`` names it.

Content is what a version says and where it came from; not its question
forms, which grow without a new version when people ask in new words, nor
its timestamps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from knowledge.store import EntryStore, entry_to_row
from storage.eventlog import EventLog, canonical
from storage.sql import Sql

CONTENT_FIELDS = ("id", "space", "version", "status", "answer", "tags", "url", "review_after", "private",
                  "author", "origin", "provenance")


def content(row: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a version that the hash covers, in one form whatever stored them."""
    out = {name: row.get(name) for name in CONTENT_FIELDS}
    out["tags"] = list(out["tags"] or [])
    out["private"] = bool(out["private"])
    out["provenance"] = dict(out["provenance"]) if out["provenance"] else None
    return out


def content_hash(row: Mapping[str, Any]) -> str:
    """sha256 of a version's content (``entry_to_row`` of it, or its stored snapshot)."""
    return hashlib.sha256(canonical(content(row)).encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Changed:
    """An entry version that is not as it was written."""

    entry: str
    version: int
    history: bool  # its kept snapshot, not the current entry
    why: str

    def describe(self) -> str:
        where = " (history)" if self.history else ""
        return f"{self.entry} version {self.version}{where}: {self.why}"


async def check_knowledge(db: Sql) -> list[Changed]:
    """Every current entry and every kept version against the hash logged when
    it was written. Versions logged before content was hashed are not checked."""
    written: dict[tuple[str, int], tuple[int, str | None]] = {}
    async for record in EventLog(db).records(kinds=("knowledge",)):
        key = (str(record.body.get("entry", "")), int(record.body.get("version") or 0))
        written[key] = (record.seq, record.body.get("content_sha256"))
    store = EntryStore(db)
    snapshots = {(entry_id, version): snapshot for entry_id, version, snapshot in await store.all_versions()}
    changed: list[Changed] = []
    for (entry_id, version), snapshot in snapshots.items():
        problem = _against_log(snapshot, written.get((entry_id, version)))
        if problem:
            changed.append(Changed(entry_id, version, True, problem))
    for entry in await store.entries(space=None, status=None):
        row = entry_to_row(entry)
        problem = _against_log(row, written.get((entry.id, entry.version)))
        if problem and "differs" in problem:
            problem = _which_fields(row, snapshots.get((entry.id, entry.version)), written[(entry.id, entry.version)])
        if problem:
            changed.append(Changed(entry.id, entry.version, False, problem))
    return sorted(changed, key=lambda c: (c.entry, c.version, not c.history))


def _against_log(row: Mapping[str, Any], logged: tuple[int, str | None] | None) -> str | None:
    if logged is None:
        return "not in the evidence trail (written to the store outside journeybot)"
    seq, digest = logged
    if digest is None or digest == content_hash(row):
        return None
    return f"its content differs from what was written (record {seq})"


def _which_fields(row: Mapping[str, Any], snapshot: Mapping[str, Any] | None, logged: tuple[int, str | None]) -> str:
    """Name what changed, when the version's kept snapshot still holds."""
    seq, digest = logged
    if snapshot is None or content_hash(snapshot) != digest:
        return f"its content differs from what was written (record {seq})"
    now, then = content(row), content(snapshot)
    fields = [name for name in CONTENT_FIELDS if now[name] != then[name]]
    return f"{', '.join(fields)} {'differs' if len(fields) == 1 else 'differ'} from what was written (record {seq})"
