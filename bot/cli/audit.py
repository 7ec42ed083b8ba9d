"""``journeybot audit``: check and read the evidence trail."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOption, DbOption, T, app, fail, open_store, period, settings_for

# -- audit: the evidence trail ---------------------------------------------------------

audit_app = typer.Typer(no_args_is_help=True,
                        help="Check and read the evidence trail (the hash-chained event log).")
app.add_typer(audit_app, name="audit")


def audit_store(settings: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open the store the log is in (never creating one) and run ``body`` on it."""
    return open_store(settings, body)


@audit_app.command("verify")
def audit_verify(
    head: Annotated[str | None, typer.Option(
        "--head", help="a head hash noted earlier: also check nothing was cut from the end since")] = None,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Check every record's hash; name the first broken one (exit 1)."""
    from bot.audit import verify

    check = audit_store(settings_for(config, db), lambda database: verify(database, head=head))
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
        text = audit_store(settings_for(config, db), body)
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

    start, end = period(since, until)

    async def body(database: Any) -> list[Any]:
        if case is None:
            return await records(database, space=space, since=start, until=end)
        found = await story(database, case, space=space)
        return [r for r in found.records if (start is None or r.at >= start.isoformat())
                and (end is None or r.at < end.isoformat())]

    try:
        chosen = audit_store(settings_for(config, db), body)
    except CaseNotFound as exc:
        fail(str(exc), 1)
    if file == "-":
        export(chosen, sys.stdout)
        return
    with open(file, "w", encoding="utf-8") as out:
        count = export(chosen, out)
    typer.echo(f"wrote {count} records to {file}", err=True)
