"""The event log folded once, so the scorecard of any period, space or channel
(and a chart's many periods) is counted without reading the log again.

``learning.tally`` reads the log from its start up to ``until`` for every
scorecard: over half a million records that takes many seconds, and a chart
asks for one scorecard per week. The ledger takes each record once (``fold``
takes those after the last one it saw), keeps only the fields the tally reads
(``learning.tally.FIELDS``) and indexes them by the cases each is about. A
scorecard then runs the same ``Tally`` over just the records that can change
its figures, in their order:

- every record about a case opened in the period (its own records, the events
  in its thread, the repeat records that name it);
- what is counted where it happens (replies, cards, presses, redactions)
  inside the period;
- what stands as of ``until`` (knowledge, conflicts, lessons), from the start;
- for any other case one of those is about, the two records that opened it
  (the question and the ``opened`` change), so whether it counts and whose it
  is are judged as in a full read.

Any other record is about a case of another period, or of a kind no figure
reads, and could not change a figure: ``tests/learning/test_ledger.py`` holds
the ledger to ``learning.scorecard.compute`` on a realistic log, for periods,
spaces and channels.

A view that runs to now (no ``until``) is kept and brought up to date record by
record, so "all time" or "since March" costs only its figures once counted;
a bounded period's scorecard is kept until a record dated inside it arrives.
The ledger is plain data (no I/O, not thread-safe): one owner folds and asks.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from learning.scorecard import Scorecard, figures_of
from learning.tally import CANDIDATE_FIELDS, FIELDS, Tally, Windows
from storage.eventlog import Record

CaseKey = tuple[str, str]
Bounds = tuple[datetime | None, datetime | None, str | None, str | None, Windows]

TIMED = frozenset({"action", "card", "event", "promise_blocked", "private_move", "llm_redactions", "feedback"})
STANDING = frozenset({"knowledge", "conflict", "learn"})
_TIME = itemgetter(0)


def slim(rec: Record, shared: dict[str, dict[str, Any]] | None = None) -> Record | None:
    """``rec`` with only the fields the tally reads, or ``None`` when no figure
    could read it (a kind the tally passes over, an action that is no reply, an
    event that is neither a message nor redacted). Equal bodies are shared
    through ``shared`` (they are never changed)."""
    fields = FIELDS.get(rec.kind)
    if fields is None:
        return None
    body = {name: rec.body[name] for name in fields if name in rec.body}
    if rec.kind == "action" and body.get("type") != "reply":
        return None
    if rec.kind == "event" and body.get("type") != "message" and not body.get("redactions"):
        return None
    if isinstance(body.get("candidates"), list):
        body["candidates"] = [{k: c[k] for k in CANDIDATE_FIELDS if k in c} if isinstance(c, dict) else c
                              for c in body["candidates"]]
    if shared is not None and rec.kind != "event":
        body = shared.setdefault(repr(body), body)
    return Record(rec.seq, rec.kind, rec.at, rec.space, rec.case, rec.event_id, body)


def about(rec: Record) -> Iterator[CaseKey]:
    """The cases a record can change, as the tally looks them up."""
    if rec.case:
        yield rec.space, rec.case
    if rec.kind == "event" and rec.body.get("thread"):
        yield rec.space, rec.body["thread"]
    elif rec.kind == "repeat":
        yield rec.space, rec.body.get("earlier", "")
        yield rec.space, rec.event_id or ""


@dataclass(slots=True)
class _Timeline:
    """Rows that start with a time, sorted when read (records mostly arrive in
    time order, so sorting again is cheap; a log copied out of order is sorted once)."""

    rows: list[Any] = field(default_factory=list)
    ordered: bool = True

    def add(self, row: tuple[Any, ...]) -> None:
        if self.rows and row < self.rows[-1]:
            self.ordered = False
        self.rows.append(row)

    def between(self, start: datetime | None, end: datetime | None) -> list[Any]:
        """The rows from ``start`` up to ``end``."""
        if not self.ordered:
            self.rows.sort()
            self.ordered = True
        lo = 0 if start is None else bisect_left(self.rows, start, key=_TIME)
        hi = len(self.rows) if end is None else bisect_left(self.rows, end, key=_TIME)
        return self.rows[lo:hi]


@dataclass(slots=True)
class _Live:
    """A view that runs to now, brought up to date as records arrive."""

    tally: Tally
    upto: int  # records[:upto] have been considered
    introduced: set[CaseKey]  # cases whose opening records the tally has
    card: Scorecard | None = None
    card_upto: int = -1


@dataclass(slots=True, repr=False)
class Ledger:
    """The records the figures read, indexed by case and by time."""

    def __repr__(self) -> str:  # short: asyncio may repr a task that returned one (it took seconds)
        return f"Ledger(head={self.head}, records={len(self.records)}, chunks={self.chunks})"

    head: int = 0  # the newest record folded
    records: list[Record] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)  # bot answers per entry
    _by_case: dict[CaseKey, list[int]] = field(default_factory=dict)
    _opening: dict[CaseKey, tuple[int, ...]] = field(default_factory=dict)  # (question, opened) indexes
    _questions: dict[CaseKey, int] = field(default_factory=dict)  # (space, event id) -> a message's index
    _opened: _Timeline = field(default_factory=lambda: _Timeline())  # (time, index, case)
    _timed: _Timeline = field(default_factory=lambda: _Timeline())  # (time, index)
    _standing: _Timeline = field(default_factory=lambda: _Timeline())
    _last: dict[str | None, datetime] = field(default_factory=dict)  # space (None: any) -> last record's time
    _asked: dict[str | None, tuple[datetime, datetime]] = field(default_factory=dict)  # first, last event
    _changes: list[tuple[int, datetime]] = field(default_factory=list)  # (head before a fold, earliest time)
    _shared: dict[str, dict[str, Any]] = field(default_factory=dict)
    _live: dict[Bounds, _Live] = field(default_factory=dict)
    _kept: dict[Bounds, tuple[int, Scorecard]] = field(default_factory=dict)
    saved_head: int = 0  # what ``chunk`` handed out covers the log up to here
    chunks: int = 0  # … in this many chunks
    _saved: int = 0  # … and this many of ``records``

    # -- taking records in ----------------------------------------------------------

    def fold(self, records: Iterable[Record]) -> int:
        """Take in the records newer than ``head``, in order; returns how many."""
        before, earliest, taken = self.head, None, 0
        for rec in records:
            if rec.seq <= self.head:
                continue
            self.head, taken = rec.seq, taken + 1
            earliest = rec.at if earliest is None or rec.at < earliest else earliest
            self._when(rec)
            kept = slim(rec, self._shared)
            if kept is not None:
                self._index(kept)
        if earliest is not None:
            self._changes.append((before, earliest))
        return taken

    def _when(self, rec: Record) -> None:
        self._last[None] = self._last[rec.space] = rec.at
        if rec.kind == "event":
            for space in (None, rec.space):
                first, last = self._asked.get(space, (rec.at, rec.at))
                self._asked[space] = (min(first, rec.at), max(last, rec.at))

    def _index(self, rec: Record) -> None:
        index = len(self.records)
        self.records.append(rec)
        key = (rec.space, rec.case) if rec.case else None
        if key is not None:
            self._by_case.setdefault(key, []).append(index)
        if rec.kind == "event":
            thread = (rec.space, rec.body.get("thread") or "")
            if thread in self._opening:
                self._by_case[thread].append(index)
            if rec.body.get("type") == "message" and rec.event_id:
                self._questions[(rec.space, rec.event_id)] = index
        elif rec.kind == "repeat":
            current = (rec.space, rec.event_id or "")
            if current in self._opening and current != key:
                self._by_case[current].append(index)
        elif rec.kind == "case" and key is not None:
            self._case(rec, key, index)
        if rec.kind in TIMED:
            self._timed.add((rec.at, index))
        elif rec.kind in STANDING:
            self._standing.add((rec.at, index))

    def _case(self, rec: Record, key: CaseKey, index: int) -> None:
        to = rec.body.get("to")
        if to == "opened" and key not in self._opening:
            question = self._questions.pop((rec.space, rec.event_id or ""), None)
            self._opening[key] = (index,) if question is None else (question, index)
            self._opened.add((rec.at, index, key))
        elif to == "answered" and rec.body.get("by", "bot") == "bot" and rec.body.get("entry"):
            self.answers[str(rec.body["entry"])] += 1

    # -- kept between runs (``learning.bookkeeping`` stores the chunks) ---------------

    def chunk(self) -> dict[str, Any]:
        """Everything folded since the last chunk kept, as JSON-ready data (call
        ``kept`` once it is stored); a ledger that ``take``s the chunks in order
        stands where this one stands."""
        return {"from": self.saved_head, "head": self.head, "size": len(self.records) - self._saved,
                "last": {space or "": at.isoformat() for space, at in self._last.items()},
                "asked": {space or "": [a.isoformat(), b.isoformat()] for space, (a, b) in self._asked.items()},
                "records": [[r.seq, r.kind, r.at.isoformat(), r.space, r.case, r.event_id, r.body]
                            for r in self.records[self._saved:]]}

    def kept(self, chunk: dict[str, Any]) -> None:
        """``chunk`` (made by ``chunk``) is stored: the next one starts after it."""
        self.saved_head, self._saved, self.chunks = chunk["head"], self._saved + chunk["size"], self.chunks + 1

    def take(self, chunk: dict[str, Any]) -> None:
        """Take in a chunk made by ``chunk``. ``ValueError`` (and nothing taken)
        if it is not the next one or does not read."""
        if chunk.get("from") != self.head or not isinstance(chunk.get("head"), int):
            raise ValueError(f"a chunk from record {chunk.get('from')} does not follow record {self.head}")
        records = [Record(seq, kind, datetime.fromisoformat(at), space, case, event_id,
                          body if kind == "event" else self._shared.setdefault(repr(body), body))
                   for seq, kind, at, space, case, event_id, body in chunk["records"]]
        last = {space or None: datetime.fromisoformat(at) for space, at in chunk["last"].items()}
        asked = {space or None: (datetime.fromisoformat(a), datetime.fromisoformat(b))
                 for space, (a, b) in chunk["asked"].items()}
        for rec in records:
            self._index(rec)
        if records:
            self._changes.append((self.head, min(r.at for r in records)))
        self.head, self._last, self._asked = chunk["head"], last, asked
        self.saved_head, self._saved, self.chunks = self.head, len(self.records), self.chunks + 1

    # -- reading it back --------------------------------------------------------------

    def earliest_after(self, head: int) -> datetime | None:
        """The earliest time of the records folded after ``head``: a bounded
        period that ends before it still holds."""
        times = [at for before, at in self._changes if before >= head]
        return min(times) if times else None

    def span(self, space: str | None = None) -> tuple[datetime, datetime] | None:
        """When the first and the newest event (of ``space``) arrived."""
        return self._asked.get(space)

    def tally(self, *, since: datetime | None = None, until: datetime | None = None, space: str | None = None,
              channel: str | None = None, windows: Windows | None = None) -> Tally:
        """What ``learning.tally.tally`` reads for these bounds, from memory.
        (``last_at`` is the log's last record's time only when ``until`` is None:
        the only case in which the figures use it.)"""
        counted = Tally(since, until, windows or Windows(), space=space, channel=channel)
        chosen, _ = self._selection(since, until, space)
        for index in chosen:
            rec = self.records[index]
            if until is None or rec.at < until:
                counted.add(rec)
        if until is None:
            counted.last_at = self._last.get(space)
        return counted

    def scorecard(self, *, since: datetime | None = None, until: datetime | None = None,
                  space: str | None = None, channel: str | None = None, windows: Windows | None = None) -> Scorecard:
        """The scorecard for these bounds, as ``learning.scorecard.compute`` counts it."""
        bounds: Bounds = (since, until, space, channel, windows or Windows())
        if until is None:
            return self._running(bounds)
        kept = self._kept.get(bounds)
        if kept is not None:
            changed = self.earliest_after(kept[0])
            if changed is None or changed >= until:
                return kept[1]
        card = figures_of(self.tally(since=since, until=until, space=space, channel=channel, windows=bounds[4]))
        self._kept[bounds] = (self.head, card)
        return card

    def series(self, *, since: datetime | None = None, until: datetime | None = None, space: str | None = None,
               channel: str | None = None, windows: Windows | None = None, days: int = 7,
               most: int = 26) -> list[tuple[datetime, datetime, Scorecard]]:
        """One scorecard per period of ``days`` days (UTC midnights; weeks from
        Monday) over the events of the bounds, the latest ``most`` of them."""
        span = self.span(space)
        if span is None:
            return []
        first, last = max(span[0], since) if since else span[0], min(span[1], until) if until else span[1]
        out = []
        for start in starts(first, last, days)[-most:]:
            end = start + timedelta(days=days)
            card = self.scorecard(since=max(start, since) if since else start,
                                  until=min(end, until) if until else end, space=space, channel=channel,
                                  windows=windows)
            out.append((start, end, card))
        return out

    def _running(self, bounds: Bounds) -> Scorecard:
        live = self._live.get(bounds)
        if live is None:
            since, _, space, channel, windows = bounds
            counted = Tally(since, None, windows, space=space, channel=channel)
            chosen, introduced = self._selection(since, None, space)
            for index in chosen:
                counted.add(self.records[index])
            live = self._live[bounds] = _Live(counted, len(self.records), introduced)
        self._bring_up(live)
        if live.card is None or live.card_upto != live.upto:
            live.card, live.card_upto = figures_of(live.tally), live.upto
        return live.card

    def _bring_up(self, live: _Live) -> None:
        """Records folded since the view last looked, as a full read would take them."""
        counted = live.tally
        for index in range(live.upto, len(self.records)):
            rec = self.records[index]
            if counted.space is not None and rec.space != counted.space:
                continue
            for key in about(rec):
                opening = self._opening.get(key)
                if opening is None or key in live.introduced or opening[-1] > index:
                    continue  # unknown, already in, or not opened yet (as in a full read)
                live.introduced.add(key)
                self._ask(counted, opening)
                if opening[-1] < index:
                    counted.add(self.records[opening[-1]])
            counted.add(rec)
        live.upto = len(self.records)
        counted.last_at = self._last.get(counted.space)

    def _ask(self, counted: Tally, opening: tuple[int, ...]) -> None:
        """Where the case was asked (what its question record tells a channel's tally)."""
        if len(opening) == 2:
            question = self.records[opening[0]]
            counted.asked_in[(question.space, question.event_id or "")] = question.body.get("channel", "")

    def _selection(self, since: datetime | None, until: datetime | None,
                   space: str | None) -> tuple[list[int], set[CaseKey]]:
        """The records that can change the figures of these bounds (module
        docstring), in order, and the cases whose opening records are among them."""
        chosen: set[int] = set()
        introduced: set[CaseKey] = set()
        others: list[int] = []
        for _, _, key in self._opened.between(since, until):
            if space is None or key[0] == space:
                chosen.update(self._by_case[key])
                chosen.update(self._opening[key])
                introduced.add(key)
                others += [i for i in self._by_case[key] if self.records[i].kind == "repeat"]
        for _, index in (*self._timed.between(since, until), *self._standing.between(None, until)):
            if space is None or self.records[index].space == space:
                chosen.add(index)
                others.append(index)
        for index in others:
            for key in about(self.records[index]):
                if key not in introduced and key in self._opening:
                    introduced.add(key)
                    chosen.update(self._opening[key])
        return sorted(chosen), introduced




def starts(first: datetime, last: datetime, days: int) -> list[datetime]:
    """Period starts (UTC midnight; 7-day periods start on Monday) covering first … last."""
    from datetime import UTC

    day = datetime(first.year, first.month, first.day, tzinfo=UTC)
    if days == 7:
        day -= timedelta(days=day.weekday())
    out = []
    while day <= last:
        out.append(day)
        day += timedelta(days=days)
    return out
