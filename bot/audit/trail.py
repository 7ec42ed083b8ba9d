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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from knowledge.integrity import check_knowledge
from storage.cases import CaseRows
from storage.eventlog import EventLog, StoredRecord, canonical, chain_hash
from storage.sql import Sql


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
    """The chain's state: intact, or the first broken record (seq, kind, why);
    and knowledge entries no longer as their logged versions were written."""

    records: int
    head: str | None
    broken_at: int | None = None
    kind: str | None = None
    why: str | None = None
    knowledge: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.why is None and not self.knowledge

    def describe(self) -> str:
        if self.broken_at is not None:
            return f"chain broken at record {self.broken_at} ({self.kind}): {self.why}"
        if self.why is not None:
            return f"chain broken: {self.why}"
        intact = f"chain intact: {self.records} records, head {self.head or '(empty log)'}"
        if not self.knowledge:
            return intact
        shown = [f"knowledge changed outside journeybot: {line}" for line in self.knowledge[:KNOWLEDGE_SHOWN]]
        if len(self.knowledge) > KNOWLEDGE_SHOWN:
            shown.append(f"… and {len(self.knowledge) - KNOWLEDGE_SHOWN} more")
        return "\n".join([*shown, f"{intact} (the log itself holds; the store does not)"])


KNOWLEDGE_SHOWN = 20


def _record(stored: StoredRecord) -> LogRecord:
    return LogRecord(seq=stored.seq, kind=stored.kind, at=stored.at, space=stored.space,
                     case=stored.case, event_id=stored.event_id, body=json.loads(stored.body),
                     prev_hash=stored.prev_hash, hash=stored.hash)


async def verify(db: Sql, *, head: str | None = None) -> ChainCheck:
    """Check the whole chain; with ``head`` (a hash noted earlier) also that
    nothing was cut from its end since."""
    log = EventLog(db)
    report = await log.verify()
    _, current = await log.head()
    if report.broken_at is not None:
        broken = await log.at(report.broken_at)
        previous = await log.seq_before(report.broken_at)
        why = report.why or "its hash does not hold"
        if previous < report.broken_at - 1:
            first, last_gone = previous + 1, report.broken_at - 1
            gone = f"record {first}" if first == last_gone else f"records {first}-{last_gone}"
            why = f"it does not follow the record before it: {gone} missing (deleted)"
        return ChainCheck(report.records, current, report.broken_at, broken.kind if broken else None, why)
    if head is not None:
        problem = await _noted_head_problem(log, head.strip().rstrip("…").rstrip(".").lower(), current)
        if problem is not None:
            return ChainCheck(report.records, current, None, None, problem)
    changed = tuple(c.describe() for c in await check_knowledge(db))
    return ChainCheck(report.records, current, knowledge=changed)


HEAD_PREFIX_MIN = 8


async def _noted_head_problem(log: EventLog, head: str, current: str | None) -> str | None:
    """A noted head (whole, or a unique prefix of at least 8 hex digits, as the
    docs print it) must still be in the log; ``None`` when it is."""
    if len(head) < HEAD_PREFIX_MIN or any(c not in "0123456789abcdef" for c in head):
        return (f"--head {head!r} is not a head hash: give at least {HEAD_PREFIX_MIN} hex digits "
                "of the head that `audit verify` printed")
    if current is not None and current.startswith(head):
        return None
    rows = await log.hashes_starting(head, limit=2)
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


async def story(db: Sql, case: str, *, space: str | None = None) -> Story:
    """The case's own records, the events that moved it, and approvals of what it taught."""
    log = EventLog(db)
    rows = await log.of_case(case, space)
    spaces = sorted({r.space for r in rows})
    if not spaces:
        raise CaseNotFound(f"no records of case {case!r}" + (f" in space {space!r}" if space else ""))
    if len(spaces) > 1:
        raise CaseNotFound(f"case {case!r} exists in spaces {', '.join(spaces)}: choose one with --space")
    found = {r.seq: r for r in map(_record, rows)}
    where = spaces[0]
    learned = {r.body["entry"] for r in found.values() if r.kind == "learn" and "entry" in r.body}
    if learned:
        for approval in map(_record, await log.of_kind("approved", where)):
            if approval.body.get("entry") in learned:
                found.setdefault(approval.seq, approval)
    events = sorted({r.event_id for r in found.values() if r.event_id})
    for event in await log.events(where, events):
        found.setdefault(event.seq, _record(event))
    state = await CaseRows(db).get(where, case)
    return Story(case, where, tuple(found[seq] for seq in sorted(found)), state)


# -- export ------------------------------------------------------------------


async def records(db: Sql, *, space: str | None = None, since: datetime | None = None,
                  until: datetime | None = None) -> list[LogRecord]:
    """Stored records, oldest first, within a space and a period (``until`` exclusive)."""
    return [_record(stored) async for stored in EventLog(db).stored(space=space, since=since, until=until)]


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
