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
from collections.abc import Callable, Iterator
from typing import Any

import discord

from adapters.discord.interactions import Interactions
from adapters.discord.settings import DiscordSettings
from adapters.discord.translate import Translator
from bot.events import Event, FeedbackValue
from bot.ports import EventSink, Verdict

logger = logging.getLogger(__name__)

INVITE_SCOPES = ("bot", "applications.commands")
ACK_WITHIN = 2.0  # seconds an interaction waits for the runtime before it is acknowledged anyway (Discord: 3)

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

    A callback counts for ``drain`` from its first line, so a stop waits for what
    arrived before it. A button or slash command is acknowledged (deferred: Discord
    wants an answer within 3 seconds, and never sends an interaction again) only
    once the runtime has its event: stored, or held while the store fails; one the
    runtime refused (it is stopping) is not acknowledged, and the person sees that
    it did not go through. The interaction is held in ``interactions`` while the
    core handles it, so an answer meant for the caller alone can follow up on it
    (see ``outbound``).
    """

    def __init__(self, translator: Translator, interactions: Interactions, sink: EventSink, *,
                 on_question: Callable[[str, str], None]) -> None:
        self.translator = translator
        self.interactions = interactions
        self.sink = sink
        self.on_question = on_question  # a new question's text, for naming its thread
        self._handling: set[asyncio.Task[Any]] = set()  # callbacks whose event the core is handling
        self._closing = False

    @contextlib.contextmanager
    def _taking(self, what: str) -> Iterator[bool]:
        """``True`` (and ``drain`` waits for this callback) unless the listener is stopping."""
        if self._closing:
            logger.info("Discord %s arrived while stopping: not taken", what)
            yield False
            return
        task = asyncio.current_task()  # discord.py runs each callback in a task of its own
        if task is not None:
            self._handling.add(task)
        try:
            yield True
        finally:
            if task is not None:
                self._handling.discard(task)

    async def on_message(self, message: discord.Message) -> None:
        with self._taking(f"message {message.id}") as taking:
            event = await self.translator.message(message) if taking else None
            if event is None:
                return
            if event.thread is None:
                self.on_question(event.id, event.text)
            await self.sink(event)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self._deliver(self.translator.edit(payload))

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self._deliver(self.translator.deleted(payload))

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self._deliver(self.translator.thread_deleted(payload))

    async def _deliver(self, event: Event | None) -> None:
        if event is None:
            return
        with self._taking(f"event {event.id}") as taking:
            if taking:
                await self.sink(event)

    async def drain(self, grace: float) -> None:
        """Take no more events; wait up to ``grace`` seconds for those being handled
        (their actions still go out), then cancel the rest (stored, they are handled
        at the next start)."""
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
            event = self.translator.feedback(interaction, case=case, value=value)
            await self._answer(interaction, event, ephemeral=False, thinking=False)
        except Exception:
            logger.exception("handling the %s button on case %s failed", value, case)

    async def on_card_button(self, interaction: discord.Interaction[Any], *, name: str, case: str,
                             entry: str | None) -> None:
        """I'll take it / Send suggested answer, on a staff card."""
        try:
            event = self.translator.card_button(interaction, name=name, case=case, entry=entry)
            await self._answer(interaction, event, ephemeral=False, thinking=False)
        except Exception:
            logger.exception("handling the %s button on case %s failed", name, case)

    async def on_app_command(self, interaction: discord.Interaction[Any], name: str) -> None:
        """/private and /recap."""
        await self._answer(interaction, self.translator.app_command(interaction, name), ephemeral=True,
                           thinking=True)

    async def _answer(self, interaction: discord.Interaction[Any], event: Event, *, ephemeral: bool,
                      thinking: bool) -> None:
        """Hand the interaction's event to the core; acknowledge it once the runtime has it."""
        with self._taking(f"interaction {event.id}") as taking:
            if not taking:
                return
            pending = self.interactions.hold(event.id, interaction)

            def acknowledge() -> None:
                pending.acknowledge(interaction.response.defer(ephemeral=ephemeral, thinking=thinking))

            late = asyncio.get_running_loop().call_later(ACK_WITHIN, acknowledge)

            def accepted(verdict: Verdict) -> None:
                late.cancel()
                if verdict == "refused":
                    logger.warning("Discord interaction %s was not taken: not acknowledged", event.id)
                else:
                    acknowledge()

            try:
                await self.sink(event, accepted=accepted)
            finally:
                late.cancel()
            if await pending.acknowledged() and thinking and not pending.answered:
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
    if not (settings.sharded or settings.shard_ids is not None or settings.shard_count is not None):
        return JourneyClient(**common)
    if settings.shard_ids is not None:
        common.update(shard_ids=settings.shard_ids, shard_count=settings.shard_count)
    elif settings.shard_count is not None:
        common.update(shard_count=settings.shard_count)
    return ShardedJourneyClient(**common)
