"""``journeybot run slack``: Socket Mode by default, ``--http`` behind a load balancer.

The Slack SDKs are imported inside the command so ``journeybot --help``
stays instant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Annotated, Any

import typer

from bot.cli import ConfigOption, DbOption

logger = logging.getLogger(__name__)

DEFAULT_DB = "journeybot.db"


def register(app: typer.Typer, run_app: typer.Typer) -> None:
    """Add ``run slack`` to the command line."""

    @run_app.command("slack")
    def slack(
        http: Annotated[bool, typer.Option("--http", help="serve /slack/events over HTTP instead of Socket Mode")] = False,
        port: Annotated[int, typer.Option("--port", help="HTTP port (with --http)")] = 3000,
        host: Annotated[str, typer.Option("--host", help="HTTP address (with --http)")] = "0.0.0.0",
        config: ConfigOption = None,
        db: DbOption = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    ) -> None:
        """Run journeybot in a Slack workspace (tokens from SLACK_* environment variables)."""
        from bot.cli import fail, run, settings_for, setup_logging

        setup_logging(verbose)
        from pydantic import ValidationError

        from adapters.slack.settings import SlackSettingsError, load_slack_settings

        if config is not None and not config.exists():
            fail(f"no settings file at {config}")
        try:
            slack_settings = load_slack_settings(config)
        except (SlackSettingsError, ValidationError) as exc:
            fail(f"invalid Slack settings: {exc}")
        problem = slack_settings.token_problem(http=http)
        if problem:
            fail(problem)
        settings = settings_for(config, db)
        if db is None and "db" not in settings.model_fields_set:
            # Cards and buttons must keep working after a restart: never a throw-away store.
            settings = settings.model_copy(update={"db": DEFAULT_DB})
        run(_serve(settings, slack_settings, http=http, host=host, port=port))


async def _serve(settings: Any, slack_settings: Any, *, http: bool, host: str, port: int) -> None:
    from adapters.names import CoreNames
    from adapters.slack.adapter import SlackAdapter
    from adapters.slack.errors import SlackSetupError
    from bot.cli import companion_adapters, fail, open_core
    from bot.runtime import SWEEP_SECONDS, Runtime

    adapter = SlackAdapter(slack_settings, mode="http" if http else "socket", host=host, port=port,
                           names=CoreNames.of(settings))
    try:
        await adapter.check()  # a refused token or a missing staff channel fails before the model loads
    except SlackSetupError as exc:
        await adapter.stop()
        fail(str(exc))
    core = await open_core(settings)
    runtime = Runtime(core, [adapter, *companion_adapters(core)], tick_seconds=settings.tick_seconds,
                      sweep_seconds=SWEEP_SECONDS)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on this platform; Ctrl-C still stops it
            loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await runtime.start()
        except SlackSetupError as exc:
            fail(str(exc))
        logger.info("journeybot is running on Slack; Ctrl-C to stop")
        await stop.wait()
    finally:
        await runtime.stop()
        await core.close()
