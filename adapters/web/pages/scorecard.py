"""The scorecard page: every figure with its basis, charts over time, filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.web.access import User
from adapters.web.charts import Sample, line_chart
from adapters.web.http import Refused, console_of, page, render
from adapters.web.scoreboard import View
from bot.overview import SECTIONS, Figure, Scorecard, basis, shown

LABELS: dict[str, str] = {
    "task_success": "Task success (confirmed + presumed)",
    "task_success_confirmed": "Task success, confirmed only",
    "first_contact_resolution": "First-contact resolution",
    "repeat_contact_rate": "Repeat contacts",
    "reopen_rate": "Reopened",
    "time_to_resolve_p50": "Time to resolve, median",
    "time_to_resolve_p90": "Time to resolve, 90th percentile",
    "escalation_success": "Hand-overs that ended resolved",
    "owner_assignment_rate": "Named owner within the SLA",
    "next_step_clarity": "Replies stating owner and next step",
    "answers_from_fresh_sources": "Answers from fresh sources",
    "stale_entries": "Stale entries",
    "open_conflicts": "Open conflicts",
    "knowledge_updates": "Knowledge updates (from staff)",
    "handoffs_with_context": "Staff cards with the journey",
    "abstention_rate": "Abstained (routed or clarified)",
    "wrong_answer_rate": "Wrong answers",
    "promises_blocked": "Promises held back",
    "private_moves": "Moved to private",
    "redactions": "Redactions",
    "evidence_coverage": "Answers with complete evidence",
    "entries_taught": "Entries taught",
    "taught_reuse": "Answers from taught entries",
    "learning_uplift": "Taught entries that solved another's problem",
    "time_to_knowledge_p50": "Hand-over to searchable knowledge, median",
    "human_request_rate": "Asked for a person",
    "self_repeat_rate": "Had to repeat themselves",
    "time_to_first_response_p50": "Time to first response, median",
    "csat": "CSAT (Solved ÷ Solved + Not solved)",
}

# Figures over ended cases: they read high while most cases are still open.
OVER_ENDED = ("task_success", "task_success_confirmed", "first_contact_resolution")
CHARTED = ("task_success", "wrong_answer_rate", "abstention_rate", "first_contact_resolution", "csat")


def target_wrong_rate(settings: Any) -> float:
    """The operator's target wrong rate (``policy.target_wrong_rate``), shown
    beside the measured rate and on the chart."""
    return float(settings.policy.target_wrong_rate)


@dataclass(frozen=True, slots=True)
class Shown:
    name: str
    label: str
    value: str
    basis: str
    note: str
    caveat: str | None


@dataclass(frozen=True, slots=True)
class CaseCounts:
    opened: int
    ended: int

    @property
    def still_open(self) -> int:
        return self.opened - self.ended


def case_counts(card: Scorecard) -> CaseCounts:
    """Cases opened in the period and how many have ended (from the figures' denominators)."""
    opened = card.figures["abstention_rate"].denominator or 0
    ended = card.figures["task_success"].denominator or 0
    return CaseCounts(opened, ended)


def show(fig: Figure, counts: CaseCounts) -> Shown:
    caveat = None
    if fig.name in OVER_ENDED and counts.still_open:
        caveat = (f"covers the {counts.ended} ended cases; {counts.still_open} of {counts.opened} "
                  f"are still open and not counted")
    return Shown(fig.name, LABELS.get(fig.name, fig.name), shown(fig), basis(fig) or "—", fig.note, caveat)


def parse_view(request: Request) -> tuple[View, str]:
    q = request.query_params
    try:
        since = _day(q.get("since"))
        until = _day(q.get("until"))
    except ValueError as exc:
        raise Refused(f"Dates are written like 2026-03-01: {exc}.") from exc
    if until is not None:
        until += timedelta(days=1)  # the "until" day is included
    if since and until and since >= until:
        raise Refused("The period starts after it ends: choose a “from” date before the “to” date.")
    bucket = q.get("bucket") or "week"
    if bucket not in ("day", "week"):
        raise Refused("Charts go by day or by week.")
    return View(space=q.get("space") or None, channel=(q.get("channel") or "").strip() or None,
                since=since, until=until), bucket


def _day(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.strptime(value.strip() + "+0000", "%Y-%m-%d%z").astimezone(UTC)


@page
async def scorecard_page(request: Request, user: User) -> Response:
    console = console_of(request)
    view, bucket = parse_view(request)
    computed = await console.scoreboard.card(view)
    if computed is None:
        return render(request, "scorecard_counting.html", view=view, bucket=bucket, q=request.query_params,
                      query=request.url.query)
    card = computed.card
    counts = case_counts(card)
    sections = [(section, [show(card.figures[name], counts) for name in names])
                for section, names in SECTIONS.items()]
    wrong = card.figures["wrong_answer_rate"]
    return render(request, "scorecard.html", sections=sections, counts=counts, computed=computed,
                  spaces=await console.overview.spaces(), view=view, bucket=bucket,
                  query=request.url.query, wrong=show(wrong, counts),
                  target=target_wrong_rate(console.core.settings), q=request.query_params)


@page
async def charts_fragment(request: Request, user: User) -> Response:
    console = console_of(request)
    view, bucket = parse_view(request)
    points = await console.scoreboard.chart(view, bucket)
    if points is None:
        return render(request, "_charts_counting.html", query=request.url.query)
    target = target_wrong_rate(console.core.settings)
    charts = []
    for name in CHARTED:
        samples = [Sample(_label(p.start, bucket), p.card.figures[name].value,
                          basis(p.card.figures[name]) or "n/a") for p in points]
        title = f"{LABELS[name]}, by {bucket}"
        charts.append({"name": name, "title": title, "samples": samples,
                       "svg": line_chart(f"chart-{name}", title, samples,
                                         target=target if name == "wrong_answer_rate" else None)})
    return render(request, "_charts.html", charts=charts, bucket=bucket, empty=not points)


def _label(start: datetime, bucket: str) -> str:
    return f"{start:%b %d}" if bucket == "day" else f"wk {start:%b %d}"
