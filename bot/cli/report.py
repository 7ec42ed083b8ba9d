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
        from learning.store import LearningStore

        async with Database(settings.db) as database:
            card = await compute(database, since=start, until=end, space=space, policy=settings.policy)
            return card, await LearningStore(database).measured(space)

    card, (answers, shown_wrong) = run(go())
    target = settings.policy.target_wrong_rate
    measured = None if answers == 0 else shown_wrong / answers
    if as_json:
        body = card.as_json()
        body["wrong_rate_target"] = {"target": target, "measured": measured, "answers": answers,
                                     "shown_wrong": shown_wrong}
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        render_table(card)
        typer.echo(f"wrong rate of the bot's own answers: target {target:.1%}, measured "
                   f"{'n/a' if measured is None else f'{measured:.1%}'} ({shown_wrong} of {answers} answers "
                   f"met by Not solved, a reopen or a staff correction)")
