"""The evidence trail's records: is the chain intact, what belongs to a case,
and all of it as JSON lines.

Read-only over the hash-chained event log (``storage.eventlog``).
``verify`` checks the chain and names the first broken record; ``story``
gathers everything about one case — the events that moved it, decisions
with their sources, versions, scores and thresholds, generation (model and
prompt hash), the actions taken and what was learned; ``export`` writes records as JSON lines
that carry their own hashes, so each one can be checked again later.

A chain proves that nothing before its newest record was changed, removed
or reordered. It cannot show that the newest records were cut off: note the
head hash ``verify`` prints somewhere else and pass it back with ``head``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from storage.database import Database
from storage.eventlog import EventLog, canonical, chain_hash


@dataclass(frozen=True, slots=True)
class LogRecord:
    """One stored record exactly as kept, hashes included."""

    seq: int
    kind: str
    at: str
    space: str
    case: str | None
    event_id: str | None
    body: dict[str, Any]
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "at": self.at, "space": self.space,
                "case": self.case, "event_id": self.event_id, "body": self.body,
                "prev_hash": self.prev_hash, "hash": self.hash}

    @property
    def sealed(self) -> bool:
        """Does the record's hash still match its content and the hash before it?"""
        return self.hash == chain_hash(self.prev_hash, self.kind, self.at, self.space, self.case,
                                       self.event_id, canonical(self.body))


@dataclass(frozen=True, slots=True)
class ChainCheck:
    """The chain's state: intact, or the first broken record (seq, kind, why)."""

    records: int
    head: str | None
    broken_at: int | None = None
    kind: str | None = None
    why: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.why is None

    def describe(self) -> str:
        if self.ok:
            return f"chain intact: {self.records} records, head {self.head or '(empty log)'}"
        if self.broken_at is None:
            return f"chain broken: {self.why}"
        return f"chain broken at record {self.broken_at} ({self.kind}): {self.why}"


def _record(row: Any) -> LogRecord:
    return LogRecord(seq=row["seq"], kind=row["kind"], at=row["at"], space=row["space"],
                     case=row["case_key"], event_id=row["event_id"], body=json.loads(row["body"]),
                     prev_hash=row["prev_hash"], hash=row["hash"])


async def verify(db: Database, *, head: str | None = None) -> ChainCheck:
    """Check the whole chain; with ``head`` (a hash noted earlier) also that
    nothing was cut from its end since."""
    report = await EventLog(db).verify()
    last = await db.fetchone("SELECT hash FROM log ORDER BY seq DESC LIMIT 1")
    current = last["hash"] if last else None
    if report.broken_at is not None:
        row = await db.fetchone("SELECT kind FROM log WHERE seq = ?", (report.broken_at,))
        before = await db.fetchone("SELECT max(seq) AS seq FROM log WHERE seq < ?", (report.broken_at,))
        previous = before["seq"] if before and before["seq"] is not None else 0
        why = report.why or "its hash does not hold"
        if previous < report.broken_at - 1:
            first, last_gone = previous + 1, report.broken_at - 1
            gone = f"record {first}" if first == last_gone else f"records {first}-{last_gone}"
            why = f"it does not follow the record before it: {gone} missing (deleted)"
        return ChainCheck(report.records, current, report.broken_at, row["kind"] if row else None, why)
    if head is not None:
        problem = await _noted_head_problem(db, head.strip().rstrip("…").rstrip(".").lower(), current)
        if problem is not None:
            return ChainCheck(report.records, current, None, None, problem)
    return ChainCheck(report.records, current)


HEAD_PREFIX_MIN = 8


async def _noted_head_problem(db: Database, head: str, current: str | None) -> str | None:
    """A noted head (whole, or a unique prefix of at least 8 hex digits, as the
    docs print it) must still be in the log; ``None`` when it is."""
    if len(head) < HEAD_PREFIX_MIN or any(c not in "0123456789abcdef" for c in head):
        return (f"--head {head!r} is not a head hash: give at least {HEAD_PREFIX_MIN} hex digits "
                "of the head that `audit verify` printed")
    if current is not None and current.startswith(head):
        return None
    rows = await db.fetchall("SELECT hash FROM log WHERE hash >= ? AND hash <= ? LIMIT 2",
                             (head, head + "g"))
    if len(rows) > 1:
        return f"--head {head} matches several records: give more of its digits"
    if not rows:
        return (f"the head {head[:16]}… you noted is not in the log: records were removed from its "
                "end, or the log was rewritten")
    return None


# -- one case ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Story:
    """Everything recorded about one case, in the order it happened."""

    case: str
    space: str
    records: tuple[LogRecord, ...]
    state: dict[str, Any] | None


class CaseNotFound(LookupError):
    """No record names this case (or it exists in several spaces and none was chosen)."""


async def story(db: Database, case: str, *, space: str | None = None) -> Story:
    """The case's own records, the events that moved it, and approvals of what it taught."""
    rows = await db.fetchall("SELECT * FROM log WHERE case_key = ?" + (" AND space = ?" if space else "")
                             + " ORDER BY seq", (case, space) if space else (case,))
    spaces = sorted({r["space"] for r in rows})
    if not spaces:
        raise CaseNotFound(f"no records of case {case!r}" + (f" in space {space!r}" if space else ""))
    if len(spaces) > 1:
        raise CaseNotFound(f"case {case!r} exists in spaces {', '.join(spaces)}: choose one with --space")
    found = {r.seq: r for r in map(_record, rows)}
    where = spaces[0]
    learned = {r.body["entry"] for r in found.values() if r.kind == "learn" and "entry" in r.body}
    if learned:
        for row in await db.fetchall("SELECT * FROM log WHERE kind = 'approved' AND space = ?", (where,)):
            record = _record(row)
            if record.body.get("entry") in learned:
                found.setdefault(record.seq, record)
    events = sorted({r.event_id for r in found.values() if r.event_id})
    for chunk in _chunks(events):
        marks = ",".join("?" * len(chunk))
        for row in await db.fetchall(f"SELECT * FROM log WHERE kind = 'event' AND space = ? "
                                     f"AND event_id IN ({marks})", (where, *chunk)):
            found.setdefault(row["seq"], _record(row))
    state_row = await db.fetchone("SELECT state FROM cases WHERE space = ? AND key = ?", (where, case))
    state = json.loads(state_row["state"]) if state_row else None
    return Story(case, where, tuple(found[seq] for seq in sorted(found)), state)


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- export ------------------------------------------------------------------


async def records(db: Database, *, space: str | None = None, since: datetime | None = None,
                  until: datetime | None = None) -> list[LogRecord]:
    """Stored records, oldest first, within a space and a period (``until`` exclusive)."""
    sql, params = "SELECT * FROM log WHERE 1=1", []
    for clause, value in (("space = ?", space), ("at >= ?", since), ("at < ?", until)):
        if value is not None:
            sql += f" AND {clause}"
            params.append(value.isoformat() if isinstance(value, datetime) else value)
    return [_record(row) for row in await db.fetchall(sql + " ORDER BY seq", params)]


def export(items: Iterable[LogRecord], out: TextIO) -> int:
    """Write ``items`` as JSON lines (seq, kind, at, space, case, event_id, body,
    prev_hash, hash); returns how many."""
    count = 0
    for record in items:
        out.write(json.dumps(record.as_json(), ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def read_export(lines: Iterable[str]) -> list[LogRecord]:
    """Records back from ``export``'s JSON lines (check each with ``sealed``)."""
    out = []
    for line in lines:
        if line.strip():
            data = json.loads(line)
            out.append(LogRecord(data["seq"], data["kind"], data["at"], data["space"], data["case"],
                                 data["event_id"], data["body"], data["prev_hash"], data["hash"]))
    return out
