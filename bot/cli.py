"""The ``journeybot`` command line.

Heavy imports (torch, faiss, platform SDKs) happen inside commands, so
``journeybot --help`` is instant. Logs go to standard error; only a
command's own output goes to standard output.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="journeybot: a community-support bot judged by the asker's whole journey.")
kb_app = typer.Typer(no_args_is_help=True, help="Import, export and look after the knowledge base.")
app.add_typer(kb_app, name="kb")
run_app = typer.Typer(no_args_is_help=True, help="Run the bot on a platform (see the README to connect one).")
app.add_typer(run_app, name="run")

T = TypeVar("T")

DbOption = Annotated[str | None, typer.Option("--db", help="the SQLite store (default: settings, journeybot.db)")]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="a YAML settings file")]
SpaceOption = Annotated[str, typer.Option("--space", help="workspace / guild")]


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "faiss", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"journeybot: {message}", err=True)
    raise typer.Exit(code)


def run(coro: Awaitable[T]) -> T:
    """Run a command's coroutine; turn known start-up failures into one clear line."""
    from pydantic import ValidationError

    from bot.storage.database import StoreError
    from knowledge.embedder import ModelMissing
    from knowledge.files import KnowledgeFileError

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except (ModelMissing, StoreError, KnowledgeFileError) as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(f"invalid settings: {exc}")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    raise AssertionError("unreachable")


def settings_for(config: Path | None, db: str | None, **overrides: Any) -> Any:
    from bot.settings import load_settings

    if config is not None and not config.exists():
        fail(f"no settings file at {config}")
    if db is not None:
        overrides["db"] = db
    return load_settings(config, **overrides)


async def open_core(settings: Any) -> Any:
    from bot.core import Core

    return await Core.open(settings)


# -- replay --------------------------------------------------------------------------


@app.command()
def replay(
    file: Annotated[str, typer.Argument(help="JSON lines of events, or - for standard input")] = "-",
    kb: Annotated[list[Path] | None, typer.Option("--kb", help="import a knowledge file first (may repeat)")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Drive the bot with JSON lines of events; print its actions as JSON lines."""
    setup_logging(verbose)
    settings = settings_for(config, db if db is not None else ":memory:")
    if file != "-" and not Path(file).exists():
        fail(f"no such file: {file}")
    run(_replay(settings, file, kb or []))


def load_adapter(name: str) -> Any:
    """An adapter class registered under ``journeybot.adapters`` (the core never imports adapters)."""
    from importlib.metadata import entry_points

    found = entry_points(group="journeybot.adapters", name=name)
    if not found:
        fail(f"the {name} adapter is not installed (reinstall journeybot: pip install -e .)")
    return next(iter(found)).load()


def register_plugins() -> None:
    """Commands contributed by adapters (``journeybot.cli`` entry points)."""
    from importlib.metadata import entry_points

    for point in entry_points(group="journeybot.cli"):
        try:
            point.load()(app, run_app)
        except ModuleNotFoundError as exc:
            logging.getLogger(__name__).debug("command plugin %s not installed: %s", point.name, exc)
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            logging.getLogger(__name__).warning("command plugin %s unavailable: %s", point.name, exc)


async def _replay(settings: Any, file: str, kb_files: list[Path]) -> None:
    from bot.runtime import Runtime

    replay_module = load_adapter("replay")

    core = await open_core(settings)
    try:
        for path in kb_files:
            await import_knowledge(core, path, space=None, quiet=True)
        stream = sys.stdin if file == "-" else open(file, encoding="utf-8")  # noqa: SIM115, ASYNC230 (opening is instant; reads go through a thread)
        try:
            adapter = replay_module.ReplayAdapter(replay_module.read_lines(stream), sys.stdout)
            runtime = Runtime(core, [adapter])
            await runtime.start()
        finally:
            if stream is not sys.stdin:
                stream.close()
    finally:
        await core.close()


# -- knowledge -------------------------------------------------------------------------


async def import_knowledge(core: Any, path: Path, *, space: str | None, quiet: bool) -> Any:
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
    progress = Progress(TextColumn("embedding questions"), BarColumn(), TaskProgressColumn(),
                        TimeRemainingColumn(), transient=True, disable=not show)
    with progress:
        task = progress.add_task("embed", total=None)
        report = await import_drafts(
            core.kb, parsed.drafts, author="import", at=datetime.now(UTC),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
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
    settings = settings_for(config, db)
    report = with_core(settings, lambda core: import_knowledge(core, file, space=space, quiet=False))
    typer.echo(f"{file}: {len(report.created)} new, {len(report.versioned)} new versions, "
               f"{len(report.unchanged)} unchanged, {len(report.problems)} skipped")
    for problem in report.problems:
        typer.echo(f"  skipped {problem}")
    for a, b in report.conflicts:
        typer.echo(f"  conflict: {a} and {b} answer the same question differently")
    if report.problems and not report.imported and not report.unchanged:
        raise typer.Exit(1)


def with_core(settings: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open the core (store, index, model), run ``body`` with it, close it."""

    async def go() -> T:
        core = await open_core(settings)
        try:
            return await body(core)
        finally:
            await core.close()

    return run(go())


def _with_store(settings: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open only the store (no model) for commands that need no embeddings."""
    from bot.storage.database import Database
    from knowledge.store import EntryStore

    async def go() -> T:
        async with Database(settings.db) as db:
            return await body(EntryStore(db))

    return run(go())


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

    text = _with_store(settings, body)
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

    entries = _with_store(settings, body)
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

    entry, history = _with_store(settings, body)
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


# -- report ----------------------------------------------------------------------------


@app.command()
def report(
    since: Annotated[str | None, typer.Option("--since", help="ISO date or time")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO date or time (exclusive)")] = None,
    space: Annotated[str | None, typer.Option("--space")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object keyed by figure name")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The quality scorecard, computed from the event log alone."""
    import json

    from bot.storage.database import Database
    from bot.wire import parse_time
    from learning.report import render_table
    from learning.scorecard import compute

    settings = settings_for(config, db)
    try:
        start = parse_time(since) if since else None
        end = parse_time(until) if until else None
    except ValueError as exc:
        fail(str(exc))
    if settings.db != ":memory:" and not Path(settings.db).exists():
        fail(f"no store at {settings.db}: run the bot (or pass --db) first")

    async def go() -> Any:
        async with Database(settings.db) as database:
            return await compute(database, since=start, until=end, space=space, policy=settings.policy)

    card = run(go())
    if as_json:
        typer.echo(json.dumps(card.as_json(), indent=2, ensure_ascii=False))
    else:
        render_table(card)


# -- audit: the evidence trail ---------------------------------------------------------

audit_app = typer.Typer(no_args_is_help=True,
                        help="Check and read the evidence trail (the hash-chained event log).")
app.add_typer(audit_app, name="audit")


def _audit_store(settings: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open the store the log is in (never creating one) and run ``body`` on it."""
    from bot.storage.database import Database

    if settings.db == ":memory:" or not Path(settings.db).exists():
        fail(f"no store at {settings.db}: pass --db with the bot's database")

    async def go() -> T:
        async with Database(settings.db) as database:
            return await body(database)

    return run(go())


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(
        "--head", help="a head hash noted earlier: also check nothing was cut from the end since")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Check every record's hash; name the first broken one (exit 1)."""
    from bot.audit import verify

    check = _audit_store(settings_for(config, db), lambda database: verify(database, head=head))
    typer.echo(check.describe())
    if not check.ok:
        raise typer.Exit(1)


@audit_app.command("show")
def audit_show(
    case: Annotated[str, typer.Argument(help="the case key (the id of the message that asked)")],
    space: Annotated[str | None, typer.Option("--space", help="needed if the key exists in several")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """The whole story of a case, oldest first: events, decisions, sources, thresholds,
    model and prompt hash, actions and learning."""
    from bot.audit import CaseNotFound, render, story, verify

    async def body(database: Any) -> str:
        return render(await story(database, case, space=space), await verify(database))

    try:
        text = _audit_store(settings_for(config, db), body)
    except CaseNotFound as exc:
        fail(str(exc), 1)
    typer.echo(text)


@audit_app.command("export")
def audit_export(
    file: Annotated[str, typer.Argument(help="output file (JSON lines), or - for standard output")] = "-",
    case: Annotated[str | None, typer.Option("--case", help="only this case's story")] = None,
    space: Annotated[str | None, typer.Option("--space")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO date or time")] = None,
    until: Annotated[str | None, typer.Option("--until", help="ISO date or time (exclusive)")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Records as JSON lines (seq, kind, at, space, case, event_id, body, prev_hash, hash)."""
    from bot.audit import CaseNotFound, export, records, story
    from bot.wire import parse_time

    try:
        start = parse_time(since) if since else None
        end = parse_time(until) if until else None
    except ValueError as exc:
        fail(str(exc))

    async def body(database: Any) -> list[Any]:
        if case is None:
            return await records(database, space=space, since=start, until=end)
        found = await story(database, case, space=space)
        return [r for r in found.records if (start is None or r.at >= start.isoformat())
                and (end is None or r.at < end.isoformat())]

    try:
        chosen = _audit_store(settings_for(config, db), body)
    except CaseNotFound as exc:
        fail(str(exc), 1)
    if file == "-":
        export(chosen, sys.stdout)
        return
    with open(file, "w", encoding="utf-8") as out:
        count = export(chosen, out)
    typer.echo(f"wrote {count} records to {file}", err=True)


def main() -> None:
    register_plugins()
    app()
