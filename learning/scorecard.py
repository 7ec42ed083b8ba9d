"""The quality scorecard (``spec/scorecard.md``), from the event log alone.

One pass over the log (``learning.tally``) rebuilds each case's timeline;
each figure is then one small function of it (``learning.figures``). Cases
belong to the period they were opened in; "now" is ``until`` or, without
it, the time of the last record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from learning.figures import FIGURES, Figure, Period
from learning.tally import Tally, Windows, tally
from storage.sql import Sql

SECTIONS: dict[str, tuple[str, ...]] = {
    "Resolution": ("task_success", "task_success_confirmed", "first_contact_resolution",
                   "repeat_contact_rate", "reopen_rate", "time_to_resolve_p50", "time_to_resolve_p90",
                   "escalation_success", "owner_assignment_rate", "next_step_clarity"),
    "Context": ("answers_from_fresh_sources", "stale_entries", "open_conflicts", "knowledge_updates",
                "handoffs_with_context"),
    "Trust": ("abstention_rate", "wrong_answer_rate", "promises_blocked", "private_moves", "redactions",
              "evidence_coverage"),
    "Learning": ("entries_taught", "taught_reuse", "learning_uplift", "time_to_knowledge_p50"),
    "Experience": ("human_request_rate", "self_repeat_rate", "time_to_first_response_p50", "csat"),
}


@dataclass(slots=True)
class Scorecard:
    figures: dict[str, Figure]
    since: datetime | None
    until: datetime | None
    space: str | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: fig.as_json() for name, fig in self.figures.items()}
        out["period"] = {"since": self.since.isoformat() if self.since else None,
                         "until": self.until.isoformat() if self.until else None, "space": self.space}
        return out


async def compute(
    db: Sql,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    space: str | None = None,
    windows: Windows | None = None,
    channel: str | None = None,
) -> Scorecard:
    """Every figure for the cases opened in [``since``, ``until``) of ``space``
    (all spaces when ``None``); ``windows`` default to the policy's defaults;
    ``channel``: only the cases asked there (knowledge figures stay the space's)."""
    counted = await tally(db, since=since, until=until, space=space, windows=windows, channel=channel)
    return figures_of(counted)


def figures_of(counted: Tally) -> Scorecard:
    """The scorecard of a tally: "now" is its ``until`` or, without one, its last record's time."""
    now = counted.until or counted.last_at or datetime.now().astimezone()
    period = Period.of(counted, now)
    return Scorecard({f.name: f for f in (figure(period) for figure in FIGURES)}, counted.since, counted.until,
                     counted.space)


__all__ = ["SECTIONS", "Figure", "Scorecard", "Windows", "compute"]
