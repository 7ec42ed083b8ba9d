"""The review queues, live: approve, edit or reject what waits (private
threads, imported past threads), settle open conflicts, renew or retire stale
entries.

Each button posts a form naming the entry and the version it was shown at;
the page checks what only it can know (the person's role, whether the entry
moved on since the form was made) and sends the core's own review command
(``bot.flows.review``) through ``run_command``, as ``journeybot kb review``
or a chat platform would. The core checks everything again, records the
change with who made it, and its answer is the outcome shown. Text a person
types (an edit, a reason) is redacted before it is sent: the stored event
never holds a pasted secret.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from adapters.web.access import User
from adapters.web.commands import run_command
from adapters.web.http import Refused, change, console_of, flash, page, render
from bot.overview import Entry
from bot.trust.redact import redact

PAGE = 50
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def source_of(entry: Entry) -> str:
    where = entry.provenance or {}
    if where.get("platform"):
        said = " ".join(str(where[k]) for k in ("platform", "channel", "date") if where.get(k))
        return f"past thread, {said}" + (f", answered by {where['answered_by']}" if where.get("answered_by") else "")
    how = {"import": "imported", "staff": "taught by staff", "correction": "corrected by staff"}.get(
        entry.origin, entry.origin)
    return how + (f" ({entry.author})" if entry.author else "")


@page
async def review_page(request: Request, user: User) -> Response:
    overview = console_of(request).overview
    pending, pending_total = await overview.find(status="pending", limit=PAGE)
    stale, stale_total = await overview.find(stale_on=datetime.now(UTC).date(), limit=PAGE)
    every = await overview.open_conflicts()
    pairs = every[:PAGE]
    both = await overview.many([i for pair in pairs for i in pair])
    conflicts = [(both[a], both[b]) for a, b in pairs if a in both and b in both]
    return render(request, "review.html", pending=pending, pending_total=pending_total, stale=stale,
                  stale_total=stale_total, conflicts=conflicts, conflicts_total=len(every), source_of=source_of,
                  can_change=user.role in ("admin", "staff"))


def scrub(text: str) -> str:
    """What a person typed, redacted before it leaves the console (as ``kb review`` does)."""
    return redact(text.strip()).text


async def shown(request: Request, form: FormData, field: str = "entry") -> Entry:
    """The entry a form names, as it is now; refused if there is none."""
    entry_id = str(form.get(field) or "").strip()
    entry: Entry | None = await console_of(request).overview.entry(entry_id) if entry_id else None
    if entry is None:
        raise Refused(f"There is no knowledge entry “{entry_id}”: it may have been removed. Reload the queue.", 404)
    return entry


def version_of(form: FormData, field: str = "version") -> int:
    try:
        return int(str(form.get(field) or ""))
    except ValueError as exc:
        raise Refused("This form does not say which version it was made from; reload the queue.") from exc


def still(request: Request, entries: list[tuple[Entry, int]]) -> Callable[[], Awaitable[str | None]]:
    """A guard for ``run_command``: why the form is stale, if an entry moved on since it was made."""

    async def check() -> str | None:
        for seen, version in entries:
            now = await console_of(request).overview.entry(seen.id)
            if now is None or now.version != version:
                state = "gone" if now is None else f"now version {now.version}, {now.status}"
                return (f"{seen.id} changed since you loaded the page ({state}), so nothing was done. "
                        "Look at it again and decide.")
        return None

    return check


@change("admin", "staff")
async def review_post(request: Request, user: User, form: FormData) -> Response:
    """One review action from the queue (``action`` in the form)."""
    action = str(form.get("action") or "")
    build = ACTIONS.get(action)
    if build is None:
        raise Refused(f"The review queue has no action “{action}”.")
    entry = await shown(request, form)
    name, args, involved = await build(request, form, entry)
    outcome = await run_command(console_of(request), user, name=name, space=entry.space, args=args,
                                guard=still(request, involved))
    if not outcome.ok:
        raise Refused(outcome.message, outcome.status)
    flash(request, outcome.message)
    return RedirectResponse("/knowledge/review", status_code=303)


Built = tuple[str, str, list[tuple[Entry, int]]]  # command, its args, the entries it changes (and versions seen)


async def approve(request: Request, form: FormData, entry: Entry) -> Built:
    version = version_of(form)
    return "approve", shlex.quote(f"{entry.id}@{version}"), [(entry, version)]


async def reject(request: Request, form: FormData, entry: Entry) -> Built:
    version = version_of(form)
    why = scrub(str(form.get("why") or ""))
    if len(why) < 3:
        raise Refused("Say why it is rejected (a few words): the reason is kept with the entry's history.")
    return "reject", shlex.join([f"{entry.id}@{version}", *why.split()]), [(entry, version)]


async def edit(request: Request, form: FormData, entry: Entry) -> Built:
    version = version_of(form)
    questions = [scrub(line) for line in str(form.get("questions") or "").splitlines() if line.strip()]
    answer = scrub(str(form.get("answer") or "").replace("\r\n", "\n"))
    if not questions or not answer:
        raise Refused("An edit keeps at least one way to ask it and an answer.")
    change = {"entry": entry.id, "version": version, "questions": questions, "answer": answer,
              "approve": form.get("approve") == "yes"}
    return "edit", json.dumps(change, ensure_ascii=False), [(entry, version)]


async def settle(request: Request, form: FormData, entry: Entry) -> Built:
    other = await shown(request, form, "other")
    version, other_version = version_of(form), version_of(form, "other_version")
    how = str(form.get("how") or "")
    keep = {"keep": f"keep={entry.id}", "keep_other": f"keep={other.id}", "both": "both"}.get(how)
    if keep is None:
        raise Refused("Settle a conflict by keeping one entry or marking both right.")
    args = shlex.join([f"{entry.id}@{version}", f"{other.id}@{other_version}", keep])
    return "settle", args, [(entry, version), (other, other_version)]


async def renew(request: Request, form: FormData, entry: Entry) -> Built:
    version = version_of(form)
    until = str(form.get("until") or "").strip()
    if until and not DATE.fullmatch(until):
        raise Refused("Write the new review date as YYYY-MM-DD, or leave it empty for the default.")
    return "renew", shlex.join([f"{entry.id}@{version}", *([until] if until else [])]), [(entry, version)]


async def retire(request: Request, form: FormData, entry: Entry) -> Built:
    version = version_of(form)
    why = scrub(str(form.get("why") or ""))
    return "retire", shlex.join([f"{entry.id}@{version}", *why.split()]), [(entry, version)]


ACTIONS: dict[str, Callable[[Request, FormData, Entry], Awaitable[Built]]] = {
    "approve": approve, "reject": reject, "edit": edit, "settle": settle, "renew": renew, "retire": retire,
}
