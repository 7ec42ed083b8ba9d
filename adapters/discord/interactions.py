"""Slash commands and button clicks: acknowledged at once, answered from ``perform``.

Discord wants an interaction acknowledged within 3 seconds, and the core may
take longer (it embeds the question). So every interaction is deferred first;
the event sent to the core carries the interaction's id, every action the
core returns carries that id as ``event``, and a reply meant only for the
clicker (``private_to``) becomes an ephemeral follow-up on the interaction
while its token is still valid (15 minutes), a DM after that.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

if TYPE_CHECKING:
    from adapters.discord.inbound import Listener

logger = logging.getLogger(__name__)

TOKEN_LIFETIME = 14 * 60.0  # seconds; Discord's interaction tokens last 15 minutes


ACKNOWLEDGING = 5.0  # seconds a follow-up waits for the acknowledgement to go through


@dataclass(slots=True)
class Pending:
    """An interaction whose core event is being handled; ``acknowledgement`` is its
    deferral, once the runtime has the event."""

    interaction: discord.Interaction[Any]
    expires: float
    answered: bool = field(default=False)
    acknowledgement: asyncio.Future[Any] | None = field(default=None)

    def acknowledge(self, deferral: Awaitable[Any]) -> None:
        """Acknowledge the interaction (once) with ``deferral``."""
        if self.acknowledgement is None:
            self.acknowledgement = asyncio.ensure_future(deferral)
        elif asyncio.iscoroutine(deferral):
            deferral.close()  # acknowledged already: never awaited

    async def acknowledged(self) -> bool:
        """Whether the interaction was acknowledged (waiting, briefly, for it to go through)."""
        if self.acknowledgement is None:
            return False
        try:
            await asyncio.wait_for(asyncio.shield(self.acknowledgement), ACKNOWLEDGING)
        except (TimeoutError, discord.HTTPException):
            logger.warning("acknowledging interaction %s failed", self.interaction.id)
            return False
        return True


class Interactions:
    """Event id -> the interaction that caused it, for a short while."""

    def __init__(self) -> None:
        self._pending: dict[str, Pending] = {}

    def hold(self, event_id: str, interaction: discord.Interaction[Any]) -> Pending:
        now = time.monotonic()
        for key in [k for k, p in self._pending.items() if p.expires <= now]:
            del self._pending[key]
        pending = Pending(interaction, now + TOKEN_LIFETIME)
        self._pending[event_id] = pending
        return pending

    async def followup_for(self, event_id: str, user: str) -> discord.Webhook | None:
        """The follow-up webhook when ``user`` caused ``event_id``, the interaction was
        acknowledged (a follow-up needs that) and its token still works."""
        pending = self._pending.get(event_id)
        if pending is None or pending.expires <= time.monotonic():
            return None
        if str(pending.interaction.user.id) != user or not await pending.acknowledged():
            return None
        return pending.interaction.followup

    def answered(self, event_id: str) -> None:
        pending = self._pending.get(event_id)
        if pending is not None:
            pending.answered = True

    def __len__(self) -> int:
        return len(self._pending)


def register_commands(tree: app_commands.CommandTree[Any], listener: Listener) -> None:
    """/private and /recap. Discord shows /private only to members who can manage
    threads (a server may grant it to its moderator role under Server Settings →
    Integrations); the core still decides who may do what and refuses politely
    (an ephemeral reply)."""

    @tree.command(name="private",
                  description="Moderators: move this question to a private conversation with the asker")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_threads=True)
    async def private(interaction: discord.Interaction[Any]) -> None:
        await listener.on_app_command(interaction, "private")

    @tree.command(name="recap", description="What I have on record for you (only you see it)")
    async def recap(interaction: discord.Interaction[Any]) -> None:
        await listener.on_app_command(interaction, "recap")


async def sync_commands(tree: app_commands.CommandTree[Any], guild_ids: list[int]) -> None:
    """Make the commands appear: per guild right away, or globally (slower to show)."""
    targets: list[discord.Object | None] = [discord.Object(g) for g in guild_ids] or [None]
    for guild in targets:
        try:
            if guild is not None:
                tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
        except discord.Forbidden:
            logger.warning("cannot register slash commands in guild %s: re-invite the bot with the "
                           "applications.commands scope (journeybot discord invite-url)",
                           guild.id if guild else "(global)")
            continue
        except discord.HTTPException as exc:
            logger.warning("syncing slash commands to %s failed: %s",
                           guild.id if guild else "all guilds", exc)
            continue
        logger.info("slash commands %s synced to %s", ", ".join("/" + c.name for c in synced),
                    f"guild {guild.id}" if guild else "all guilds")
