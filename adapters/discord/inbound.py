"""What Discord sends us: the client with exactly the intents it needs, and the
listener that turns its callbacks into core events.

Intents (what Discord sends us):
- ``guilds``: channels, threads and roles, to tell help, staff and forum
  channels apart and to read role names.
- ``guild_messages`` and ``dm_messages``: questions, follow-ups, staff replies.
- ``message_content`` (privileged, switched on in the Developer Portal): the
  text of those messages; without it every question reads as empty.

Permissions (what we may do in a guild), see ``INVITE_PERMISSIONS``.

The client hands its callbacks (and the persistent buttons in ``views``, and
the slash commands in ``interactions``) to a ``Listener``, which knows only
the translator, the pending interactions and the core's sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import discord

from adapters.discord.interactions import Interactions
from adapters.discord.settings import DiscordSettings
from adapters.discord.translate import Translator
from bot.events import Event, FeedbackValue
from bot.ports import EventSink

logger = logging.getLogger(__name__)

INVITE_SCOPES = ("bot", "applications.commands")

INVITE_PERMISSIONS = discord.Permissions(
    view_channel=True,  # see the help, forum and staff channels
    send_messages=True,  # answers, cards, notices
    send_messages_in_threads=True,  # answers in question threads and forum posts
    create_public_threads=True,  # the thread each question in a text channel is answered in
    embed_links=True,  # cards and sources are embeds
    read_message_history=True,  # reply to a card, and check that a staff reply is to our card
)


def intents() -> discord.Intents:
    """The gateway intents the bot asks for (see the module docstring)."""
    return discord.Intents(guilds=True, guild_messages=True, dm_messages=True, message_content=True)


def invite_url(application_id: int | str) -> str:
    """The OAuth2 URL a server owner opens to add the bot with exactly its permissions."""
    return discord.utils.oauth_url(application_id, permissions=INVITE_PERMISSIONS, scopes=INVITE_SCOPES)


class Listener:
    """discord.py's callbacks as core events: read by the translator, handed to the sink.

    A button or slash command is deferred first (Discord wants an answer within
    3 seconds) and held in ``interactions`` while the core handles it, so an
    answer meant for the caller alone can follow up on it (see ``outbound``).
    """

    def __init__(self, translator: Translator, interactions: Interactions, sink: EventSink, *,
                 on_question: Callable[[str, str], None]) -> None:
        self.translator = translator
        self.interactions = interactions
        self.sink = sink
        self.on_question = on_question  # a new question's text, for naming its thread
        self._handling: set[asyncio.Task[Any]] = set()  # callbacks whose event the core is handling
        self._closing = False

    async def on_message(self, message: discord.Message) -> None:
        event = await self.translator.message(message)
        if event is None:
            return
        if event.thread is None:
            self.on_question(event.id, event.text)
        await self._deliver(event)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self._deliver(self.translator.edit(payload))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._deliver(self.translator.deleted(payload))

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self._deliver(self.translator.thread_deleted(payload))

    async def _deliver(self, event: Event | None) -> None:
        """Hand ``event`` to the core; until it is handled, ``drain`` waits for this callback."""
        if event is None:
            return
        if self._closing:
            logger.info("Discord event %s arrived while stopping: not taken", event.id)
            return
        task = asyncio.current_task()  # discord.py runs each callback in a task of its own
        if task is not None:
            self._handling.add(task)
        try:
            await self.sink(event)
        finally:
            if task is not None:
                self._handling.discard(task)

    async def drain(self, grace: float) -> None:
        """Take no more events; wait up to ``grace`` seconds for those being handled
        (their actions still go out), then cancel the rest."""
        self._closing = True
        if not self._handling:
            return
        _, late = await asyncio.wait(set(self._handling), timeout=grace)
        if late:
            logger.warning("stopped with %d Discord event(s) still being handled", len(late))
        for task in late:
            task.cancel()

    async def on_feedback(self, interaction: discord.Interaction[Any], *, case: str, value: FeedbackValue) -> None:
        """Solved / Not solved / Talk to a person."""
        try:
            await interaction.response.defer()  # acknowledged; nothing shown unless the core says so
            await self._answer(interaction, self.translator.feedback(interaction, case=case, value=value),
                               thinking=False)
        except Exception:
            logger.exception("handling the %s button on case %s failed", value, case)

    async def on_card_button(self, interaction: discord.Interaction[Any], *, name: str, case: str,
                             entry: str | None) -> None:
        """I'll take it / Send suggested answer, on a staff card."""
        try:
            await interaction.response.defer()
            event = self.translator.card_button(interaction, name=name, case=case, entry=entry)
            await self._answer(interaction, event, thinking=False)
        except Exception:
            logger.exception("handling the %s button on case %s failed", name, case)

    async def on_app_command(self, interaction: discord.Interaction[Any], name: str) -> None:
        """/private and /recap."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        await self._answer(interaction, self.translator.app_command(interaction, name), thinking=True)

    async def _answer(self, interaction: discord.Interaction[Any], event: Event, *, thinking: bool) -> None:
        pending = self.interactions.hold(event.id, interaction)
        await self._deliver(event)
        if thinking and not pending.answered:
            # Nothing was meant for the caller alone: take the "thinking…" placeholder away.
            with contextlib.suppress(discord.HTTPException):
                await interaction.delete_original_response()


class _Hooks:
    """Hands discord.py's callbacks to the listener."""

    listener: Listener

    async def on_message(self, message: discord.Message) -> None:
        await self.listener.on_message(message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.listener.on_raw_message_edit(payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.listener.on_raw_message_delete(payload)

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.listener.on_raw_thread_delete(payload)


class JourneyClient(_Hooks, discord.Client):
    """One connection (one shard or none)."""


class ShardedJourneyClient(_Hooks, discord.AutoShardedClient):
    """Several shards in one process (``sharded: true``)."""


def build_client(settings: DiscordSettings, **options: Any) -> JourneyClient | ShardedJourneyClient:
    """A client with our intents; mentions never ping, whatever the text says. Its ``listener``
    is set once the collaborators that need the client exist (``wire``)."""
    common: dict[str, Any] = {"intents": intents(), "allowed_mentions": discord.AllowedMentions.none(),
                              **options}
    if not settings.sharded:
        return JourneyClient(**common)
    if settings.shard_ids is not None:
        common.update(shard_ids=settings.shard_ids, shard_count=settings.shard_count)
    elif settings.shard_count is not None:
        common.update(shard_count=settings.shard_count)
    return ShardedJourneyClient(**common)
