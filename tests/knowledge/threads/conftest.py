"""Recorded exports beside the tests, and the staff and redaction they are read with."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.trust.redact import redact
from knowledge.threads.model import Staff

HERE = Path(__file__).resolve().parent
SLACK = HERE / "slack_export"  # Slack "Export data": users, channels, a folder of days per channel
DISCORD = HERE / "discord_export"  # DiscordChatExporter --format Json --include-threads

# Slack: Dana by user id, Mo by display name. Discord: Dana by id, Mo by role.
SLACK_STAFF = Staff.named(["U0STAFF001", "mo"])
DISCORD_STAFF = Staff.named(["1200000000000000001"], roles=["Support"])


def redacted(text: str) -> str:
    return redact(text).text


@pytest.fixture
def slack_copy(tmp_path: Path) -> Path:
    """A copy of the Slack export that a test may break."""
    return Path(shutil.copytree(SLACK, tmp_path / "slack_export"))


@pytest.fixture
def discord_copy(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DISCORD, tmp_path / "discord_export"))
