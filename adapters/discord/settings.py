"""The Discord section of the settings, declared beside the adapter.

It lives under a ``discord:`` key of the same YAML file the core reads (the
core ignores keys it does not know) and may be overridden from the
environment (``JOURNEYBOT_DISCORD__GUILD_IDS='[123]'``). The bot token is a
secret: it comes only from ``DISCORD_TOKEN`` in the environment, never from
the file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

TOKEN_VARIABLE = "DISCORD_TOKEN"
APP_ID_VARIABLE = "DISCORD_APPLICATION_ID"


class DiscordSettings(BaseSettings):
    """Which guilds, channels and roles the bot works with.

    Channels and roles are named by name or by id (ids survive renames).
    """

    model_config = SettingsConfigDict(env_prefix="JOURNEYBOT_DISCORD__", env_nested_delimiter="__",
                                      extra="forbid")

    application_id: int | None = Field(None, description="for the invite URL; read from Discord at login")
    guild_ids: list[int] = Field(default_factory=list,
                                 description="guilds to sync slash commands to (empty: global)")
    help_channels: list[str] = Field(default_factory=lambda: ["help"],
                                     description="text or forum channels whose questions the bot takes")
    staff_channel: str = Field("staff", description="where routed questions are posted as cards")
    staff_roles: list[str] = Field(default_factory=lambda: ["staff"])
    moderator_roles: list[str] = Field(default_factory=lambda: ["moderator"])
    manage_threads_moderates: bool = Field(
        True, description="members with Manage Threads count as moderators")
    space: str = Field("default", description="the knowledge space questions are answered from")
    spaces: dict[str, str] = Field(default_factory=dict, description="guild id -> space, when guilds differ")
    sync_commands: bool = Field(True, description="sync /private and /recap on start")
    sharded: bool = Field(False, description="run as an AutoShardedClient (large bots)")
    shard_ids: list[int] | None = Field(None, description="the shards this process runs")
    shard_count: int | None = Field(None, ge=1, description="total shards across all processes")

    @model_validator(mode="after")
    def _consistent(self) -> DiscordSettings:
        if self.staff_channel in self.help_channels:
            raise ValueError("discord: the staff channel cannot also be a help channel")
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("discord: shard_ids needs shard_count (the total across processes)")
            if any(not 0 <= s < self.shard_count for s in self.shard_ids):
                raise ValueError("discord: every shard id must be below shard_count")
        return self

    def space_of(self, guild_id: int | None) -> str:
        """The knowledge space of a guild (DMs use the default space)."""
        if guild_id is None:
            return self.space
        return self.spaces.get(str(guild_id), self.space)


def load_discord_settings(config: Path | None = None, **overrides: Any) -> DiscordSettings:
    """The ``discord:`` section of ``config``, then the environment, then ``overrides``."""
    section: dict[str, Any] = {}
    if config is not None:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        if isinstance(loaded, dict):
            section = dict(loaded.get("discord") or {})
    if "token" in section:
        raise ValueError("discord: put the bot token in the DISCORD_TOKEN environment variable, "
                         "not in the settings file")
    env_values = DiscordSettings().model_dump(exclude_unset=True)
    return DiscordSettings(**{**section, **env_values, **overrides})


def discord_token() -> str | None:
    """The bot token, from the environment only."""
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    return token or None


# A bot token is three base64url parts joined by dots (the bot's id, a time, a signature).
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}")


def token_shape_problem(token: str) -> str | None:
    """Why ``token`` cannot be a bot token (said before anything connects), or ``None``.

    Only the shape is checked: whether Discord accepts it is for Discord to say.
    The token itself is never repeated.
    """
    if _TOKEN_SHAPE.fullmatch(token):
        return None
    if token.lower().startswith("bot ") and _TOKEN_SHAPE.fullmatch(token[4:].strip()):
        return "it starts with \"Bot \": put only the token itself in DISCORD_TOKEN"
    return f"a bot token is three parts joined by dots, about 70 characters; this is {len(token)}"
