"""The app manifest asks for what the adapter uses, and nothing it doesn't."""

from __future__ import annotations

import re
from pathlib import Path

import yaml  # type: ignore[import-untyped]

from adapters.slack.inbound import PRIVATE_SHORTCUT
from adapters.slack.settings import SlackSettings

PACKAGE = Path(__file__).resolve().parents[3] / "adapters" / "slack"
MANIFEST = yaml.safe_load((PACKAGE / "manifest.yaml").read_text(encoding="utf-8"))

# Web API methods → the bot scope each needs (None: no scope, or the app-level token's).
SCOPE_OF = {
    "auth_test": None, "apps_connections_open": None, "chat_getPermalink": None,
    "chat_postMessage": "chat:write", "chat_postEphemeral": "chat:write", "chat_update": "chat:write",
    "conversations_open": "im:write", "conversations_list": "channels:read", "conversations_info": "channels:read",
    "users_info": "users:read", "usergroups_list": "usergroups:read", "usergroups_users_list": "usergroups:read",
    # looking for an earlier post of an action before sending it again
    "conversations_history": "channels:history", "conversations_replies": "channels:history",
}


def methods_called() -> set[str]:
    source = "\n".join(p.read_text(encoding="utf-8") for p in PACKAGE.glob("*.py"))
    direct = set(re.findall(r"client\.([a-z]+_[A-Za-z_]+)\(", source))
    looked_up = {m.replace(".", "_") for m in re.findall(r'_call\("([a-z.A-Z]+)"', source)}
    return direct | looked_up


def test_every_web_api_method_the_adapter_calls_has_its_scope() -> None:
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    called = methods_called()

    assert called <= set(SCOPE_OF), f"add the scope of {called - set(SCOPE_OF)} to SCOPE_OF and the manifest"
    assert {SCOPE_OF[m] for m in called} - {None} <= scopes
    # History scopes back the message events; commands backs the slash command and the shortcut.
    assert {"channels:history", "groups:history", "im:history", "app_mentions:read", "commands"} <= scopes


def test_no_scope_is_asked_for_that_nothing_uses() -> None:
    used = {SCOPE_OF[m] for m in methods_called()} | {
        "channels:history", "groups:history", "im:history", "app_mentions:read", "commands", "groups:read"}

    assert set(MANIFEST["oauth_config"]["scopes"]["bot"]) <= used


def test_events_commands_and_shortcuts_match_the_app() -> None:
    settings = MANIFEST["settings"]

    assert set(settings["event_subscriptions"]["bot_events"]) == {
        "app_mention", "message.channels", "message.groups", "message.im"}
    assert settings["interactivity"]["is_enabled"]
    assert settings["socket_mode_enabled"]
    assert [c["command"] for c in MANIFEST["features"]["slash_commands"]] == [SlackSettings().command]
    assert [s["callback_id"] for s in MANIFEST["features"]["shortcuts"]] == [PRIVATE_SHORTCUT]
