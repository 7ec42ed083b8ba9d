"""``journeybot kb``: import, export and look after the knowledge base."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import (
    ConfigOption,
    DbOption,
    fail,
    kb_app,
    settings_for,
    setup_logging,
    with_core,
    with_store,
)

# -- knowledge -------------------------------------------------------------------------


async def import_knowledge(core: Any, path: Path, *, space: str | None, quiet: bool,
                           author: str = "import", progress: Any = None) -> Any:
    """Import one knowledge file: the code behind ``journeybot kb import`` and the
    web console's upload. ``progress(done, total)`` hears how the embedding goes."""
    from datetime import UTC, datetime

    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    from knowledge.files import read_file
    from knowledge.importer import import_drafts

    parsed = read_file(path, space=space)
    log = logging.getLogger("journeybot.kb")
    for problem in parsed.problems:
        log.warning("skipped %s", problem)
    policy = core.settings.policy
    show = not quiet and len(parsed.drafts) >= 200 and sys.stderr.isatty()
    bar = Progress(TextColumn("embedding questions"), BarColumn(), TaskProgressColumn(),
                   TimeRemainingColumn(), transient=True, disable=not show)
    with bar:
        task = bar.add_task("embed", total=None)
        report = await import_drafts(
            core.kb, parsed.drafts, author=author, at=datetime.now(UTC),
            progress=progress or (lambda done, total: bar.update(task, completed=done, total=total)),
            conflict_threshold=policy.conflict_threshold, conflict_answer_gap=policy.conflict_answer_gap)
    report.problems[:0] = list(parsed.problems)
    log.info("%s: %d new, %d new versions, %d unchanged, %d skipped, %d conflicts flagged",
             path.name, len(report.created), len(report.versioned), len(report.unchanged),
             len(report.problems), len(report.conflicts))
    return report


@kb_app.command("import")
def kb_import(
    file: Path,
    space: Annotated[str | None, typer.Option("--space", help="space for entries that name none")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import a knowledge file (YAML, JSON lines or Markdown); broken entries are skipped and named."""
    setup_logging()
    # A bulk import embeds in batches: every core helps (the bot itself uses one).
    settings = settings_for(config, db, embed_threads=os.cpu_count() or 1)
    report = with_core(settings, lambda core: import_knowledge(core, file, space=space, quiet=False))
    typer.echo(f"{file}: {len(report.created)} new, {len(report.versioned)} new versions, "
               f"{len(report.unchanged)} unchanged, {len(report.problems)} skipped")
    for problem in report.problems:
        typer.echo(f"  skipped {problem}")
    for a, b in report.conflicts:
        typer.echo(f"  conflict: {a} and {b} answer the same question differently")
    if report.problems and not report.imported and not report.unchanged:
        raise typer.Exit(1)



@kb_app.command("export")
def kb_export(
    file: Annotated[str, typer.Argument(help="output file (.yaml or .jsonl), or - for standard output")] = "-",
    fmt: Annotated[str | None, typer.Option("--format", help="yaml or jsonl (default: from the file name)")] = None,
    space: Annotated[str | None, typer.Option("--space")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Write the current version of every live entry (import reads it back unchanged)."""
    from knowledge.files import dump

    settings = settings_for(config, db)
    kind = fmt or ("jsonl" if file.endswith((".jsonl", ".ndjson")) else "yaml")

    async def body(store: Any) -> str:
        return dump(await store.list(space=space), kind)

    text = with_store(settings, body)
    if file == "-":
        sys.stdout.write(text)
    else:
        Path(file).write_text(text, encoding="utf-8")
        typer.echo(f"wrote {file}", err=True)


@kb_app.command("list")
def kb_list(
    space: Annotated[str | None, typer.Option("--space")] = None,
    status: Annotated[str, typer.Option("--status", help="live, pending, retired or all")] = "live",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """List entries with their version, status and freshness."""
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    settings = settings_for(config, db)

    async def body(store: Any) -> Any:
        return await store.list(space=space, status=None if status == "all" else status)

    entries = with_store(settings, body)
    table = Table("id", "space", "v", "status", "question", "tags", "review after", "origin")
    today = datetime.now(UTC)
    for e in entries:
        review = e.review_after.isoformat() if e.review_after else ""
        if e.is_stale(today):
            review += " (stale)"
        table.add_row(e.id, e.space, str(e.version), e.status, e.title[:60], ",".join(e.tags), review, e.origin)
    Console().print(table)
    typer.echo(f"{len(entries)} entries", err=True)


@kb_app.command("show")
def kb_show(entry_id: str, db: DbOption = None, config: ConfigOption = None) -> None:
    """One entry with its full version history and provenance."""
    import json

    settings = settings_for(config, db)

    async def body(store: Any) -> Any:
        return await store.get(entry_id), await store.history(entry_id)

    entry, history = with_store(settings, body)
    if entry is None:
        fail(f"no entry {entry_id!r}", 1)
    from knowledge.files import entry_to_item

    typer.echo(json.dumps(entry_to_item(entry), indent=2, ensure_ascii=False))
    typer.echo("history:")
    for snap in history:
        typer.echo(f"  v{snap['version']} {snap['status']} by {snap.get('author')} at {snap.get('updated_at')}"
                   f" ({snap.get('origin')}{', case ' + snap['source_case'] if snap.get('source_case') else ''}):"
                   f" {snap['answer'][:80]!r}")


@kb_app.command("retire")
def kb_retire(
    entry_id: str,
    by: Annotated[str, typer.Option("--by", help="who retires it (kept in its history)")] = "operator",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stop answering from an entry; its history stays."""
    from datetime import UTC, datetime

    setup_logging()
    settings = settings_for(config, db)

    async def retire(core: Any) -> Any:
        entry = await core.kb.get(entry_id)
        return None if entry is None else await core.kb.retire(entry, by=by, at=datetime.now(UTC))

    retired = with_core(settings, retire)
    if retired is None:
        fail(f"no entry {entry_id!r}", 1)
    typer.echo(f"retired {entry_id} (version {retired.version}); its history is kept")
