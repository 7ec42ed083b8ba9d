"""``journeybot web`` (the console alone) and ``journeybot run --web …`` (the
console beside a platform, in the same process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import Annotated, Any

import typer

from bot.cli import ConfigOption, DbOption

logger = logging.getLogger(__name__)

HostOption = Annotated[str, typer.Option("--host", help="address to listen on; off loopback a login is required")]
PortOption = Annotated[int, typer.Option("--port", min=0, max=65535, help="port to listen on")]
DEMO_DB = "journeybot-demo.db"  # the demo's Tidepool answers never reach a real community's store


def register(app: typer.Typer, run_app: typer.Typer) -> None:
    """Add ``web`` to the command line, and ``--web`` to ``run``."""

    @app.command()
    def web(
        host: HostOption = "127.0.0.1",
        port: PortOption = 8080,
        config: ConfigOption = None,
        db: DbOption = None,
        insecure_cookies: Annotated[bool, typer.Option(
            "--insecure-cookies", help="send the session cookie over plain HTTP too (a test network only)")] = False,
        demo: Annotated[bool, typer.Option("--demo/--no-demo", help=(
            f"try it on the demo's knowledge, in a store of its own ({DEMO_DB} unless --db names one): "
            "never in the store your bot answers members from"))] = False,
        login: Annotated[bool, typer.Option(
            "--login", help="require a login on loopback too (others share this machine)")] = False,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    ) -> None:
        """The operator's web console: scorecard, knowledge, cases, and a chat page to try the bot."""
        from adapters.web.adapter import CannotListen
        from adapters.web.console import ConsoleConfig
        from bot.cli import fail, run, settings_for, setup_logging

        setup_logging(verbose)
        settings = settings_for(config, DEMO_DB if demo and db is None else db)
        console_config = ConsoleConfig(host=host, port=port, demo=demo, login=True if login else None,
                                       secure_cookies=False if insecure_cookies else None)
        try:
            run(_serve(settings, console_config))
        except CannotListen as exc:
            logger.debug("cannot listen", exc_info=True)
            fail(str(exc))

    @run_app.callback()
    def run_options(
        ctx: typer.Context,
        web: Annotated[bool, typer.Option("--web", help="also serve the web console, in the same process")] = False,
        web_host: Annotated[str, typer.Option("--web-host", help="the console's address")] = "127.0.0.1",
        web_port: Annotated[int, typer.Option(
            "--web-port", min=0, max=65535, help="the console's port")] = 8080,
    ) -> None:
        """Run the bot on a platform (see the README to connect one); --web adds the console."""
        if web:
            from bot.cli import COMPANIONS

            platform = ctx.invoked_subcommand  # the platform it runs beside: its cases can be answered here
            COMPANIONS.append(lambda core: console_adapter(core, host=web_host, port=web_port, beside=platform))


def console_adapter(core: Any, *, host: str, port: int, beside: str | None = None) -> Any:
    from adapters.web.console import Console, ConsoleConfig

    console = Console(core, ConsoleConfig(host=host, port=port, demo=False, beside=(beside,) if beside else ()))
    console.announce = lambda text: typer.echo(text)
    return console.adapter


async def _serve(settings: Any, console_config: Any) -> None:
    from adapters.web.console import Console
    from bot.cli import open_core
    from bot.runtime import Runtime

    core = await open_core(settings)
    console = Console(core, console_config)
    console.announce = lambda text: typer.echo(text)
    runtime = Runtime(core, [console.adapter], tick_seconds=settings.tick_seconds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.start()
        done = asyncio.create_task(console.adapter.wait_closed())
        waiting = asyncio.create_task(stop.wait())
        await asyncio.wait({done, waiting}, return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if done.done() and done.exception():
            raise done.exception()  # type: ignore[misc]
    finally:
        await runtime.stop()
        await core.close()
