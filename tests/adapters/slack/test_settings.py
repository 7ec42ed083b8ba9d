"""The Slack settings section, ``journeybot run slack`` and its token checks."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from adapters.slack.adapter import SlackAdapter
from adapters.slack.cli import register
from adapters.slack.errors import SlackSetupError, SlackTokenError
from adapters.slack.settings import SlackSettingsError, load_slack_settings
from tests.adapters.slack.conftest import slack_settings
from tests.adapters.slack.fake import FakeSlack

TOKENS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL",
          "SLACK_HELP_CHANNELS", "SLACK_STAFF_USERS")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TOKENS:
        monkeypatch.delenv(name, raising=False)


def test_the_yaml_section_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("help_channels: [help]\nslack:\n  help_channels: ['#Help', C0HELP]\n"
                      "  staff_channel: '#support-staff'\n  staff_groups: ['@support']\n"
                      "  team_spaces: {T1: acme}\n  staff_users: [U1]\n")
    monkeypatch.setenv("SLACK_STAFF_USERS", "U7, U8")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")

    settings = load_slack_settings(config)

    assert settings.help_channels == ["help", "C0HELP"]
    assert settings.staff_channel == "support-staff"
    assert settings.staff_groups == ["support"]
    assert settings.staff_users == ["U7", "U8"]
    assert settings.api_url == "http://127.0.0.1:9/api/"  # slack_sdk needs the trailing slash
    assert settings.space_of("T1") == "acme"
    assert settings.space_of("T2") == "default"


def test_tokens_in_the_yaml_file_are_refused(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("slack:\n  bot_token: xoxb-oops\n")

    with pytest.raises(SlackSettingsError, match="SLACK_BOT_TOKEN"):
        load_slack_settings(config)


def test_a_typo_in_the_slack_section_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("slack:\n  staf_channel: desk\n")
    with pytest.raises(SlackSettingsError, match=r"unknown setting 'slack.staf_channel' "
                                                 r"\(did you mean 'staff_channel'\?\)"):
        load_slack_settings(config)


def test_token_problems_say_which_variable_and_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "SLACK_BOT_TOKEN is not set" in (load_slack_settings().token_problem(http=False) or "")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    assert "SLACK_APP_TOKEN is not set" in (load_slack_settings().token_problem(http=False) or "")
    assert "SLACK_SIGNING_SECRET is not set" in (load_slack_settings().token_problem(http=True) or "")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xoxb-wrong-kind")
    assert "should start with xapp-" in (load_slack_settings().token_problem(http=False) or "")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    assert load_slack_settings().token_problem(http=False) is None


def cli() -> typer.Typer:
    app, run_app = typer.Typer(), typer.Typer()
    app.add_typer(run_app, name="run")
    register(app, run_app)
    return app


def test_run_slack_without_a_token_fails_with_one_clear_line() -> None:
    result = CliRunner().invoke(cli(), ["run", "slack"])

    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "SLACK_BOT_TOKEN is not set" in lines[0]
    assert "OAuth & Permissions" in lines[0]


def test_run_slack_http_needs_the_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")

    result = CliRunner().invoke(cli(), ["run", "slack", "--http", "--port", "0"])

    assert result.exit_code != 0
    assert "SLACK_SIGNING_SECRET is not set" in result.output


@pytest.fixture
def fake_in_a_thread() -> Iterator[FakeSlack]:
    """The fake served from its own thread and loop, for the synchronous command line."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: list[FakeSlack] = []

    def serve() -> None:
        asyncio.set_event_loop(loop)
        holder.append(loop.run_until_complete(FakeSlack().start()))
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fake-slack", daemon=True)
    thread.start()
    assert started.wait(5)
    yield holder[0]
    asyncio.run_coroutine_threadsafe(holder[0].close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_run_slack_with_a_refused_token_fails_with_one_clear_line(
        fake_in_a_thread: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    monkeypatch.setenv("SLACK_API_URL", fake_in_a_thread.api_url)

    result = CliRunner().invoke(cli(), ["run", "slack"])

    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["journeybot: Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth "
                     "Token (xoxb-…) from your app's OAuth & Permissions page (see docs/slack.md)"]
    assert [c.method for c in fake_in_a_thread.calls] == ["auth.test"]  # before any model is loaded


async def test_a_refused_bot_token_is_named(fake: FakeSlack) -> None:
    adapter = SlackAdapter(slack_settings(fake, bot_token="xoxb-revoked"))
    try:
        with pytest.raises(SlackTokenError, match=r"Slack refused SLACK_BOT_TOKEN \(invalid_auth\)"):
            await adapter.check()
    finally:
        await adapter.stop()


async def test_a_refused_app_token_is_named(fake: FakeSlack) -> None:
    adapter = SlackAdapter(slack_settings(fake, app_token="xapp-revoked"), mode="socket")

    async def sink(event: object) -> None: ...

    try:
        with pytest.raises(SlackTokenError, match=r"Slack refused SLACK_APP_TOKEN"):
            await adapter.start(sink)  # type: ignore[arg-type]
    finally:
        await adapter.stop()


async def test_a_staff_channel_that_cannot_be_found_stops_the_start(fake: FakeSlack) -> None:
    adapter = SlackAdapter(slack_settings(fake, staff_channel="#nowhere"))
    try:
        with pytest.raises(SlackSetupError, match=r"staff channel #nowhere was not found: invite the bot"):
            await adapter.check()
    finally:
        await adapter.stop()
    assert fake.of("conversations.list")
