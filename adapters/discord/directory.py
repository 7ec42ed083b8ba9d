"""Which channel is which, who is who, and which message is one of our cards.

Settings name channels and roles by name or id; Discord events carry ids and
cached objects. Both directions of the adapter read the same answers: the
translator to tell a question from a staff reply, the performer to find the
staff channel. What one direction learns that the other needs (a card just
posted, the space of a case moved to a DM) is kept here.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import discord

from adapters.discord.settings import DiscordSettings
from adapters.names import CoreNames

logger = logging.getLogger(__name__)

KNOWN_CARDS = 2048  # how many "is this message one of our cards?" answers to remember


def _names(values: list[str]) -> frozenset[str]:
    return frozenset(v.strip().lstrip("#@").lower() for v in values)


class Directory:
    """Channels, members' roles and our cards, read against the Discord settings."""

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

    @property
    def me(self) -> discord.ClientUser | None:
        """The bot's own user, once logged in."""
        return self.client.user

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

    def is_staff_address(self, channel: str) -> bool:
        """Whether an action's address channel (an id, or the core's name for it) is the staff channel."""
        if channel.isdigit():
            found = self.client.get_channel(int(channel))
            if found is not None and self.is_staff_channel(found):
                return True
        return channel in (self.names.staff_channel, self.settings.staff_channel)

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

    async def resolve(self, channel: Any) -> Any:
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

    def concerns_question(self, channel_id: int, message_id: int, guild_id: int | None) -> bool:
        """Edits and deletes matter only for messages that may have opened a case."""
        if guild_id is None:
            return True  # a DM
        channel = self.client.get_channel(channel_id)
        if isinstance(channel, discord.Thread):
            return message_id == channel.id and self.is_help(channel.parent or channel.parent_id)
        return self.is_help(channel or channel_id)

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

    def roles_in(self, member: Any, channel: Any) -> tuple[str, ...]:
        """``roles`` with the member's permissions in ``channel`` (guild-wide when unknown)."""
        permissions = None
        if isinstance(member, discord.Member):
            try:
                permissions = channel.permissions_for(member)
            except Exception:  # parent not cached and the like: guild-wide permissions will do
                permissions = None
        return self.roles(member, permissions)

    # -- our cards ----------------------------------------------------------------

    async def card_of(self, channel: Any, message_id: int, resolved: Any) -> int | None:
        """The card a staff message answers: ``message_id`` itself when it is one of our
        cards (our post with an embed), or the card one of our notices replied to
        (a reminder); ``None`` when staff are replying to anything else."""
        if message_id in self._cards:
            return self._cards[message_id]
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
        me = self.me
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
