"""Event-log records in a line each, for tallies and figures tested without a bot."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from learning.figures import Period
from learning.tally import Tally, Windows
from storage.eventlog import Record

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DAY = 24 * 60  # minutes
_seq = itertools.count(1)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rec(kind: str, case: str | None = None, /, *, minutes: float = 0.0, space: str = "s",
        event: str | None = None, **body: Any) -> Record:
    return Record(next(_seq), kind, at(minutes), space, case, event, body)


def moved(case: str, to: str, minutes: float = 0.0, user: str = "u1", **body: Any) -> Record:
    """A case's change of state, as ``Handling.transition`` writes it."""
    return rec("case", case, minutes=minutes, to=to, user=user, **body)


def answered(case: str, minutes: float, *, entry: str = "k1", by: str = "bot", **body: Any) -> Record:
    return moved(case, "answered", minutes, entry=entry, version=1, by=by, **body)


def reply(case: str, minutes: float, kind: str = "answer", **body: Any) -> Record:
    return rec("action", case, minutes=minutes, type="reply", kind=kind, **body)


def tallied(*records: Record, since: datetime | None = None, until: datetime | None = None,
            windows: Windows | None = None, channel: str | None = None) -> Tally:
    counted = Tally(since, until, windows or Windows(), channel=channel)
    for record in records:
        counted.add(record)
    return counted


def period(*records: Record, now: float | None = None, **tally: Any) -> Period:
    """The period of ``records`` as it stands ``now`` minutes after T0 (else at the last record)."""
    counted = tallied(*records, **tally)
    assert counted.last_at is not None
    return Period.of(counted, at(now) if now is not None else counted.last_at)
