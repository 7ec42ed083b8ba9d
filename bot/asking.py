"""How often the bot may ask "did you mean": a budget over recent questions.

Every "did you mean" costs the asker a reply, and asked too often it stops
being help. The policy proposes a question when options are close; the budget
decides whether this one is worth asking. Over the last ``window`` cases of a
space it keeps each proposal's *likelihood* (the chance that the right entry
is among the options offered) and whether it was asked. A proposal is asked
when both hold:

* it is among the likeliest ``REACH`` × ``budget`` share of the window's
  cases (a proposal that would not have made the cut in the recent past does
  not now);
* fewer than ``budget`` of the window's cases were asked (counting at least
  ``FEWEST`` cases, so a new space may ask its first few).

So a community whose close calls are few asks them all, and one where most
questions have look-alikes (many fine-grained topics) asks about the likeliest
and hands the rest to staff, whose answers then teach the bot the difference.

A case counts once, however often it is decided (more words from the asker, a
flow run again after a slow call); once asked, it stays counted as asked. The
window lives in memory per space. On first use it is filled from the decisions
the log kept (``asked_lately``), so a restart neither forgets how much was
asked nor starts from nothing. Several workers each keep their own window.
"""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.policy import Decision, Option
from storage.contract import LogRepository

# A share of very few questions says little: the budget counts at least this many.
FEWEST = 20
# The bar ranks this much more than the budget allows: the cap on what was asked
# holds the rate, and the bar keeps the least likely out. With both at the budget,
# each refuses some the other would pass, and the budget goes a tenth unspent.
REACH = 1.25

Noted = tuple[str, float | None, bool]  # (case, likelihood of its proposal or None, asked)
# The decisions a space's log kept, oldest first.
Recent = Callable[[str, int], Awaitable[list[Noted]]]


def likelihood(decision: Decision, options: Sequence[Option]) -> float:
    """How likely a "did you mean" is to hold the right entry: at least one of the
    offered options right, their calibrated estimates taken as independent; without
    estimates, the best offered score."""
    offered = [o for o in options if o.entry in decision.options]
    if offered and all(o.probability is not None for o in offered):
        return round(1.0 - math.prod(1.0 - (o.probability or 0.0) for o in offered), 4)
    return round(max((o.score for o in offered), default=decision.confidence), 4)


@dataclass
class Window:
    """One space's recent cases: what each proposal was worth, and whether it was asked."""

    size: int
    cases: OrderedDict[str, tuple[float | None, bool]] = field(default_factory=OrderedDict)

    def note(self, case: str, proposal: float | None, asked: bool) -> None:
        earlier = self.cases.get(case)
        if earlier is not None and earlier[1]:
            return  # asked once: it stays counted as asked
        self.cases[case] = (proposal, asked)  # a case decided again keeps its place
        while len(self.cases) > self.size:
            self.cases.popitem(last=False)

    def bar(self, budget: float, case: str) -> float | None:
        """The likelihood a proposal for ``case`` needs now (None: the budget is spent)."""
        others = [v for key, v in self.cases.items() if key != case]
        allowed = math.ceil(budget * max(len(others) + 1, FEWEST) - 1e-9)
        if sum(asked for _, asked in others) >= allowed:
            return None
        ranked = sorted((p for p, _ in others if p is not None), reverse=True)
        reach = math.ceil(REACH * allowed - 1e-9)
        return ranked[reach - 1] if len(ranked) >= reach else 0.0


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
        return (f"\"did you mean\" is kept for the likeliest close calls, at most {budget:.0%} of questions "
                f"(these options {self.likelihood:.2f}, the bar {self.bar:.2f})")


async def asked_lately(log: LogRepository, space: str, limit: int) -> list[Noted]:
    """What the log kept of the space's recent cases' "did you mean" proposals, oldest
    first (decisions without the budget's word, such as an asker's pick, are passed over)."""
    out: list[Noted] = []
    for record in await log.latest("decision", space, 3 * limit):
        weighed = _weighed(json.loads(record.body))
        if weighed is not None and record.case:
            out.append((record.case, *weighed))
    return out


async def asked_share(log: LogRepository, *, since: datetime | None = None, until: datetime | None = None,
                      space: str | None = None) -> tuple[int, int]:
    """(questions asked "did you mean", questions the budget weighed) in a period, from the
    decisions' evidence; a case decided more than once counts once."""
    asked: dict[tuple[str, str], bool] = {}
    async for record in log.records(since=since, until=until, space=space, kinds=("decision",)):
        weighed = _weighed(record.body)
        if weighed is not None and record.case:
            key = (record.space, record.case)
            asked[key] = asked.get(key, False) or weighed[1]
    return sum(asked.values()), len(asked)


def _weighed(body: dict[str, Any]) -> tuple[float | None, bool] | None:
    """What a logged decision says the budget weighed: (likelihood or None, asked);
    None for a decision the budget did not weigh (an asker's pick, a staff fan-out)."""
    asking = body.get("asking")
    if not isinstance(asking, dict):
        return None
    worth = asking.get("likelihood")
    return (float(worth) if isinstance(worth, int | float) else None), asking.get("asked") is True


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
            for case, proposal, asked in (await self.recent(space, self.size) if self.recent else []):
                found.note(case, proposal, asked)
            self._windows.setdefault(space, found)
        return self._windows[space]

    async def weigh(self, space: str, case: str, decision: Decision,
                    options: Sequence[Option]) -> Verdict | None:
        """The budget's word on ``case``'s ``decision`` (None: not a "did you mean"), noted."""
        window = await self._window(space)
        if decision.kind != "clarify":
            window.note(case, None, False)
            return None
        worth = likelihood(decision, options)
        bar = window.bar(self.budget, case) if self.budget < 1 else 0.0
        verdict = Verdict(ask=bar is not None and worth >= bar, likelihood=worth, bar=bar)
        window.note(case, worth, verdict.ask)
        return verdict


__all__ = ["FEWEST", "REACH", "AskingBudget", "Recent", "Verdict", "Window", "asked_lately", "asked_share",
           "likelihood"]
