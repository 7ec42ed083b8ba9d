"""Cases: the open queue, a case's whole story (the audit trail in a page)
with its export, and taking a case."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from adapters.web.access import User
from adapters.web.commands import run_command
from adapters.web.http import Refused, change, console_of, flash, page, render
from bot.overview import Case, Story

PAGE = 25
LABELS = {"event": "event", "case": "case", "decision": "decision", "action": "action", "learn": "learned",
          "knowledge": "knowledge", "card": "card", "generation": "LLM", "promise_blocked": "held back",
          "llm_redactions": "redacted"}


def age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // 1440} d"


@page
async def cases_page(request: Request, user: User) -> Response:
    console = console_of(request)
    q = request.query_params
    status = q.get("status") or "waiting"
    if status not in ("waiting", "open"):
        raise Refused("Show “waiting” (for staff) or all “open” cases.")
    try:
        number = max(1, int(q.get("page") or 1))
    except ValueError as exc:
        raise Refused("The page number must be a whole number.") from exc
    rows, total = await console.overview.queue(status, space=q.get("space") or None, limit=PAGE,
                                               offset=(number - 1) * PAGE, now=datetime.now(UTC))
    return render(request, "cases.html", rows=rows, total=total, number=number, status=status,
                  pages=max(1, -(-total // PAGE)), sla_minutes=console.core.settings.policy.owner_sla_minutes,
                  age_text=age_text, q=q, spaces=await console.overview.spaces(),
                  reachable=console.config.platforms)


async def _story(console: Any, space: str, key: str) -> Story:
    found = await console.overview.story(space, key)
    if found is None:
        raise Refused(f"There is no case “{key}” in space “{space}”.", 404)
    return found  # type: ignore[no-any-return]


@page
async def case_page(request: Request, user: User) -> Response:
    console = console_of(request)
    space, key = request.path_params["space"], request.path_params["key"]
    found = await _story(console, space, key)
    case = await console.overview.case(space, key)
    records = [(r, LABELS.get(r.kind, r.kind), console.overview.describe(r)) for r in found.records]
    broken = [r.seq for r in found.records if not r.sealed]
    models = sorted({str(r.body["model"]) for r in found.records if r.kind in ("decision", "generation")
                     and r.body.get("model")})
    return render(request, "case.html", story=found, case=case, records=records, broken=broken,
                  models=models, space=space, key=key, away=elsewhere(console, case) if case else None,
                  suggestion=console.overview.suggestion(case) if case else None)


@page
async def case_export(request: Request, user: User) -> Response:
    console = console_of(request)
    space, key = request.path_params["space"], request.path_params["key"]
    found = await _story(console, space, key)
    out = io.StringIO()
    console.overview.export(found, out)
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)[:80]
    return Response(out.getvalue(), media_type="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="case-{safe}.jsonl"'})


def elsewhere(console: Any, case: Case) -> str | None:
    """Why this console cannot act on ``case``: its card and thread are on a
    platform with no adapter in this process (``None`` when it can)."""
    platform = case.address.platform
    if platform in console.config.platforms:
        return None
    return (f"This case was asked on {platform}, which this console is not connected to: its thread and its "
            f"card there could not be updated from here, so nothing was done. Answer it on {platform}, or serve "
            "the console from the bot that runs on it (journeybot run --web …).")


async def _case_command(request: Request, user: User, form: FormData, name: str,
                        args: str | None = None) -> tuple[str, str]:
    """Send ``name`` about the case in the path, if the form is still what is stored."""
    console = console_of(request)
    space, key = request.path_params["space"], request.path_params["key"]
    overview = console.overview
    case = await overview.case(space, key)
    if case is None:
        raise Refused(f"There is no case “{key}” in space “{space}”.", 404)
    away = elsewhere(console, case)
    if away:
        raise Refused(away, 409)
    seen = str(form.get("updated_at") or "")

    async def stale() -> str | None:
        now = await overview.case(space, key)
        if now is None or now.updated_at.isoformat() != seen:
            return ("This case changed since you loaded the page (someone answered, took or moved it), "
                    "so nothing was done. Look at it again and decide.")
        return None

    async def moved() -> bool:
        now: Case | None = await overview.case(space, key)
        return bool(now != case)

    outcome = await run_command(console, user, name=name, space=space, about=key, args=args, guard=stale,
                                moved=moved)
    if not outcome.ok:
        raise Refused(outcome.message, outcome.status)
    return key, outcome.message


@change("admin", "staff")
async def case_claim(request: Request, user: User, form: FormData) -> Response:
    """"I'll take it" from the queue: a ``claim`` command to the core, as on a card."""
    key, message = await _case_command(request, user, form, "claim")
    flash(request, f"You took case {key}. {message}")
    return RedirectResponse(f"/cases/{request.path_params['space']}/{key}", status_code=303)


@change("admin", "staff")
async def case_send(request: Request, user: User, form: FormData) -> Response:
    """"Send the suggested answer" from a case's page: ``send_suggested`` to the
    core, as on its card; the asker's thread and the card are on the case's platform."""
    entry = str(form.get("entry") or "").strip()
    if not entry:
        raise Refused("Name the suggested answer to send (reload the case).")
    key, message = await _case_command(request, user, form, "send_suggested", args=entry)
    flash(request, f"Sent {entry} as the answer to case {key}. {message}".strip())
    return RedirectResponse(f"/cases/{request.path_params['space']}/{key}", status_code=303)
