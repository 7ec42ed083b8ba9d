"""Discord messages, raw edits and deletes, and interactions as the core's events.

No decisions here: which channel is a help channel, who is staff, which
message answers which card all come from the ``Directory``; the core
decides what to do about the event.

Ids: a thread created from a message has that message's id, and a forum
post's thread has its starter message's id, so a case key is always a
Discord message id, and ``thread`` is always the thread's id.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import discord

from adapters.discord.directory import Directory
from adapters.discord.settings import DiscordSettings
from bot.events import Command, Delete, Edit, Feedback, FeedbackValue, Message

PLATFORM = "discord"


class Translator:
    """Reads Discord objects into core events, against the directory."""

    def __init__(self, directory: Directory, settings: DiscordSettings) -> None:
        self.directory = directory
        self.settings = settings

    def without_me(self, text: str) -> str:
        """``text`` without the bot's own mention (the core reads words, not pings)."""
        me = self.directory.me
        if me is not None:
            text = re.sub(rf"<@!?{me.id}>", "", text)
        return text.strip()

    # -- messages ----------------------------------------------------------------

    async def message(self, message: discord.Message) -> Message | None:
        """The core's ``Message`` for a Discord message, or ``None`` when it is not for the core."""
        if message.author.bot or message.webhook_id is not None:
            return None  # our own posts, other bots, webhooks
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None  # system messages: thread created, pins, joins …
        d = self.directory
        channel = await d.resolve(message.channel)
        if channel is None:
            return None
        me = d.me
        direct = me is not None and any(u.id == me.id for u in message.mentions)
        guild = getattr(channel, "guild", None)
        base: dict[str, Any] = {
            "id": str(message.id), "at": message.created_at,
            "space": self.settings.space_of(guild.id if guild else None),
            "user": str(message.author.id), "user_name": message.author.display_name,
            "roles": d.roles_in(message.author, channel), "platform": PLATFORM,
            "text": self.without_me(message.content),
        }
        if isinstance(channel, discord.DMChannel):
            base["space"] = d.dm_spaces.get(channel.id, self.settings.space)
            return Message(**base, channel=str(channel.id), channel_kind="dm", direct=True)
        if isinstance(channel, discord.Thread):
            return await self._in_thread(message, channel, base, direct)
        where: dict[str, Any] = {"channel": str(channel.id), "channel_name": getattr(channel, "name", None)}
        if d.is_help(channel):
            return Message(**base, **where, channel_kind="help")
        if d.is_staff_channel(channel):
            ref = message.reference
            if ref is None or ref.message_id is None:
                return None  # staff talking among themselves
            card = await d.card_of(channel, ref.message_id, ref.resolved)
            if card is None:
                return None
            return Message(**base, **where, channel_kind="staff", thread=str(card))
        if direct:
            return Message(**base, **where, channel_kind="other", direct=True)
        return None

    async def _in_thread(self, message: discord.Message, thread: discord.Thread,
                         base: dict[str, Any], direct: bool) -> Message | None:
        d = self.directory
        parent = thread.parent or thread.parent_id
        where: dict[str, Any] = {"channel": str(thread.parent_id),
                                 "channel_name": getattr(thread.parent, "name", None)}
        if d.is_help(parent):
            if message.id == thread.id:  # a forum post's starter message: the question itself
                return Message(**base, **where, channel_kind="help")
            return Message(**base, **where, channel_kind="help", thread=str(thread.id))
        if d.is_staff_channel(parent):
            card = await d.card_of(thread.parent, thread.id, None)  # the thread has its message's id
            if card is None:
                return None
            return Message(**base, **where, channel_kind="staff", thread=str(card))
        me = d.me
        if me is not None and thread.owner_id == me.id:  # a thread we opened for a mention
            return Message(**base, **where, channel_kind="other", thread=str(thread.id), direct=direct)
        return None

    # -- edits and deletes ------------------------------------------------------------

    def edit(self, payload: discord.RawMessageUpdateEvent) -> Edit | None:
        """A member's edit of a message that may have opened a case."""
        data: dict[str, Any] = payload.data  # type: ignore[assignment]
        author = data.get("author") or {}
        if "content" not in data or author.get("bot") or data.get("webhook_id"):
            return None
        if not self.directory.concerns_question(payload.channel_id, payload.message_id, payload.guild_id):
            return None
        stamp = data.get("edited_timestamp")
        at = discord.utils.parse_time(stamp) if stamp else datetime.now(UTC)
        return Edit(id=f"edit:{payload.message_id}:{stamp or at.isoformat()}", at=at,
                    space=self.settings.space_of(payload.guild_id), user=str(author.get("id", "")),
                    platform=PLATFORM, about=str(payload.message_id), text=self.without_me(data["content"]))

    def deleted(self, payload: discord.RawMessageDeleteEvent) -> Delete | None:
        if not self.directory.concerns_question(payload.channel_id, payload.message_id, payload.guild_id):
            return None
        return Delete(id=f"delete:{payload.message_id}", at=datetime.now(UTC),
                      space=self.settings.space_of(payload.guild_id), platform=PLATFORM,
                      about=str(payload.message_id))

    def thread_deleted(self, payload: discord.RawThreadDeleteEvent) -> Delete | None:
        """A deleted forum post (or question thread) closes its case, like a deleted message."""
        if not self.directory.is_help(payload.parent_id):
            return None
        return Delete(id=f"delete:{payload.thread_id}", at=datetime.now(UTC),
                      space=self.settings.space_of(payload.guild_id), platform=PLATFORM,
                      about=str(payload.thread_id))

    # -- interactions -------------------------------------------------------------------

    def _who(self, interaction: discord.Interaction[Any]) -> dict[str, Any]:
        return {"id": str(interaction.id), "at": interaction.created_at,
                "space": self.settings.space_of(interaction.guild_id),
                "user": str(interaction.user.id), "user_name": interaction.user.display_name,
                "roles": self.directory.roles(interaction.user, interaction.permissions),
                "platform": PLATFORM}

    def feedback(self, interaction: discord.Interaction[Any], *, case: str, value: FeedbackValue) -> Feedback:
        """Solved / Not solved / Talk to a person."""
        return Feedback(**self._who(interaction), about=case, value=value)

    def card_button(self, interaction: discord.Interaction[Any], *, name: str, case: str,
                    entry: str | None) -> Command:
        """I'll take it / Send suggested answer, on a staff card."""
        return Command(**self._who(interaction), name=name, about=case, args=entry,
                       channel=str(interaction.channel_id or ""))

    def app_command(self, interaction: discord.Interaction[Any], name: str) -> Command:
        """/private and /recap: ``thread`` is the case thread the command was run in."""
        channel = interaction.channel
        if isinstance(channel, discord.Thread):
            return Command(**self._who(interaction), name=name, channel=str(channel.parent_id),
                           thread=str(channel.id))
        return Command(**self._who(interaction), name=name, channel=str(interaction.channel_id or ""),
                       thread=None)
