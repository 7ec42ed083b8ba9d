"""The Discord adapter: the core's port (start, stop, perform) on discord.py.

Lifecycle: ``start`` builds the client and its collaborators, logs in,
registers the persistent buttons, syncs the slash commands and returns once
the gateway is ready; ``stop`` closes the connection. Nothing happens in
``__init__``. Inbound, the client's callbacks go to a ``Listener``
(``inbound``) that translates them (``translate``) for the core's sink;
outbound, a ``Performer`` (``outbound``) posts what the core decided.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord.directory import Directory
from adapters.discord.inbound import Listener, build_client
from adapters.discord.interactions import Interactions, register_commands, sync_commands
from adapters.discord.outbound import NotConnected, Performer
from adapters.discord.settings import DiscordSettings
from adapters.discord.translate import PLATFORM, Translator
from adapters.discord.views import PERSISTENT_ITEMS
from adapters.names import CoreNames
from bot.actions import Action
from bot.ports import EventSink

logger = logging.getLogger(__name__)

STOP_GRACE = 10.0  # seconds ``stop`` waits for events already taken


class DiscordAdapter:
    """One bot user in one or more guilds (or shards of them)."""

    name = PLATFORM

    def __init__(self, settings: DiscordSettings, *, token: str, names: CoreNames | None = None,
                 client_options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.names = names or CoreNames()
        self._token = token
        self._client_options = dict(client_options or {})
        self.interactions = Interactions()
        self.client: discord.Client | None = None
        self.listener: Listener | None = None
        self.performer: Performer | None = None
        self._runner: asyncio.Task[None] | None = None

    async def start(self, sink: EventSink) -> None:
        """Log in and connect; returns when ready. Raises ``discord.LoginFailure`` for a
        bad token and ``discord.PrivilegedIntentsRequired`` when Message Content is off."""
        client = build_client(self.settings, **self._client_options)
        directory = Directory(client, self.settings, self.names)
        self.client, self.performer = client, Performer(client, directory, self.interactions)
        self.listener = client.listener = Listener(Translator(directory, self.settings), self.interactions, sink,
                                                   on_question=self.performer.remember_question)
        await self._log_in(client, self.listener)
        await self._connect(client)
        logger.info("connected to Discord as %s in %d guild(s)", client.user, len(client.guilds))
        if directory.staff_channel() is None:
            logger.warning("the staff channel %r is not visible to the bot: routed questions wait until "
                           "it is (check discord.staff_channel and the bot's channel permissions)",
                           self.settings.staff_channel)

    async def _log_in(self, client: discord.Client, listener: Listener) -> None:
        """Log in, register the persistent buttons and the slash commands (before the gateway)."""
        tree: app_commands.CommandTree[Any] = app_commands.CommandTree(client)
        register_commands(tree, listener)
        try:
            await client.login(self._token)
            client.add_dynamic_items(*PERSISTENT_ITEMS)  # buttons on messages from earlier runs
            if self.settings.sync_commands:
                await sync_commands(tree, self.settings.guild_ids)
        except BaseException:
            await client.close()
            raise

    async def _connect(self, client: discord.Client) -> None:
        """Open the gateway and wait until it is ready, or say why it closed first."""
        self._runner = asyncio.create_task(client.connect(reconnect=True), name="journeybot-discord-gateway")
        ready = asyncio.create_task(client.wait_until_ready(), name="journeybot-discord-ready")
        await asyncio.wait({self._runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await client.close()
            self._runner.result()  # the reason it stopped
            raise ConnectionError("the Discord gateway closed before the bot was ready")

    async def stop(self) -> None:
        """Take no more events, give those being handled up to ``STOP_GRACE`` seconds
        (their actions still go out), then close the connection."""
        if self.listener is not None:
            await self.listener.drain(STOP_GRACE)
        if self.client is not None:
            await self.client.close()
        if self._runner is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._runner

    async def wait_closed(self) -> None:
        """Until the connection ends for good (``stop``, or a fatal gateway error)."""
        if self._runner is not None:
            await self._runner

    async def perform(self, action: Action) -> str | None:
        if self.performer is None:
            raise NotConnected("the Discord adapter is not started")
        return await self.performer.perform(action)
