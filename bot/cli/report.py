"""``journeybot report``: the scorecard from the event log (docs/scorecard.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOption, DbOption, app, open_store, period, settings_for

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

    from learning.report import render_table
    from learning.scorecard import Windows, compute

    settings = settings_for(config, db)
    start, end = period(since, until)

    async def go(database: Any) -> Any:
        return await compute(database, since=start, until=end, space=space, windows=Windows.of(settings.policy))

    card = open_store(settings, go)
    if as_json:
        typer.echo(json.dumps(card.as_json(), indent=2, ensure_ascii=False))
    else:
        render_table(card)


async def print_scorecard(core: Any, console: Any = None) -> None:
    """The scorecard of a running core's store, as ``journeybot report`` prints it.

    The terminal demo ends with it; adapters reach the scorecard only through here."""
    from learning.report import render_table
    from learning.scorecard import Windows, compute

    render_table(await compute(core.db, windows=Windows.of(core.settings.policy)), console)
