"""``journeybot kb``: import, export and look after the knowledge base."""

from __future__ import annotations

import asyncio
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
                           docs: dict[str, Any] | None = None, author: str = "import",
                           progress: Any = None, adapt: bool = False) -> Any:
    """Import a knowledge file as a stream (any size, bounded memory), or
    Markdown/MDX docs (a page or a folder; ``docs`` holds the docs options
    ``base_url``, ``root``, ``site``), with progress on a terminal and, off
    one, a line every few seconds: the code behind ``journeybot kb import`` and
    the web console's upload (``progress`` hears each ``FileProgress`` of a
    knowledge file instead of the terminal). With ``adapt``, docs that changed
    then teach the model their own words (minutes on a large folder: only
    where nothing waits to be answered, as in ``kb import``)."""
    from datetime import UTC, datetime

    from bot.cli.progress import ImportProgress
    from knowledge.docs import is_docs
    from knowledge.importer import import_file

    log = logging.getLogger("journeybot.kb")
    policy = core.settings.policy
    docs_folder = await asyncio.to_thread(lambda: path.exists() and is_docs(path))
    with ImportProgress(path.name, quiet=quiet or progress is not None) as shown:
        if docs_folder:
            report = await _import_docs(core, path, space=space, docs=docs or {}, progress=shown, author=author)
            if adapt and (report.created or report.versioned or report.retired):
                await _adapt_to_docs(core, shown)
        else:
            report = await import_file(
                core.kb, path, space=space, author=author, at=datetime.now(UTC), progress=progress or shown,
                conflict_threshold=policy.conflict_threshold,
                conflict_answer_gap=policy.conflict_answer_gap)
    for problem in report.problems:
        log.warning("skipped %s", problem)
    log.info("%s: %d new, %d new versions, %d unchanged, %d retired, %d skipped, %d conflicts flagged",
             path.name, len(report.created), len(report.versioned), len(report.unchanged),
             len(report.retired), len(report.problems), len(report.conflicts))
    return report


async def _import_docs(core: Any, path: Path, *, space: str | None, docs: dict[str, Any],
                       progress: Any, author: str) -> Any:
    """A docs folder (or page) as a whole: every section read first, so the
    sections it no longer has are retired."""
    from datetime import UTC, datetime

    from knowledge.docs import read_docs
    from knowledge.importer import import_drafts

    parsed, source = await asyncio.to_thread(lambda: read_docs(path, space=space, **docs))
    if source.base_url is None and parsed.drafts:
        logging.getLogger("journeybot.kb").warning(
            "no --base-url: answers from %s name their section but cannot link to it", path)
    _without_sections(parsed.drafts, source)
    await _named_elsewhere(core, set(source.files))
    policy = core.settings.policy
    report = await import_drafts(
        core.kb, parsed.drafts, author=author, at=datetime.now(UTC),
        progress=lambda done, total: progress.step("embedding questions and passages", done, total),
        conflict_threshold=policy.conflict_threshold, conflict_answer_gap=policy.conflict_answer_gap,
        replaces=source.covers)
    report.problems[:0] = list(parsed.problems)
    return report


def _without_sections(drafts: Any, source: Any) -> None:
    """Name the pages of a docs folder that gave no sections (a lone page says so itself;
    a partial, ``_name.md``, is inlined where other pages use it)."""
    cited = {(d.section or "").split("#", 1)[0] for d in drafts}
    empty = [f for f in source.files if f not in cited and not f.rsplit("/", 1)[-1].startswith("_")]
    if empty and not source.prefix.lower().endswith((".md", ".mdx")):
        more = f" and {len(empty) - 10} more" if len(empty) > 10 else ""
        typer.echo(f"{len(empty)} page(s) gave no sections (no headings: each heading and the text under it "
                   f"becomes an entry): {', '.join(empty[:10])}{more}", err=True)


async def _named_elsewhere(core: Any, files: set[str]) -> None:
    """Say when these pages were imported before under another folder's name (`kb import docs/guide`
    after `kb import docs`): their sections would be added beside the old ones, not update them."""
    before = {(e.section or "").split("#", 1)[0] for e in await core.kb.store.entries() if e.section} - files
    twice = sorted(old for old in before for new in files
                   if old.endswith("/" + new) or new.endswith("/" + old))
    if twice:
        typer.echo(f"{len(twice)} of these pages were imported before under another folder's name "
                   f"(e.g. {twice[0]}): their sections are added beside the old ones. Import the same folder "
                   "as before, or pass --root to name the files as before, so they update instead.", err=True)


async def _adapt_to_docs(core: Any, progress: Any) -> None:
    """Docs that changed teach the model their own words (``learning.docs``)."""
    from datetime import UTC, datetime

    from learning.docs import DocsAdaptConfig, adapt_to_docs

    learning = core.settings.learning
    if core.learner is None or not learning.adapt or not learning.docs_steps:
        return
    progress.step("adapting the model to the docs", 0, 1)
    config = DocsAdaptConfig(steps=learning.docs_steps, threads=learning.threads)
    try:
        adapted = await adapt_to_docs(core.learner, datetime.now(UTC), core.adopt, config)
    except Exception as exc:  # the docs are in; the model it had keeps answering
        logging.getLogger("journeybot.kb").warning("adapting the model to the docs failed: %s", exc, exc_info=True)
        typer.echo(f"the docs are imported, but adapting the model to them failed ({exc}); the bot answers "
                   "with the model it had. `journeybot kb import` again tries once more.", err=True)
        return
    progress.step("adapting the model to the docs", 1, 1)
    if adapted is None:
        typer.echo(f"the model was not adapted to the docs: fewer than {config.min_sections} sections to "
                   "learn from; the bot answers with the model it had", err=True)
    else:
        logging.getLogger("journeybot.kb").info(
            "model v%d adapted to %d docs sections in %.1f s", adapted.version, adapted.sections, adapted.seconds)


@kb_app.command("import")
def kb_import(
    file: Annotated[Path, typer.Argument(help="a knowledge file (.yaml, .jsonl), a Markdown/MDX page or docs folder, or a Slack/Discord export")],
    space: Annotated[str | None, typer.Option("--space", help="space for entries that name none")] = None,
    staff: Annotated[list[str] | None, typer.Option(
        "--staff", help="exports: a staff member's user id (or name); repeat for each")] = None,
    staff_role: Annotated[list[str] | None, typer.Option(
        "--staff-role", help="exports: a role whose members are staff (Discord role; Slack: admin, owner)")] = None,
    workspace_url: Annotated[str | None, typer.Option(
        "--workspace-url", help="Slack exports: e.g. https://acme.slack.com, to link each entry to its thread")] = None,
    channel: Annotated[list[str] | None, typer.Option(
        "--channel", help="exports: import only this channel; repeat for each (default: every public one)")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="docs: where the site is published, e.g. https://docs.example.org/ "
                           "(answers link to the section there)")] = None,
    root: Annotated[Path | None, typer.Option(
        "--root", help="docs: name files relative to this folder (default: the imported folder's "
                       "parent, so importing project/docs/ names docs/setup.md)")] = None,
    site: Annotated[str | None, typer.Option(
        "--site", help="docs: mkdocs, docusaurus or github (default: detected from the folder)")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import a knowledge file (YAML, JSON lines; broken entries are skipped and named), Markdown/MDX
    docs (a page or a folder: a section that is gone from the folder stops answering, its history
    stays), or past threads from a Slack export (folder or .zip) or a DiscordChatExporter JSON
    export (staff-answered threads become pending entries for `kb review`)."""
    setup_logging()
    # A bulk import embeds in batches: every core helps (the bot itself uses one).
    settings = settings_for(config, db, embed_threads=os.cpu_count() or 1)
    from knowledge.threads.source import export_kind

    if export_kind(file) is not None:
        from bot.cli.threads import import_export

        import_export(settings, file, space=space, staff=staff or [], staff_roles=staff_role or [],
                      workspace_url=workspace_url, channels=channel or [])
        return
    docs = {"base_url": base_url, "root": root, "site": site}
    report = with_core(settings, lambda core: import_knowledge(core, file, space=space, quiet=False,
                                                               docs=docs, adapt=True))
    retired = f"{len(report.retired)} retired, " if report.retired else ""
    typer.echo(f"{file}: {len(report.created)} new, {len(report.versioned)} new versions, "
               f"{len(report.unchanged)} unchanged, {retired}{len(report.problems)} skipped")
    if not report.problems and not report.imported and not report.unchanged:
        typer.echo(f"{file.name}: nothing to import (no entries in it)")
    for problem in report.problems:
        typer.echo(f"  skipped {problem}")
    for a, b in report.conflicts:
        typer.echo(f"  conflict: {a} and {b} answer the same question differently")
    for entry_id in report.kept:
        moved = " (the docs changed since: see `kb show`)" if entry_id in report.outdated else ""
        typer.echo(f"  kept {entry_id} as staff corrected or retired it{moved}")
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
        return dump(await store.entries(space=space), kind)

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
    from rich.table import Column, Table

    settings = settings_for(config, db)

    async def body(store: Any) -> Any:
        return await store.entries(space=space, status=None if status == "all" else status)

    entries = with_store(settings, body)
    today = datetime.now(UTC)
    rows = [(e.id, e.space, str(e.version), e.status, e.title, ",".join(e.tags),
             (e.review_after.isoformat() if e.review_after else "") + (" (stale)" if e.is_stale(today) else ""),
             e.origin or "") for e in entries]
    console = Console()
    if console.is_terminal:
        # Ids are what people copy into the next command: never cut, never wrapped.
        table = Table("space", "v", "status", "question", "tags", "review after", "origin")
        table.columns.insert(0, Column("id", no_wrap=True, min_width=max((len(r[0]) for r in rows), default=2)))
        for row in rows:
            table.add_row(*row[:4], row[4][:60], *row[5:])
        console.print(table)
    else:  # piped: one tab-separated line per entry, nothing cut
        typer.echo("\t".join(("id", "space", "version", "status", "question", "tags", "review_after", "origin")))
        for row in rows:
            typer.echo("\t".join(row))
    typer.echo(f"{len(entries)} entries", err=True)


@kb_app.command("show")
def kb_show(
    entry_id: Annotated[str, typer.Argument(help="an entry id, or a docs section as answers cite it")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """One entry with its full version history and provenance."""
    import json

    settings = settings_for(config, db)

    async def body(store: Any) -> Any:
        entry = await store.get(entry_id)
        if entry is None:  # a docs section as answers cite it: `<file>#<heading path>`
            entry = next((e for e in await store.entries(status=None) if e.section == entry_id), None)
        return entry, await store.history(entry.id if entry is not None else entry_id)

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
    by: Annotated[str | None, typer.Option("--by", help="who retires it (kept in the log; default: your login)")] = None,
    space: Annotated[str, typer.Option("--space")] = "default",
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Stop answering from an entry; its history stays (same as `kb review retire`)."""
    from bot.cli.review import run_one

    setup_logging()
    run_one("retire", entry_id, by=by, space=space, db=db, config=config)
