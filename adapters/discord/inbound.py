"""The discord.py client journeybot runs: exactly the intents and permissions it needs.

Intents (what Discord sends us):
- ``guilds``: channels, threads and roles, to tell help, staff and forum
  channels apart and to read role names.
- ``guild_messages`` and ``dm_messages``: questions, follow-ups, staff replies.
- ``message_content`` (privileged, switched on in the Developer Portal): the
  text of those messages; without it every question reads as empty.

Permissions (what we may do in a guild), see ``INVITE_PERMISSIONS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord

if TYPE_CHECKING:
    from adapters.discord.adapter import DiscordAdapter

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


class _Hooks:
    """Hands discord.py's callbacks to the adapter, which does the translating."""

    adapter: DiscordAdapter

    async def setup_hook(self) -> None:
        await self.adapter.on_setup()

    async def on_ready(self) -> None:
        await self.adapter.on_ready()

    async def on_message(self, message: discord.Message) -> None:
        await self.adapter.on_message(message)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        await self.adapter.on_raw_message_edit(payload)

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        await self.adapter.on_raw_message_delete(payload)

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        await self.adapter.on_raw_thread_delete(payload)


class JourneyClient(_Hooks, discord.Client):
    """One connection (one shard or none)."""


class ShardedJourneyClient(_Hooks, discord.AutoShardedClient):
    """Several shards in one process (``sharded: true``)."""


def build_client(adapter: DiscordAdapter, **options: Any) -> discord.Client:
    """A client wired to ``adapter``; mentions never ping, whatever the text says."""
    settings = adapter.settings
    common: dict[str, Any] = {"intents": intents(), "allowed_mentions": discord.AllowedMentions.none(),
                              **options}
    client: discord.Client
    if settings.sharded:
        if settings.shard_ids is not None:
            common.update(shard_ids=settings.shard_ids, shard_count=settings.shard_count)
        elif settings.shard_count is not None:
            common.update(shard_count=settings.shard_count)
        client = ShardedJourneyClient(**common)
    else:
        client = JourneyClient(**common)
    client.adapter = adapter
    return client
