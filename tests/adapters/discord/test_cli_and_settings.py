"""The command line a server owner uses, and the settings it reads."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import discord
import pytest
import typer
from typer.testing import CliRunner

from adapters.discord import cli
from adapters.discord.inbound import build_client
from adapters.discord.settings import load_discord_settings
from bot.settings import Settings
from tests.adapters.discord.conftest import SETTINGS, ErrorLog
from tests.adapters.discord.fake import FakeDiscord
from tests.chat import make_core

NEEDED = {"view_channel", "send_messages", "send_messages_in_threads", "create_public_threads", "embed_links",
          "read_message_history"}


def journeybot() -> typer.Typer:
    app, run_app = typer.Typer(), typer.Typer()
    app.add_typer(run_app, name="run")
    cli.register(app, run_app)
    return app


def test_a_process_runs_the_shards_its_command_line_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    served: list[Any] = []
    monkeypatch.setattr(cli, "serve", lambda settings, discord_settings, token: served.append(discord_settings))
    monkeypatch.setenv("DISCORD_TOKEN", "MTA0NTY3ODkwMTIzNDU2Nzg5.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789")
    db = ["--db", str(tmp_path / "bot.db")]

    result = CliRunner().invoke(journeybot(), ["run", "discord", "--shards", "2-3", "--shard-count", "4", *db])
    assert result.exit_code == 0, result.output
    (settings,) = served
    assert (settings.shard_ids, settings.shard_count) == ([2, 3], 4)
    client = build_client(settings)  # sharded without `sharded: true`: the shards say so
    assert isinstance(client, discord.AutoShardedClient)
    assert (client.shard_ids, client.shard_count) == ([2, 3], 4)

    for wrong, complaint in ((["--shards", "0,x", "--shard-count", "2"], "--shards takes"),
                             (["--shards", "4", "--shard-count", "4"], "below shard_count"),
                             (["--shards", "0"], "shard_count")):
        result = CliRunner().invoke(journeybot(), ["run", "discord", *wrong, *db])
        assert result.exit_code == 2 and complaint in result.stderr, result.output
    assert len(served) == 1


def test_invite_url_asks_for_exactly_the_permissions_needed() -> None:
    result = CliRunner().invoke(journeybot(), ["discord", "invite-url", "--app-id", "1234"])
    assert result.exit_code == 0, result.output
    url = urlparse(result.stdout.strip().splitlines()[0])
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("discord.com", "/oauth2/authorize")
    assert query["client_id"] == ["1234"]
    assert query["scope"] == ["bot applications.commands"]
    granted = discord.Permissions(int(query["permissions"][0]))
    assert granted == discord.Permissions(**dict.fromkeys(NEEDED, True))
    assert not granted.mention_everyone
    assert not granted.administrator


def test_invite_url_reads_the_application_id_from_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("help_channels: [help]\ndiscord:\n  application_id: 5678\n", encoding="utf-8")
    result = CliRunner().invoke(journeybot(), ["discord", "invite-url", "--config", str(config)])
    assert result.exit_code == 0, result.output
    assert "client_id=5678" in result.stdout


def test_invite_url_without_an_application_id_says_where_to_find_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_APPLICATION_ID", raising=False)
    result = CliRunner().invoke(journeybot(), ["discord", "invite-url"])
    assert result.exit_code == 2
    assert "--app-id" in result.stderr


def test_run_without_a_token_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    result = CliRunner().invoke(journeybot(), ["run", "discord"])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "DISCORD_TOKEN is not set" in result.stderr


@pytest.mark.parametrize("token", ["hello", "Bot MTA0NTY3ODkwMTIzNDU2Nzg5.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789",
                                   "https://discord.com/developers/applications"])
def test_a_token_that_cannot_be_one_is_one_clear_line(token: str, monkeypatch: pytest.MonkeyPatch,
                                                      tmp_path: Path) -> None:
    """Said before anything loads or connects: no model, no network, no store created."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", token)
    result = CliRunner().invoke(journeybot(), ["run", "discord"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "DISCORD_TOKEN does not look like a bot token" in result.stderr
    assert token not in result.stderr, "the line never repeats what might be a secret"
    assert list(tmp_path.iterdir()) == []


async def test_discord_out_of_reach_is_one_clear_line(embedder: Any, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: as when DNS, a proxy or a firewall stops the connection
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{port}/api/v10")
    assert await run_against(None, embedder, monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("journeybot: cannot reach Discord")
    assert "Traceback" not in err


async def run_against(fake: FakeDiscord | None, embedder: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """``serve`` as ``journeybot run discord`` calls it (in its own thread and event loop)."""
    async def small_core(settings: Any) -> Any:
        return await make_core(embedder)

    monkeypatch.setattr(cli, "open_core", small_core)
    try:
        await asyncio.to_thread(cli.serve, Settings(), SETTINGS, "test-token")
    except typer.Exit as exit_:
        return exit_.exit_code
    return 0


async def test_a_wrong_token_is_one_clear_line(fake: FakeDiscord, embedder: Any, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str], error_log: ErrorLog) -> None:
    fake.token = "the-real-token"  # Discord answers 401 to ours
    assert await run_against(fake, embedder, monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"journeybot: {cli.BAD_TOKEN}"
    assert fake.identify is None  # never reached the gateway


async def test_a_refused_message_content_intent_is_one_clear_line(
        fake: FakeDiscord, embedder: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        error_log: ErrorLog) -> None:
    fake.refuse_privileged = True  # close code 4014, as when the toggle is off in the Developer Portal
    assert await run_against(fake, embedder, monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"journeybot: {cli.NO_INTENT}"
    assert "Message Content Intent" in err


def test_discord_section_of_the_settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("staff_channel: staff\ndiscord:\n  guild_ids: [2000]\n  help_channels: [help, '3100']\n"
                      "  staff_roles: [Support]\n  spaces: {'2000': tidepool}\n", encoding="utf-8")
    monkeypatch.setenv("JOURNEYBOT_DISCORD__STAFF_CHANNEL", "support-staff")
    settings = load_discord_settings(config)
    assert settings.guild_ids == [2000]
    assert settings.help_channels == ["help", "3100"]
    assert settings.staff_channel == "support-staff"  # the environment beats the file
    assert settings.space_of(2000) == "tidepool"
    assert settings.space_of(None) == "default"


@pytest.mark.parametrize(("section", "complaint"), [
    ("  token: abc\n", "DISCORD_TOKEN"),
    ("  shard_ids: [0]\n", "shard_count"),
    ("  help_channels: [staff]\n", "staff channel"),
])
def test_settings_mistakes_are_refused(tmp_path: Path, section: str, complaint: str) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("discord:\n" + section, encoding="utf-8")
    with pytest.raises(ValueError, match=complaint):
        load_discord_settings(config)
