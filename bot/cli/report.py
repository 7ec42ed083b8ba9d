"""``journeybot report``: the scorecard from the event log (docs/scorecard.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOption, DbOption, app, fail, open_store, period, settings_for

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
        from bot.asking import asked_share
        from storage.eventlog import EventLog
        from storage.models import LearningRows

        log = EventLog(database)
        if space is not None and not await log.spaces(space):
            fail(f"nothing is recorded in space {space!r}; spaces in this store: "
                 f"{', '.join(await log.spaces()) or 'none yet'}")
        card = await compute(database, since=start, until=end, space=space, windows=Windows.of(settings.policy))
        shared = await asked_share(log, since=start, until=end, space=space)
        return card, await LearningRows(database).measured(space), shared

    card, (answers, shown_wrong), (asked, weighed) = open_store(settings, go)
    target = settings.policy.target_wrong_rate
    measured = None if answers == 0 else shown_wrong / answers
    budget = settings.policy.ask_budget
    share = None if weighed == 0 else asked / weighed
    if as_json:
        body = card.as_json()
        body["wrong_rate_target"] = {"target": target, "measured": measured, "answers": answers,
                                     "shown_wrong": shown_wrong}
        body["ask_budget"] = {"budget": budget, "measured": share, "asked": asked, "questions": weighed}
        typer.echo(json.dumps(body, indent=2, ensure_ascii=False))
    else:
        render_table(card)
        typer.echo(f"wrong rate of the bot's own answers: target {target:.1%}, measured "
                   f"{'n/a' if measured is None else f'{measured:.1%}'} ({shown_wrong} of {answers} answers "
                   f"met by Not solved, a reopen or a staff correction)")
        typer.echo(f"\"did you mean\" asked: budget {budget:.0%} of questions, measured "
                   f"{'n/a' if share is None else f'{share:.1%}'} ({asked} of {weighed} questions)")


async def print_scorecard(core: Any, console: Any = None) -> None:
    """The scorecard of a running core's store, as ``journeybot report`` prints it.

    The terminal demo ends with it; adapters reach the scorecard only through here."""
    from learning.report import render_table
    from learning.scorecard import Windows, compute

    render_table(await compute(core.db, windows=Windows.of(core.settings.policy)), console)
