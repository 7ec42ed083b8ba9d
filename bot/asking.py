"""How often the bot may ask "did you mean": a budget over recent questions.

Every "did you mean" costs the asker a reply, and asked too often it stops
being help. The policy proposes a question when options are close; the budget
decides whether this one is worth asking. Over the last ``window`` questions
of a space it keeps each proposal's *likelihood* (the chance that the right
entry is among the options offered: the calibrated estimates summed, or the
best score without a learner) and whether it was asked. A proposal is asked
when both hold:

* it is among the likeliest ``budget`` share of the window's questions (a
  proposal that would not have made the cut in the recent past does not now);
* fewer than ``budget`` of the window's questions were asked (counting at
  least ``FEWEST`` questions, so a new space may ask its first few).

So a community whose close calls are few asks them all, and one where most
questions have look-alikes (many fine-grained topics) asks about the likeliest
and hands the rest to staff, whose answers then teach the bot the difference.

The window lives in memory per space. On first use it is filled from the
decisions the log kept (``Recent``), so a restart neither forgets how much was
asked nor starts from nothing. Several workers each keep their own window.
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.policy import Decision, Option
from storage.eventlog import EventLog

# A share of very few questions says little: the budget counts at least this many.
FEWEST = 20

# The decisions a space's log kept, newest last: (likelihood or None, asked).
Recent = Callable[[str, int], Awaitable[list[tuple[float | None, bool]]]]


def likelihood(decision: Decision, options: Sequence[Option]) -> float:
    """How likely a "did you mean" is to hold the right entry: the offered options'
    calibrated estimates summed, or (without them) the best offered score."""
    offered = [o for o in options if o.entry in decision.options]
    if offered and all(o.probability is not None for o in offered):
        return round(sum(o.probability or 0.0 for o in offered), 4)
    return round(max((o.score for o in offered), default=decision.confidence), 4)


@dataclass
class Window:
    """One space's recent questions: what each proposal was worth, and what was asked."""

    size: int
    proposals: deque[float | None] = field(default_factory=deque)
    asked: deque[bool] = field(default_factory=deque)

    def note(self, proposal: float | None, asked: bool) -> None:
        self.proposals.append(proposal)
        self.asked.append(asked)
        while len(self.proposals) > self.size:
            self.proposals.popleft()
            self.asked.popleft()

    def bar(self, budget: float) -> float | None:
        """The likelihood a proposal needs now (None: no room left to ask at all)."""
        allowed = math.ceil(budget * max(len(self.proposals) + 1, FEWEST) - 1e-9)
        if sum(self.asked) >= allowed:
            return None
        ranked = sorted((p for p in self.proposals if p is not None), reverse=True)
        return ranked[allowed - 1] if len(ranked) >= allowed else 0.0


@dataclass(frozen=True, slots=True)
class Verdict:
    ask: bool
    likelihood: float
    bar: float | None  # what it had to reach (None: the budget was spent)

    def evidence(self) -> dict[str, object]:
        return {"likelihood": self.likelihood, "asked": self.ask,
                "bar": None if self.bar is None else round(self.bar, 4)}

    def why(self, budget: float) -> str:
        if self.bar is None:
            return f"{budget:.0%} of recent questions were already asked \"did you mean\""
        return (f"\"did you mean\" is kept for the likeliest {budget:.0%} of questions "
                f"(these options {self.likelihood:.2f}, the bar {self.bar:.2f})")


async def asked_lately(log: EventLog, space: str, limit: int) -> list[tuple[float | None, bool]]:
    """What the log kept of the space's last ``limit`` questions' "did you mean" proposals."""
    out: list[tuple[float | None, bool]] = []
    for record in await log.latest("decision", space, limit):
        asking = json.loads(record.body).get("asking")
        if isinstance(asking, dict):
            worth = asking.get("likelihood")
            out.append((float(worth) if isinstance(worth, int | float) else None, asking.get("asked") is True))
    return out


class AskingBudget:
    """Per space: may this proposed "did you mean" be asked? (``budget`` 1: always.)"""

    def __init__(self, budget: float, window: int, recent: Recent | None = None) -> None:
        self.budget = budget
        self.size = window
        self.recent = recent
        self._windows: dict[str, Window] = {}

    async def _window(self, space: str) -> Window:
        found = self._windows.get(space)
        if found is None:
            found = Window(self.size)
            for proposal, asked in (await self.recent(space, self.size) if self.recent else []):
                found.note(proposal, asked)
            self._windows.setdefault(space, found)
        return self._windows[space]

    async def weigh(self, space: str, decision: Decision, options: Sequence[Option]) -> Verdict | None:
        """The budget's word on ``decision`` (None: not a "did you mean"), noted in the window."""
        window = await self._window(space)
        if decision.kind != "clarify":
            window.note(None, False)
            return None
        worth = likelihood(decision, options)
        bar = window.bar(self.budget) if self.budget < 1 else 0.0
        verdict = Verdict(ask=bar is not None and worth >= bar, likelihood=worth, bar=bar)
        window.note(worth, verdict.ask)
        return verdict


__all__ = ["AskingBudget", "Recent", "Verdict", "Window", "asked_lately", "likelihood"]
