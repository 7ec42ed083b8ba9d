"""Slack payloads → core events. Translation only: the core decides.

Ids follow ``adapters.slack.ids``: a message is ``<channel>:<ts>``, a
follow-up's thread is ``<channel>:<thread_ts>``. In a DM the thread is left
out, so a DM is one running conversation the core finds by its channel.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from adapters.slack import ids
from adapters.slack.directory import Directory
from adapters.slack.inbound import Payload
from adapters.slack.render import CLAIM, FEEDBACK_BY_ACTION, PICK, SEND_SUGGESTED
from adapters.slack.settings import SlackSettings
from adapters.slack.text import to_plain
from bot.events import Command, Delete, Edit, Event, Feedback, Message

logger = logging.getLogger(__name__)

PLATFORM = "slack"
# Subtypes that are someone saying something; joins, topic changes and the like are not.
SPOKEN = (None, "thread_broadcast", "file_share", "me_message", "bot_message")
_USER_MENTION = re.compile(r"<@([A-Z0-9]+)")


class Translator:
    """Turns Events API, interactivity and slash-command payloads into core events."""

    def __init__(self, directory: Directory, settings: SlackSettings, *, bot_user: str | None) -> None:
        self.directory = directory
        self.settings = settings
        self.bot_user = bot_user

    async def payload(self, payload: Payload) -> Event | None:
        """The core's event for one payload a listener took, or ``None`` when it is not for the core."""
        body, event = payload.body, payload.event
        if payload.kind == "message" and event is not None:
            return await self.message(body, event)
        if payload.kind == "app_mention" and event is not None:
            return await self.mention(body, event)
        if payload.kind == "action":
            return await self.action(body)
        if payload.kind == "command":
            return await self.command(body)
        if payload.kind == "shortcut":
            return await self.shortcut(body, "private")
        return None

    # -- Events API ------------------------------------------------------------------

    async def message(self, body: dict[str, Any], event: dict[str, Any]) -> Event | None:
        subtype = event.get("subtype")
        if subtype == "message_changed":
            return await self.changed(body, event)
        if subtype == "message_deleted":
            return self.deleted(body, event)
        if subtype not in SPOKEN:
            return None
        text = event.get("text") or ""
        if event.get("channel_type") != "im" and self.bot_user and f"<@{self.bot_user}" in text:
            return None  # its app_mention twin brings it, marked as asked of the bot
        return await self._message(body, event, direct=False)

    async def mention(self, body: dict[str, Any], event: dict[str, Any]) -> Event | None:
        return await self._message(body, event, direct=True)

    async def _message(self, body: dict[str, Any], event: dict[str, Any], *, direct: bool) -> Message:
        channel, ts = event["channel"], event["ts"]
        kind = await self.directory.channel_kind(channel, event.get("channel_type"))
        is_bot = bool(event.get("bot_id")) or event.get("subtype") == "bot_message"
        user = event.get("user") or event.get("bot_id") or ""
        return Message(
            id=ids.ref(channel, ts), at=ids.at(ts), space=self.space(body), user=user,
            user_name=event.get("username") if is_bot else await self.directory.user_name(user),
            roles=() if is_bot else await self.directory.roles(user), platform=PLATFORM,
            channel=channel, text=await self.plain(event.get("text") or ""),
            thread=None if kind == "dm" else ids.thread_of(channel, ts, event.get("thread_ts")),
            channel_name=None if kind == "dm" else await self.directory.channel_name(channel),
            channel_kind=kind, direct=direct or kind == "dm", is_bot=is_bot,
        )

    async def changed(self, body: dict[str, Any], event: dict[str, Any]) -> Event | None:
        new = event.get("message") or {}
        old = event.get("previous_message") or {}
        channel, ts = event.get("channel"), new.get("ts")
        if not channel or not ts or new.get("bot_id") or new.get("subtype") == "bot_message":
            return None
        about = ids.ref(channel, ts)
        if new.get("subtype") == "tombstone":  # a thread's root deleted while it has replies
            return Delete(id=f"{about}:deleted", at=ids.at(event.get("event_ts")), space=self.space(body),
                          user=old.get("user", ""), platform=PLATFORM, about=about)
        text = await self.plain(new.get("text") or "")
        if text == await self.plain(old.get("text") or ""):
            return None  # only metadata changed (reply counts, unfurls)
        edited = (new.get("edited") or {}).get("ts") or event.get("event_ts") or event.get("ts")
        user = new.get("user", "")
        return Edit(id=f"{about}:edit:{edited}", at=ids.at(edited), space=self.space(body), user=user,
                    user_name=await self.directory.user_name(user),
                    roles=await self.directory.roles(user), platform=PLATFORM, about=about, text=text)

    def deleted(self, body: dict[str, Any], event: dict[str, Any]) -> Event | None:
        channel, ts = event.get("channel"), event.get("deleted_ts")
        previous = event.get("previous_message") or {}
        if not channel or not ts or previous.get("bot_id"):
            return None
        about = ids.ref(channel, ts)
        return Delete(id=f"{about}:deleted", at=ids.at(event.get("event_ts")), space=self.space(body),
                      user=previous.get("user", ""), platform=PLATFORM, about=about)

    # -- interactivity ---------------------------------------------------------------------

    async def action(self, body: dict[str, Any]) -> Event | None:
        """A button on one of our messages."""
        action = (body.get("actions") or [{}])[0]
        action_id, value = action.get("action_id", ""), action.get("value", "")
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
        message_ts = container.get("message_ts") or (body.get("message") or {}).get("ts", "")
        user = (body.get("user") or {}).get("id", "")
        event_id = f"{channel}:{message_ts}:{action_id}:{user}:{action.get('action_ts', '')}"
        base: dict[str, Any] = {
            "id": event_id, "at": ids.at(action.get("action_ts")), "space": self.space(body),
            "user": user, "roles": await self.directory.roles(user), "platform": PLATFORM,
            "user_name": await self.directory.user_name(user) or (body.get("user") or {}).get("name"),
        }
        card = ids.ref(channel, message_ts) if message_ts else None
        if action_id in FEEDBACK_BY_ACTION:
            return Feedback(about=value, value=FEEDBACK_BY_ACTION[action_id], **base)  # type: ignore[arg-type]
        if action_id == CLAIM:
            return Command(name="claim", about=value, channel=channel, thread=card, **base)
        if action_id == SEND_SUGGESTED:
            data = _json(value)
            return Command(name="send_suggested", about=data.get("case"), args=data.get("entry"),
                           channel=channel, thread=card, **base)
        if action_id.startswith(PICK):
            # A numbered choice is the asker answering the clarifying question in the thread.
            data = _json(value)
            kind = await self.directory.channel_kind(channel)
            return Message(channel=channel, text=str(data.get("pick", "")), channel_kind=kind,
                           thread=None if kind == "dm" else data.get("thread"), direct=kind == "dm", **base)
        logger.info("button %s is not one of ours: ignored", action_id)
        return None

    async def command(self, body: dict[str, Any]) -> Command:
        """``/journeybot <name> [link to a thread]``: Slack does not say which thread a
        command was typed in, so a thread is named by its link (or the message shortcut)."""
        word, _, rest = (body.get("text") or "").strip().partition(" ")
        rest = rest.strip()
        thread = ids.thread_from_link(rest)
        return Command(name=word.lower(), channel=body.get("channel_id", ""), thread=thread,
                       args=rest if rest and thread is None else None,
                       **await self._asker(body, body.get("user_id", ""), f"command:{body.get('trigger_id')}"))

    async def shortcut(self, body: dict[str, Any], name: str) -> Command:
        """A message shortcut ("Move to private") on any message of a thread."""
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id", "")
        thread = ids.ref(channel, message.get("thread_ts") or message.get("ts", ""))
        user = (body.get("user") or {}).get("id", "")
        return Command(name=name, channel=channel, thread=thread,
                       **await self._asker(body, user, f"shortcut:{body.get('trigger_id')}"))

    # -- helpers -------------------------------------------------------------------------

    async def _asker(self, body: dict[str, Any], user: str, event_id: str) -> dict[str, Any]:
        return {"id": event_id, "at": ids.at(None), "space": self.space(body), "user": user,
                "user_name": await self.directory.user_name(user) or body.get("user_name"),
                "roles": await self.directory.roles(user), "platform": PLATFORM}

    def space(self, body: dict[str, Any]) -> str:
        team = body.get("team_id") or (body.get("team") or {}).get("id")
        return self.settings.space_of(team)

    async def plain(self, text: str) -> str:
        names = {}
        for user in set(_USER_MENTION.findall(text)) - {self.bot_user}:
            name = await self.directory.user_name(user)
            if name:
                names[user] = name
        return to_plain(text, names=names, drop_user=self.bot_user)


def _json(value: str) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
