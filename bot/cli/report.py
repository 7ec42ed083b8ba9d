"""``journeybot report``: the scorecard from the event log (docs/scorecard.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOption, DbOption, app, fail, run, settings_for

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

    from bot.wire import parse_time
    from learning.report import render_table
    from learning.scorecard import Windows, compute
    from storage.database import Database

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
            return await compute(database, since=start, until=end, space=space,
                                 windows=Windows.of(settings.policy))

    card = run(go())
    if as_json:
        typer.echo(json.dumps(card.as_json(), indent=2, ensure_ascii=False))
    else:
        render_table(card)
