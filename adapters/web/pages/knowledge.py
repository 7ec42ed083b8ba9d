"""Knowledge pages: search and list, an entry with its history and a diff
between versions, the review queues, and importing a file by upload."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from adapters.web.access import User
from adapters.web.http import Refused, change, console_of, page, render
from adapters.web.imports import check_upload
from bot.overview import Entry, NotKnowledge

PAGE = 50
STATUSES = ("live", "pending", "retired", "all")


@dataclass(frozen=True, slots=True)
class Row:
    entry: Entry
    stale: bool
    answered: int | None  # None while the first count runs


def source_of(entry: Entry) -> str:
    how = {"import": "imported", "staff": "taught by staff", "correction": "corrected by staff"}.get(
        entry.origin, entry.origin)
    return f"{how}" + (f" ({entry.author})" if entry.author else "")


@page
async def knowledge_page(request: Request, user: User) -> Response:
    console = console_of(request)
    q = request.query_params
    text = (q.get("q") or "").strip()[:200]
    status = q.get("status") or "live"
    if status not in STATUSES:
        raise Refused(f"Status is one of {', '.join(STATUSES)}.")
    try:
        number = max(1, int(q.get("page") or 1))
    except ValueError as exc:
        raise Refused("The page number must be a whole number.") from exc
    stale_only = q.get("stale") == "1"
    now = datetime.now(UTC)
    overview = console.overview
    entries, total = await overview.find(text=text, space=q.get("space") or None,
                                         status=None if status == "all" or stale_only else status,
                                         stale_on=now.date() if stale_only else None,
                                         limit=PAGE, offset=(number - 1) * PAGE)
    answered = await console.scoreboard.answers()
    rows = [Row(e, e.status == "live" and e.is_stale(now), None if answered is None else answered.get(e.id, 0))
            for e in entries]
    return render(request, "knowledge.html", rows=rows, total=total, number=number,
                  pages=max(1, -(-total // PAGE)), q=q, text=text, status=status, stale_only=stale_only,
                  spaces=await overview.spaces(), source_of=source_of)


@page
async def entry_page(request: Request, user: User) -> Response:
    console = console_of(request)
    entry_id = request.path_params["entry_id"]
    overview = console.overview
    entry = await overview.entry(entry_id)
    if entry is None:
        raise Refused(f"There is no knowledge entry “{entry_id}”. Search for it on the Knowledge page.", 404)
    history = await overview.history(entry_id)
    versions = [h["version"] for h in history]
    try:
        b = int(request.query_params.get("b") or (versions[-1] if versions else entry.version))
        a = int(request.query_params.get("a") or (versions[-2] if len(versions) > 1 else b))
    except ValueError as exc:
        raise Refused("Versions are whole numbers.") from exc
    by_version = {h["version"]: h for h in history}
    if a not in by_version or b not in by_version:
        raise Refused(f"{entry_id} has versions {', '.join(map(str, versions))}; there is no version "
                      f"{a if a not in by_version else b}.", 404)
    diff = version_diff(by_version[a], by_version[b])
    conflicts = [pair for pair in await overview.open_conflicts() if entry_id in pair]
    counts = await console.scoreboard.answers()
    answered = None if counts is None else counts.get(entry_id, 0)
    return render(request, "entry.html", entry=entry, history=history, a=a, b=b, diff=diff,
                  versions=versions, conflicts=conflicts, answered=answered, source_of=source_of,
                  stale=entry.status == "live" and entry.is_stale(datetime.now(UTC)))


def snapshot_lines(snap: dict[str, Any]) -> list[str]:
    """A version as lines a diff can compare: one question per line, the answer by sentence."""
    lines = [f"status: {snap.get('status')}"]
    lines += [f"question: {q}" for q in snap.get("questions") or []]
    answer = str(snap.get("answer") or "")
    lines += [f"answer: {part}" for part in answer.replace(". ", ".\n").splitlines()]
    lines += [f"tags: {', '.join(snap.get('tags') or [])}", f"url: {snap.get('url') or ''}",
              f"review after: {snap.get('review_after') or ''}"]
    return lines


def version_diff(old: dict[str, Any], new: dict[str, Any]) -> list[tuple[str, str]]:
    """(kind, line) with kind ``same``, ``added`` or ``removed``."""
    out: list[tuple[str, str]] = []
    for line in difflib.ndiff(snapshot_lines(old), snapshot_lines(new)):
        tag, text = line[:2], line[2:]
        if tag == "? ":
            continue
        out.append(({"+ ": "added", "- ": "removed"}.get(tag, "same"), text))
    return out


@page
async def import_page(request: Request, user: User) -> Response:
    console = console_of(request)
    jobs = list(reversed(console.imports.jobs.values()))
    return render(request, "import.html", jobs=jobs, spaces=await console.overview.spaces())


@change("admin", "staff")
async def import_upload(request: Request, user: User, form: FormData) -> Response:
    console = console_of(request)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Refused("Choose a knowledge file to upload (.yaml, .jsonl, .json or .md).")
    data = await upload.read()
    space = str(form.get("space") or "").strip() or None
    try:
        path, count = check_upload(upload.filename, data, space=space)
    except NotKnowledge as exc:
        raise Refused(str(exc), 400) from exc
    job = console.imports.start(path, name=upload.filename, entries=count, space=space, by=user.core_id)
    if request.headers.get("hx-request"):
        return render(request, "_import_job.html", job=job)
    return RedirectResponse(f"/knowledge/import/{job.id}", status_code=303)


@page
async def import_job(request: Request, user: User) -> Response:
    console = console_of(request)
    job = console.imports.jobs.get(request.path_params["job"])
    if job is None:
        raise Refused("No such import here (the console keeps the last 20 until it restarts).", 404)
    if request.headers.get("hx-request"):
        return render(request, "_import_job.html", job=job)
    return render(request, "import_job.html", job=job)
