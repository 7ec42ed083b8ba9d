"""Settings: defaults, a YAML file, the environment, explicit values — in that order."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import load_settings


def test_file_then_environment_then_explicit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("help_channels: [ask, support]\nstaff_channel: desk\n"
                      "policy: {answer_margin: 0.2, repeat_threshold: 0.9}\nslack: {space: x}\n")
    monkeypatch.setenv("JOURNEYBOT_POLICY__REPEAT_THRESHOLD", "0.85")
    settings = load_settings(config, staff_channel="cards")
    assert settings.help_channels == ["ask", "support"]
    assert settings.policy.answer_margin == 0.2        # from the file
    assert settings.policy.repeat_threshold == 0.85    # the environment beats the file
    assert settings.staff_channel == "cards"           # explicit beats both
    assert settings.policy.answer_threshold == 0.64    # untouched default


def test_bad_settings_are_refused_with_the_reason(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("help_channels: [help]\nstaff_channel: help\n")
    with pytest.raises(ValidationError, match="staff channel cannot also be a help channel"):
        load_settings(config)
    config.write_text("policy: {max_options: 9}\n")
    with pytest.raises(ValidationError, match="max_options"):
        load_settings(config)
    config.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="mapping"):
        load_settings(config)
