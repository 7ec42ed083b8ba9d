"""Factories for what Slack sends: Events API envelopes, button clicks, slash
commands and shortcuts, in the shapes Slack documents,
plus request signing."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

from tests.adapters.slack.fake import HELP, TEAM

SECRET = "test-signing-secret"
_numbers = itertools.count(1)


def signed_headers(body: str, content_type: str, *, secret: str = SECRET, at: int | None = None) -> dict[str, str]:
    ts = str(at if at is not None else int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature, "Content-Type": content_type}


def message(text: str, *, ts: str, user: str = "UANN", channel: str = HELP, thread_ts: str | None = None,
            **extra: Any) -> dict[str, Any]:
    event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
             "event_ts": ts, "team": TEAM,
             "channel_type": "im" if channel.startswith("D") else "channel"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {**event, **extra}


def mention(text: str, *, ts: str, user: str = "UANN", channel: str = HELP,
            thread_ts: str | None = None) -> dict[str, Any]:
    event = message(f"<@UBOT> {text}", ts=ts, user=user, channel=channel, thread_ts=thread_ts)
    event["type"] = "app_mention"
    event.pop("channel_type")
    return event


def edited(ts: str, old: str, new: str, *, user: str = "UANN", channel: str = HELP) -> dict[str, Any]:
    edit_ts = f"{float(ts) + 5:.6f}"
    return {"type": "message", "subtype": "message_changed", "channel": channel, "hidden": True,
            "ts": edit_ts, "event_ts": edit_ts, "channel_type": "channel",
            "message": {"type": "message", "user": user, "text": new, "ts": ts,
                        "edited": {"user": user, "ts": edit_ts}},
            "previous_message": {"type": "message", "user": user, "text": old, "ts": ts}}


def deleted(ts: str, text: str, *, user: str = "UANN", channel: str = HELP) -> dict[str, Any]:
    event_ts = f"{float(ts) + 9:.6f}"
    return {"type": "message", "subtype": "message_deleted", "channel": channel, "hidden": True,
            "deleted_ts": ts, "ts": event_ts, "event_ts": event_ts, "channel_type": "channel",
            "previous_message": {"type": "message", "user": user, "text": text, "ts": ts}}


def envelope(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    return {"token": "legacy", "team_id": TEAM, "api_app_id": "A1", "type": "event_callback",
            "event_id": event_id or f"Ev{next(_numbers):08d}", "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}], "event": event}


def block_actions(action_id: str, value: str, *, user: str, channel: str, message_ts: str,
                  thread_ts: str | None = None, response_url: str = "") -> dict[str, Any]:
    container = {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False}
    if thread_ts:
        container["thread_ts"] = thread_ts
    return {"type": "block_actions", "team": {"id": TEAM, "domain": "acme"},
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "api_app_id": "A1", "token": "legacy", "container": container, "trigger_id": f"tr{next(_numbers)}",
            "channel": {"id": channel, "name": "somewhere"},
            "message": {"type": "message", "ts": message_ts, "user": "UBOT", "bot_id": "BBOT", "text": "…"},
            "response_url": response_url,
            "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                         "text": {"type": "plain_text", "text": "x"}, "action_ts": f"{time.time():.6f}"}]}


def slash(text: str, *, user: str, channel: str = HELP, command: str = "/journeybot",
          response_url: str = "") -> dict[str, str]:
    return {"token": "legacy", "team_id": TEAM, "team_domain": "acme", "channel_id": channel,
            "channel_name": "help", "user_id": user, "user_name": user.lower(), "command": command,
            "text": text, "api_app_id": "A1", "response_url": response_url,
            "trigger_id": f"tr{next(_numbers)}"}


def message_shortcut(*, user: str, channel: str, ts: str, thread_ts: str | None = None,
                     callback_id: str = "journeybot_private") -> dict[str, Any]:
    message_ = {"type": "message", "user": "UANN", "ts": ts, "text": "…"}
    if thread_ts:
        message_["thread_ts"] = thread_ts
    return {"type": "message_action", "token": "legacy", "action_ts": f"{time.time():.6f}",
            "team": {"id": TEAM, "domain": "acme"}, "user": {"id": user, "name": user.lower()},
            "channel": {"id": channel, "name": "help"}, "callback_id": callback_id,
            "trigger_id": f"tr{next(_numbers)}", "message_ts": ts, "message": message_,
            "response_url": ""}


def form(fields: dict[str, str]) -> str:
    return urlencode(fields)


def interactive(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})
