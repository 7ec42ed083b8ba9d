"""The Slack section of journeybot's settings.

Tokens come only from the environment (``SLACK_BOT_TOKEN``,
``SLACK_APP_TOKEN``, ``SLACK_SIGNING_SECRET``); everything else may also sit
under a ``slack:`` key of the YAML settings file, which the environment
overrides. Channels are names or ids; staff and moderators are user ids or
user groups (handles or ids), because Slack has no roles of its own.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated, Any

import yaml  # type: ignore[import-untyped, unused-ignore]
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SECRETS = ("bot_token", "app_token", "signing_secret")

Names = Annotated[list[str], NoDecode]

HOW_TO = {
    "bot_token": "copy the Bot User OAuth Token (xoxb-…) from your app's OAuth & Permissions page "
                 "(see docs/slack.md)",
    "app_token": "create an app-level token (xapp-…) with the connections:write scope under Basic "
                 "Information → App-Level Tokens (see docs/slack.md)",
    "signing_secret": "copy the Signing Secret from your app's Basic Information page (see docs/slack.md)",
}
PREFIXES = {"bot_token": "xoxb-", "app_token": "xapp-"}


class SlackSettingsError(ValueError):
    """The Slack settings cannot work; the message says what to do."""


class SlackSettings(BaseSettings):
    """How journeybot finds its way around one Slack workspace."""

    model_config = SettingsConfigDict(env_prefix="SLACK_", extra="ignore")

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str | None = Field(default=None, description="Web API base URL (a proxy, or a local fake in tests)")
    help_channels: Names = Field(default_factory=lambda: ["help"], description="names or ids")
    staff_channel: str = Field(default="staff", description="name or id of the one staff channel")
    staff_users: Names = Field(default_factory=list, description="user ids")
    staff_groups: Names = Field(default_factory=list, description="user-group handles or ids")
    moderator_users: Names = Field(default_factory=list)
    moderator_groups: Names = Field(default_factory=list)
    space: str = Field(default="default", description="the knowledge space questions are answered from")
    team_spaces: dict[str, str] = Field(default_factory=dict, description="team id → space")
    command: str = "/journeybot"
    cache_seconds: float = Field(default=300.0, ge=0, description="how long channel, user and group lookups last")
    post_interval_seconds: float = Field(default=1.0, ge=0, description="at most one post per channel this often")
    rate_limit_retries: int = Field(default=3, ge=0, le=10)

    @field_validator("help_channels", "staff_users", "staff_groups", "moderator_users",
                     "moderator_groups", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """Accept a list, a JSON list or a comma-separated string (handy in the environment)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("help_channels", "staff_groups", "moderator_groups", mode="after")
    @classmethod
    def _bare(cls, value: list[str]) -> list[str]:
        return [name.strip().lstrip("#@").lower() if not is_slack_id(name.strip()) else name.strip()
                for name in value]

    @field_validator("staff_channel", mode="after")
    @classmethod
    def _bare_channel(cls, value: str) -> str:
        value = value.strip()
        return value if is_slack_id(value) else value.lstrip("#").lower()

    @field_validator("api_url", mode="after")
    @classmethod
    def _trailing_slash(cls, value: str | None) -> str | None:
        # slack_sdk joins method names onto the base URL: without the slash
        # "http://h/api" + "chat.postMessage" would lose the "api" part.
        if not value:
            return None
        return value if value.endswith("/") else value + "/"

    def space_of(self, team_id: str | None) -> str:
        return self.team_spaces.get(team_id or "", self.space)

    def token_problem(self, *, http: bool) -> str | None:
        """The first token that is missing or malformed, said how to fix it."""
        needed = ["bot_token", "signing_secret" if http else "app_token"]
        for name in needed:
            secret: SecretStr | None = getattr(self, name)
            value = secret.get_secret_value().strip() if secret else ""
            if not value:
                return f"SLACK_{name.upper()} is not set: {HOW_TO[name]}"
            prefix = PREFIXES.get(name)
            if prefix and not value.startswith(prefix):
                return (f"SLACK_{name.upper()} does not look right (it should start with {prefix}): "
                        f"{HOW_TO[name]}")
        return None


def is_slack_id(value: str) -> bool:
    """Slack ids are upper-case letters and digits starting with C, G, D, S or U."""
    return len(value) >= 3 and value[0] in "CGDSUW" and value.isalnum() and value.isupper()


def load_slack_settings(config: Path | None = None, **overrides: Any) -> SlackSettings:
    """The ``slack:`` section of the YAML file, then the environment, then ``overrides``."""
    section: dict[str, Any] = {}
    if config is not None:
        loaded = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        found = loaded.get("slack") if isinstance(loaded, dict) else None
        if found is not None and not isinstance(found, dict):
            raise SlackSettingsError(f"{config}: the slack section must be a mapping of settings")
        section = dict(found or {})
    leaked = [name for name in SECRETS if name in section]
    if leaked:
        raise SlackSettingsError(
            f"{config}: remove {', '.join('slack.' + n for n in leaked)}; tokens are read only from "
            f"the environment ({', '.join('SLACK_' + n.upper() for n in leaked)})")
    unknown = sorted(set(section) - set(SlackSettings.model_fields))
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(SlackSettings.model_fields), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SlackSettingsError(f"{config}: unknown setting 'slack.{unknown[0]}'{hint}")
    env_values = SlackSettings().model_dump(exclude_unset=True)
    return SlackSettings(**{**section, **env_values, **overrides})
