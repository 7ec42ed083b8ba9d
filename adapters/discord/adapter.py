"""The Discord adapter: discord.py events in, core actions out.

Lifecycle: ``start`` logs in, registers the persistent buttons, syncs the
slash commands and returns once the gateway is ready; ``stop`` closes the
connection. Nothing happens in ``__init__``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands

from adapters.discord.inbound import build_client
from adapters.discord.interactions import Interactions, register_commands, sync_commands
from adapters.discord.outbound import NotConnected, Performer
from adapters.discord.settings import DiscordSettings
from adapters.discord.translate import PLATFORM, CoreNames, Translator
from adapters.discord.views import PERSISTENT_ITEMS
from bot.actions import Action
from bot.events import Command, Delete, Edit, Event, Feedback
from bot.ports import EventSink

logger = logging.getLogger(__name__)


class DiscordAdapter:
    """One bot user in one or more guilds (or shards of them)."""

    name = PLATFORM

    def __init__(self, settings: DiscordSettings, *, token: str, names: CoreNames | None = None,
                 client_options: dict[str, Any] | None = None) -> None:
        self.settings = settings
        self.names = names or CoreNames()
        self._token = token
        self._client_options = dict(client_options or {})
        self.client: discord.Client | None = None
        self.tree: app_commands.CommandTree[Any] | None = None
        self.translator: Translator | None = None
        self.interactions = Interactions()
        self.performer = Performer(self)
        self._sink: EventSink | None = None
        self._runner: asyncio.Task[None] | None = None

    @classmethod
    def for_core(cls, settings: DiscordSettings, core_settings: Any, *, token: str,
                 client_options: dict[str, Any] | None = None) -> DiscordAdapter:
        """An adapter that speaks the core's role and channel names (from its settings)."""
        names = CoreNames(staff_role=core_settings.staff_role, moderator_role=core_settings.moderator_role,
                          staff_channel=core_settings.staff_channel)
        return cls(settings, token=token, names=names, client_options=client_options)

    def _started(self) -> tuple[discord.Client, Translator]:
        if self.client is None or self.translator is None or self.tree is None:
            raise NotConnected("the Discord adapter is not started")
        return self.client, self.translator

    # -- lifecycle --------------------------------------------------------------

    async def start(self, sink: EventSink) -> None:
        """Log in and connect; returns when ready. Raises ``discord.LoginFailure`` for a
        bad token and ``discord.PrivilegedIntentsRequired`` when Message Content is off."""
        self._sink = sink
        client = build_client(self, **self._client_options)
        self.client = client
        self.translator = Translator(client, self.settings, self.names)
        self.tree = app_commands.CommandTree(client)
        register_commands(self.tree, self)
        try:
            await client.login(self._token)
        except BaseException:
            await client.close()
            raise
        self._runner = asyncio.create_task(client.connect(reconnect=True), name="journeybot-discord-gateway")
        ready = asyncio.create_task(client.wait_until_ready(), name="journeybot-discord-ready")
        await asyncio.wait({self._runner, ready}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            await client.close()
            self._runner.result()  # the reason it stopped
            raise ConnectionError("the Discord gateway closed before the bot was ready")

    async def on_setup(self) -> None:
        """discord.py's setup_hook: after login, before the gateway."""
        client, _ = self._started()
        client.add_dynamic_items(*PERSISTENT_ITEMS)  # buttons on messages from earlier runs
        if self.settings.sync_commands and self.tree is not None:
            await sync_commands(self.tree, self.settings.guild_ids)

    async def on_ready(self) -> None:
        client, translator = self._started()
        staff = translator.staff_channel()
        logger.info("connected to Discord as %s in %d guild(s)", client.user, len(client.guilds))
        if staff is None:
            logger.warning("the staff channel %r is not visible to the bot: routed questions wait until "
                           "it is (check discord.staff_channel and the bot's channel permissions)",
                           self.settings.staff_channel)

    async def stop(self) -> None:
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
        return await self.performer.perform(action)

    # -- inbound ----------------------------------------------------------------

    async def _deliver(self, event: Event) -> None:
        if self._sink is None:
            logger.warning("event %s arrived before the adapter started; dropped", event.id)
            return
        await self._sink(event)

    async def on_message(self, message: discord.Message) -> None:
        _, translator = self._started()
        event = await translator.message(message)
        if event is None:
            return
        if event.thread is None:
            self.performer.remember_question(event.id, event.text)
        await self._deliver(event)

    def _concerns_question(self, channel_id: int, message_id: int, guild_id: int | None) -> bool:
        """Edits and deletes matter only for messages that may have opened a case."""
        client, translator = self._started()
        if guild_id is None:
            return True  # a DM
        channel = client.get_channel(channel_id)
        if isinstance(channel, discord.Thread):
            return message_id == channel.id and translator.is_help(channel.parent or channel.parent_id)
        return translator.is_help(channel or channel_id)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        client, _ = self._started()
        data: dict[str, Any] = payload.data  # type: ignore[assignment]
        author = data.get("author") or {}
        if "content" not in data or author.get("bot") or data.get("webhook_id"):
            return
        if not self._concerns_question(payload.channel_id, payload.message_id, payload.guild_id):
            return
        stamp = data.get("edited_timestamp")
        at = discord.utils.parse_time(stamp) if stamp else datetime.now(UTC)
        text = data["content"]
        if client.user is not None:
            text = re.sub(rf"<@!?{client.user.id}>", "", text).strip()
        await self._deliver(Edit(id=f"edit:{payload.message_id}:{stamp or at.isoformat()}", at=at,
                                 space=self.settings.space_of(payload.guild_id), user=str(author.get("id", "")),
                                 platform=PLATFORM, about=str(payload.message_id), text=text))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        if not self._concerns_question(payload.channel_id, payload.message_id, payload.guild_id):
            return
        await self._deliver(Delete(id=f"delete:{payload.message_id}", at=datetime.now(UTC),
                                   space=self.settings.space_of(payload.guild_id), platform=PLATFORM,
                                   about=str(payload.message_id)))

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        """A deleted forum post (or question thread) closes its case, like a deleted message."""
        _, translator = self._started()
        if not translator.is_help(payload.parent_id):
            return
        await self._deliver(Delete(id=f"delete:{payload.thread_id}", at=datetime.now(UTC),
                                   space=self.settings.space_of(payload.guild_id), platform=PLATFORM,
                                   about=str(payload.thread_id)))

    # -- interactions -----------------------------------------------------------------

    def _who(self, interaction: discord.Interaction[Any]) -> dict[str, Any]:
        _, translator = self._started()
        return {"id": str(interaction.id), "at": interaction.created_at,
                "space": self.settings.space_of(interaction.guild_id),
                "user": str(interaction.user.id), "user_name": interaction.user.display_name,
                "roles": translator.roles(interaction.user, interaction.permissions),
                "platform": PLATFORM}

    async def _answer(self, interaction: discord.Interaction[Any], event: Event, *, thinking: bool) -> None:
        pending = self.interactions.hold(event.id, interaction)
        await self._deliver(event)
        if thinking and not pending.answered:
            # Nothing was meant for the caller alone: take the "thinking…" placeholder away.
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()

    async def on_feedback(self, interaction: discord.Interaction[Any], *, case: str, value: str) -> None:
        """Solved / Not solved / Talk to a person."""
        try:
            await interaction.response.defer()  # acknowledged; nothing shown unless the core says so
            event = Feedback(**self._who(interaction), about=case, value=value)  # type: ignore[arg-type]
            await self._answer(interaction, event, thinking=False)
        except Exception:
            logger.exception("handling the %s button on case %s failed", value, case)

    async def on_card_button(self, interaction: discord.Interaction[Any], *, name: str, case: str,
                             entry: str | None) -> None:
        """I'll take it / Send suggested answer, on a staff card."""
        try:
            await interaction.response.defer()
            event = Command(**self._who(interaction), name=name, about=case, args=entry,
                            channel=str(interaction.channel_id or ""))
            await self._answer(interaction, event, thinking=False)
        except Exception:
            logger.exception("handling the %s button on case %s failed", name, case)

    async def on_app_command(self, interaction: discord.Interaction[Any], name: str) -> None:
        """/private and /recap: ``thread`` is the case thread the command was run in."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel = interaction.channel
        where: dict[str, Any]
        if isinstance(channel, discord.Thread):
            where = {"channel": str(channel.parent_id), "thread": str(channel.id)}
        else:
            where = {"channel": str(interaction.channel_id or ""), "thread": None}
        await self._answer(interaction, Command(**self._who(interaction), name=name, **where), thinking=True)

