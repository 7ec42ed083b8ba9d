"""``journeybot kb import`` of a past-threads export (Slack or Discord).

The export is read and checked before the store is opened (a malformed file
stops here, with its name and line, and nothing is written), then its
threads that staff answered are stored as pending entries in one
transaction, for staff to review with ``journeybot kb review``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from bot.cli.common import fail, with_core
from bot.cli.progress import ImportProgress


def import_export(settings: Any, path: Path, *, space: str | None, staff: list[str], staff_roles: list[str],
                  workspace_url: str | None, channels: list[str]) -> None:
    """Read ``path`` (an export), store its staff-answered threads as pending entries, say what happened."""
    from bot.trust.redact import redact
    from knowledge.threads.importer import import_threads, read_export
    from knowledge.threads.model import Staff
    from knowledge.threads.source import ExportError

    config = settings.past_threads
    who = Staff.named([*config.staff, *staff], [*config.staff_roles, *staff_roles])
    if not who:
        fail("name the staff whose answers count: --staff <user id or name> (or --staff-role <role>), "
             "or past_threads.staff in the settings file")
    url = workspace_url or config.slack_workspace_url
    if url and not url.startswith(("http://", "https://")):
        url = f"https://{url}"
    with ImportProgress(path.name) as progress:
        try:
            reading = read_export(path, staff=who, redact=lambda text: redact(text).text,
                                  space=space or "default", workspace_url=url,
                                  channels=channels or config.channels,
                                  progress=lambda stage, done, total: progress.step(stage, done, total))
        except ExportError as exc:
            fail(f"{exc}; nothing was imported")

        async def store(core: Any) -> Any:
            return await import_threads(
                core.kb, reading.drafts, author="import", at=datetime.now(UTC),
                progress=lambda stage, done, total: progress.step(stage, done, total))

        report = with_core(settings, store)
    kind = {"slack": "Slack", "discord": "Discord"}[reading.kind]
    typer.echo(f"{path.name} ({kind} export): {reading.threads:,} conversations, {len(reading.drafts):,} "
               f"answered by staff: {len(report.created):,} new pending entries, {len(report.versioned):,} "
               f"updated, {len(report.unchanged):,} unchanged")
    for line in reading.passed_over.lines():
        typer.echo(f"  passed over: {line}")
    for problem in report.problems:
        typer.echo(f"  skipped {problem}")
    if not reading.staff_seen:
        typer.echo(f"  warning: none of the staff you named ({', '.join(sorted(who.ids | who.roles))}) wrote in "
                   "this export: check the user ids, names or roles", err=True)
    if report.created or report.versioned:
        typer.echo("They answer no one until staff approve them: journeybot kb review")
