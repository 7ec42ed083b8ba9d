"""Settings: defaults, a YAML file, the environment, explicit values — in that order."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.settings import SettingsError, load_settings


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
    with pytest.raises(SettingsError, match="staff channel cannot also be a help channel"):
        load_settings(config)
    config.write_text("policy: {max_options: 9}\n")
    with pytest.raises(SettingsError, match="max_options"):
        load_settings(config)
    config.write_text("- just\n- a list\n")
    with pytest.raises(ValueError, match="mapping"):
        load_settings(config)


def test_a_typo_in_the_file_is_refused_with_a_suggestion(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("help_channels: [help]\nstaf_channel: desk\n")
    with pytest.raises(SettingsError) as refused:
        load_settings(config)
    assert str(refused.value) == (f"{config}:2: unknown setting 'staf_channel' "
                                  "(did you mean 'staff_channel'?)")
    config.write_text("policy:\n  answer_margin: 0.2\n  answer_treshold: 0.5\n")
    with pytest.raises(SettingsError, match=r":3: unknown setting 'policy.answer_treshold' "
                                            r"\(did you mean 'answer_threshold'\?\)"):
        load_settings(config)
    config.write_text("discord:\n  help_channel: [help]\n")  # a platform's section: at once, not at `run`
    with pytest.raises(SettingsError, match=r":2: unknown setting 'discord.help_channel' "
                                            r"\(did you mean 'help_channels'\?\)"):
        load_settings(config)
    config.write_text("slack:\n  help_channels: [help]\n  staff_users: [U1]\ndiscord:\n  staff_roles: [Staff]\n")
    assert load_settings(config) is not None


def test_adapter_sections_are_left_to_their_adapters(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("discord: {guild_ids: [1]}\nslack: {space: x}\nstaff_channel: desk\n")
    assert load_settings(config).staff_channel == "desk"


def test_a_typo_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYBOT_STAF_CHANNEL", "desk")
    with pytest.raises(SettingsError, match="JOURNEYBOT_STAF_CHANNEL: no such setting "
                                            r"\(did you mean 'JOURNEYBOT_STAFF_CHANNEL'\?\)"):
        load_settings()
    monkeypatch.delenv("JOURNEYBOT_STAF_CHANNEL")
    monkeypatch.setenv("JOURNEYBOT_POLICY__ANSWER_TRESHOLD", "0.5")
    with pytest.raises(SettingsError, match="JOURNEYBOT_POLICY__ANSWER_THRESHOLD"):
        load_settings()
    monkeypatch.delenv("JOURNEYBOT_POLICY__ANSWER_TRESHOLD")
    monkeypatch.setenv("JOURNEYBOT_LLM_MODEL", "gpt-test")           # the documented shortcut
    monkeypatch.setenv("JOURNEYBOT_DISCORD__GUILD_IDS", "[1]")       # an adapter's own section
    assert load_settings().llm.model == "gpt-test"


def test_malformed_yaml_and_wrong_types_name_the_file_key_and_line(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("help_channels: [help]\npolicy: {answer_margin: [oops\n")
    with pytest.raises(SettingsError, match=rf"^{config}:\d+: not valid YAML"):
        load_settings(config)
    config.write_text("help_channels: [help]\npolicy:\n  answer_margin: lots\n")
    with pytest.raises(SettingsError) as refused:
        load_settings(config)
    assert str(refused.value).startswith(f"{config}:3: policy.answer_margin: ")
    assert "'lots'" in str(refused.value) and "\n" not in str(refused.value)


def test_a_relative_store_path_is_relative_to_the_settings_file(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "conf").mkdir()
    config = tmp_path / "conf" / "journeybot.yaml"
    config.write_text("db: data/bot.db\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings(config).db == str(tmp_path / "conf" / "data" / "bot.db")
    assert load_settings(config, db="here.db").db == "here.db"   # a --db given on the command line


def test_the_command_line_says_it_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("staf_channel: desk\n")
    result = CliRunner().invoke(app, ["report", "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"journeybot: {config}:1: unknown setting 'staf_channel' (did you mean 'staff_channel'?)"]


def test_a_list_given_as_plain_text_in_the_environment_says_how_to_write_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYBOT_HELP_CHANNELS", "support")
    with pytest.raises(SettingsError, match=r"""JOURNEYBOT_HELP_CHANNELS: a list or a section is JSON .*'\["support"\]'"""):
        load_settings()
    monkeypatch.setenv("JOURNEYBOT_HELP_CHANNELS", '["support", "questions"]')
    assert load_settings().help_channels == ["support", "questions"]


@pytest.mark.parametrize("value", ["5", "-1"])
def test_a_threshold_outside_zero_to_one_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("JOURNEYBOT_POLICY__ANSWER_THRESHOLD", value)
    with pytest.raises(SettingsError, match=r"policy\.answer_threshold"):
        load_settings()
