"""``journeybot run discord`` and ``journeybot discord invite-url``.

discord.py is imported inside the commands, so the rest of the command line
stays fast. Start-up failures a server owner can fix (no token, a wrong
token, the Message Content intent switched off) end in one line that says
which and how, and a non-zero exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli import ConfigOption, DbOption, fail, open_core, run, settings_for, setup_logging

logger = logging.getLogger(__name__)

DEFAULT_DB = "journeybot.db"

NO_TOKEN = ("DISCORD_TOKEN is not set: copy the bot token from the Developer Portal "
            "(your application → Bot → Reset Token) into the DISCORD_TOKEN environment variable")
BAD_TOKEN = ("Discord refused the token in DISCORD_TOKEN (401 Unauthorized): it is wrong or was reset; "
             "copy a fresh one from the Developer Portal (your application → Bot → Reset Token)")
NO_INTENT = ("Discord refused the Message Content intent: turn on Developer Portal → your application → "
             "Bot → Privileged Gateway Intents → Message Content Intent, save, and start again")
BAD_SHAPE = ("DISCORD_TOKEN does not look like a bot token ({why}): copy it from the Developer Portal "
             "(your application → Bot → Reset Token)")
UNREACHABLE = ("cannot reach Discord ({why}): check this machine's network, DNS, proxy or firewall, "
               "then start again")
REFUSED = ("Discord refused to start the bot ({why}): see https://discordstatus.com, then start again")
NO_APP_ID = ("no application id: pass --app-id, set discord.application_id in the settings file, or "
             "DISCORD_APPLICATION_ID (Developer Portal → your application → General Information)")


def _discord_settings(config: Path | None, **overrides: Any) -> Any:
    from pydantic import ValidationError

    from adapters.discord.settings import load_discord_settings

    try:
        return load_discord_settings(config, **overrides)
    except (ValidationError, ValueError) as exc:
        fail(f"invalid discord settings: {exc}")


def shard_list(text: str) -> list[int]:
    """``--shards``: ids and ranges, ``0,1`` or ``0-3`` or ``0-1,4``."""
    ids: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"--shards takes shard ids and ranges like 0,1 or 0-3, not {text!r}")
        ids += range(int(low), int(high) + 1) if dash else [int(low)]
    return sorted(set(ids))


def register(app: typer.Typer, run_app: typer.Typer) -> None:
    """Add the Discord commands to journeybot's command line."""
    discord_app = typer.Typer(no_args_is_help=True, help="Discord: invite the bot to a server.")
    app.add_typer(discord_app, name="discord")

    @run_app.command("discord")
    def run_discord(
        config: ConfigOption = None,
        db: DbOption = None,
        shards: Annotated[str | None, typer.Option(
            "--shards", help="the shards this process runs, e.g. 0,1 or 0-3 (with --shard-count)")] = None,
        shard_count: Annotated[int | None, typer.Option(
            "--shard-count", help="shards across all processes (give every process the same store)")] = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    ) -> None:
        """Run the bot on Discord (token in DISCORD_TOKEN; see docs/discord.md)."""
        from adapters.discord.settings import discord_token, token_shape_problem

        setup_logging(verbose)
        token = discord_token()
        if token is None:
            fail(NO_TOKEN)
        why = token_shape_problem(token)
        if why is not None:  # said at once: no model to load, no network needed
            fail(BAD_SHAPE.format(why=why))
        settings = settings_for(config, db)
        if db is None and "db" not in settings.model_fields_set:
            settings = settings.model_copy(update={"db": DEFAULT_DB})  # buttons must survive a restart
        overrides: dict[str, Any] = {"shard_count": shard_count} if shard_count is not None else {}
        if shards is not None:
            try:
                overrides["shard_ids"] = shard_list(shards)
            except ValueError as exc:
                fail(str(exc))
        discord_settings = _discord_settings(config, **overrides)
        serve(settings, discord_settings, token)

    @discord_app.command("invite-url")
    def invite_url_command(
        app_id: Annotated[int | None, typer.Option("--app-id", help="the application id")] = None,
        config: ConfigOption = None,
    ) -> None:
        """Print the URL that adds the bot to a server with exactly the permissions it needs."""
        from adapters.discord.inbound import INVITE_PERMISSIONS, INVITE_SCOPES, invite_url
        from adapters.discord.settings import APP_ID_VARIABLE

        if config is not None and not config.exists():
            fail(f"no settings file at {config}")
        env_id = os.environ.get(APP_ID_VARIABLE, "").strip()
        chosen = app_id or _discord_settings(config).application_id or (int(env_id) if env_id.isdigit() else None)
        if chosen is None:
            fail(NO_APP_ID)
        typer.echo(invite_url(chosen))
        granted = ", ".join(name for name, on in INVITE_PERMISSIONS if on)
        typer.echo(f"scopes: {' '.join(INVITE_SCOPES)}; permissions {INVITE_PERMISSIONS.value}: {granted}",
                   err=True)


def serve(settings: Any, discord_settings: Any, token: str) -> None:
    """Run until stopped; known start-up failures become one line (exit 2), the
    details at debug level (``--verbose``)."""
    import aiohttp
    import discord

    try:
        run(_serve(settings, discord_settings, token))
    except discord.LoginFailure:
        fail(BAD_TOKEN)
    except discord.PrivilegedIntentsRequired:
        fail(NO_INTENT)
    except (aiohttp.ClientConnectionError, discord.GatewayNotFound, ConnectionError, TimeoutError) as exc:
        logger.debug("connecting to Discord failed", exc_info=True)
        fail(UNREACHABLE.format(why=_one_line(exc)))
    except discord.HTTPException as exc:
        logger.debug("Discord refused the start", exc_info=True)
        fail(REFUSED.format(why=f"{exc.status} {_one_line(exc.text) if exc.text else exc.response.reason}"))


def _one_line(what: object) -> str:
    return " ".join(str(what).split())[:300] or type(what).__name__


async def _serve(settings: Any, discord_settings: Any, token: str) -> None:
    from adapters.discord.adapter import DiscordAdapter
    from adapters.names import CoreNames
    from bot.cli import companion_adapters
    from bot.runtime import SWEEP_SECONDS, Runtime

    core = await open_core(settings)
    adapter = DiscordAdapter(discord_settings, token=token, names=CoreNames.of(settings))
    runtime = Runtime(core, [adapter, *companion_adapters(core)], tick_seconds=settings.tick_seconds,
                      sweep_seconds=SWEEP_SECONDS)
    loop = asyncio.get_running_loop()
    try:
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows; not the main thread
            loop.add_signal_handler(signal.SIGTERM, lambda: loop.create_task(adapter.stop()))
        await runtime.start()
        await adapter.wait_closed()
    finally:
        await runtime.stop()
        await core.close()
