"""Discord messages, members and channels as the core's events, roles and kinds.

No decisions here: which channel is a help channel, who is staff, which
message answers which card all come from the settings and from Discord; the
core decides what to do about the event.

Ids: a thread created from a message has that message's id, and a forum
post's thread has its starter message's id, so a case key is always a
Discord message id, and ``thread`` is always the thread's id.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import discord

from adapters.discord.settings import DiscordSettings
from bot.events import Message

logger = logging.getLogger(__name__)

PLATFORM = "discord"
KNOWN_CARDS = 2048  # how many "is this message one of our cards?" answers to remember


@dataclass(frozen=True, slots=True)
class CoreNames:
    """The core's own names for roles and the staff channel (from its settings)."""

    staff_role: str = "staff"
    moderator_role: str = "moderator"
    staff_channel: str = "staff"


def _names(values: list[str]) -> frozenset[str]:
    return frozenset(v.strip().lstrip("#@").lower() for v in values)


class Translator:
    """Reads Discord objects against the Discord settings."""

    def __init__(self, client: discord.Client, settings: DiscordSettings, names: CoreNames) -> None:
        self.client = client
        self.settings = settings
        self.names = names
        self._help = _names(settings.help_channels)
        self._staff = _names([settings.staff_channel])
        self._staff_roles = _names(settings.staff_roles)
        self._moderator_roles = _names(settings.moderator_roles)
        self._cards: OrderedDict[int, int | None] = OrderedDict()  # staff message -> its card
        self.dm_spaces: dict[int, str] = {}  # DM channel -> space of the case moved there

    # -- channels ------------------------------------------------------------

    @staticmethod
    def _matches(channel: Any, names: frozenset[str]) -> bool:
        if channel is None:
            return False
        if str(getattr(channel, "id", channel)) in names:
            return True
        name = getattr(channel, "name", None)
        return isinstance(name, str) and name.lower() in names

    def is_help(self, channel: Any) -> bool:
        return self._matches(channel, self._help)

    def is_staff_channel(self, channel: Any) -> bool:
        return self._matches(channel, self._staff)

    def staff_channel(self) -> discord.abc.Messageable | None:
        """The configured staff channel, found in the guilds the bot is in."""
        target = self.settings.staff_channel.strip().lstrip("#")
        if target.isdigit():
            found = self.client.get_channel(int(target))
            return found if isinstance(found, discord.abc.Messageable) else None
        for guild in self.client.guilds:
            if self.settings.guild_ids and guild.id not in self.settings.guild_ids:
                continue
            for channel in guild.text_channels:
                if channel.name.lower() == target.lower():
                    return channel
        return None

    # -- people ----------------------------------------------------------------

    def roles(self, member: Any, permissions: discord.Permissions | None = None) -> tuple[str, ...]:
        """Core role names for a member: configured roles, and Manage Threads as moderator."""
        if not isinstance(member, discord.Member):
            return ()
        held = {r.name.lower() for r in member.roles} | {str(r.id) for r in member.roles}
        roles: list[str] = []
        if held & self._staff_roles:
            roles.append(self.names.staff_role)
        moderator = bool(held & self._moderator_roles)
        if not moderator and self.settings.manage_threads_moderates:
            perms = permissions if permissions is not None else member.guild_permissions
            moderator = perms.manage_threads
        if moderator:
            roles.append(self.names.moderator_role)
        return tuple(roles)

    def _channel_permissions(self, member: Any, channel: Any) -> discord.Permissions | None:
        if not isinstance(member, discord.Member):
            return None
        try:
            return channel.permissions_for(member)  # type: ignore[no-any-return]
        except Exception:  # parent not cached and the like: guild-wide permissions will do
            return None

    # -- messages ----------------------------------------------------------------

    def text_of(self, message: discord.Message) -> str:
        """The message text without the bot's own mention (the core reads words, not pings)."""
        text = message.content
        me = self.client.user
        if me is not None:
            text = re.sub(rf"<@!?{me.id}>", "", text)
        return text.strip()

    async def message(self, message: discord.Message) -> Message | None:
        """The core's ``Message`` for a Discord message, or ``None`` when it is not for the core."""
        if message.author.bot or message.webhook_id is not None:
            return None  # our own posts, other bots, webhooks
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None  # system messages: thread created, pins, joins …
        channel = await self._resolve(message.channel)
        if channel is None:
            return None
        me = self.client.user
        direct = me is not None and any(u.id == me.id for u in message.mentions)
        guild = getattr(channel, "guild", None)
        base: dict[str, Any] = {
            "id": str(message.id), "at": message.created_at,
            "space": self.settings.space_of(guild.id if guild else None),
            "user": str(message.author.id), "user_name": message.author.display_name,
            "roles": self.roles(message.author, self._channel_permissions(message.author, channel)),
            "platform": PLATFORM, "text": self.text_of(message),
        }
        if isinstance(channel, discord.DMChannel):
            base["space"] = self.dm_spaces.get(channel.id, self.settings.space)
            return Message(**base, channel=str(channel.id), channel_kind="dm", direct=True)
        if isinstance(channel, discord.Thread):
            return await self._in_thread(message, channel, base, direct)
        if self.is_help(channel):
            return Message(**base, channel=str(channel.id), channel_name=getattr(channel, "name", None),
                           channel_kind="help")
        if self.is_staff_channel(channel):
            ref = message.reference
            if ref is None or ref.message_id is None:
                return None  # staff talking among themselves
            card = await self.card_of(channel, ref.message_id, ref.resolved)
            if card is None:
                return None
            return Message(**base, channel=str(channel.id), channel_name=getattr(channel, "name", None),
                           channel_kind="staff", thread=str(card))
        if direct:
            return Message(**base, channel=str(channel.id), channel_name=getattr(channel, "name", None),
                           channel_kind="other", direct=True)
        return None

    async def _in_thread(self, message: discord.Message, thread: discord.Thread,
                         base: dict[str, Any], direct: bool) -> Message | None:
        parent = thread.parent or thread.parent_id
        where: dict[str, Any] = {"channel": str(thread.parent_id),
                                 "channel_name": getattr(thread.parent, "name", None)}
        if self.is_help(parent):
            if message.id == thread.id:  # a forum post's starter message: the question itself
                return Message(**base, **where, channel_kind="help")
            return Message(**base, **where, channel_kind="help", thread=str(thread.id))
        if self.is_staff_channel(parent):
            card = await self.card_of(thread.parent, thread.id, None)  # the thread has its message's id
            if card is None:
                return None
            return Message(**base, **where, channel_kind="staff", thread=str(card))
        me = self.client.user
        if me is not None and thread.owner_id == me.id:  # a thread we opened for a mention
            return Message(**base, **where, channel_kind="other", thread=str(thread.id), direct=direct)
        return None

    async def _resolve(self, channel: Any) -> Any:
        """The full channel when discord.py only knows its id (not cached yet)."""
        if isinstance(channel, discord.PartialMessageable | discord.Object):
            cached = self.client.get_channel(channel.id)
            if cached is not None:
                return cached
            try:
                return await self.client.fetch_channel(channel.id)
            except discord.HTTPException:
                logger.warning("channel %s is unknown to the bot; message ignored", channel.id)
                return None
        return channel

    async def card_of(self, channel: Any, message_id: int, resolved: Any) -> int | None:
        """The card a staff message answers: ``message_id`` itself when it is one of our
        cards (our post with an embed), or the card one of our notices replied to
        (a reminder); ``None`` when staff are replying to anything else."""
        if message_id in self._cards:
            return self._cards[message_id]
        me = self.client.user
        found = resolved if isinstance(resolved, discord.Message) else None
        if found is None:
            try:
                found = await channel.fetch_message(message_id)
            except (discord.NotFound, AttributeError):
                found = None
            except discord.HTTPException:
                logger.warning("could not check whether message %s is a card", message_id)
                return None  # not remembered: ask again next time
        card: int | None = None
        if found is not None and me is not None and found.author.id == me.id:
            if found.embeds:
                card = found.id
            elif found.reference is not None and found.reference.message_id is not None:
                card = found.reference.message_id
        self._remember(message_id, card)
        return card

    def remember_card(self, message_id: int) -> None:
        """A card we just posted (no need to ask Discord about it later)."""
        self._remember(message_id, message_id)

    def _remember(self, message_id: int, card: int | None) -> None:
        self._cards[message_id] = card
        self._cards.move_to_end(message_id)
        while len(self._cards) > KNOWN_CARDS:
            self._cards.popitem(last=False)
