"""Discord API payloads for the fake: one guild with a help text channel, a
help forum, a staff channel and a general channel; members with and without
staff, moderator and Manage Threads roles. Shapes follow the Discord API v10
documentation (what discord.py 2.7 parses)."""

from __future__ import annotations

import itertools
from typing import Any

import discord

NOW = "2026-03-02T09:00:00+00:00"
BOT_ID, APP_ID, GUILD_ID = "1000", "1001", "2000"
HELP_ID, FORUM_ID, STAFF_ID, GENERAL_ID = "3000", "3100", "3200", "3300"
STAFF_ROLE, MOD_ROLE, HELPERS_ROLE = "4001", "4002", "4003"

_ids = itertools.count(900_000_000_000_000_000)


def next_id() -> str:
    """A fresh snowflake-shaped id (increasing, like Discord's)."""
    return str(next(_ids))


def user(uid: str, name: str, *, bot: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"id": uid, "username": name, "discriminator": "0", "global_name": name.title(),
                            "avatar": None}
    if bot:
        data["bot"] = True
    return data


BOT = user(BOT_ID, "journeybot", bot=True)
ASKER = user("42", "alice")
OTHER = user("43", "bob")
STAFFER = user("50", "sam")
MODERATOR = user("60", "mo")
KEEPER = user("70", "kim")  # no moderator role, but Manage Threads
OTHER_BOT = user("90", "otherbot", bot=True)

ROLES_OF = {ASKER["id"]: [], OTHER["id"]: [], STAFFER["id"]: [STAFF_ROLE], MODERATOR["id"]: [MOD_ROLE],
            KEEPER["id"]: [HELPERS_ROLE], OTHER_BOT["id"]: []}

EVERYONE_PERMS = discord.Permissions(view_channel=True, send_messages=True, read_message_history=True,
                                     send_messages_in_threads=True, use_application_commands=True,
                                     mention_everyone=True)


def role(rid: str, name: str, perms: discord.Permissions, position: int) -> dict[str, Any]:
    return {"id": rid, "name": name, "permissions": str(perms.value), "position": position, "color": 0,
            "hoist": False, "managed": False, "mentionable": True, "flags": 0}


def channel(cid: str, name: str, ctype: int = 0, position: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {"id": cid, "type": ctype, "name": name, "position": position, "guild_id": GUILD_ID,
                            "permission_overwrites": [], "nsfw": False, "parent_id": None,
                            "rate_limit_per_user": 0, "topic": None, "last_message_id": None}
    if ctype == 15:
        data.update(available_tags=[], default_reaction_emoji=None, default_sort_order=None,
                    default_forum_layout=0, flags=0)
    return data


def guild() -> dict[str, Any]:
    return {
        "id": GUILD_ID, "name": "Tidepool Community", "owner_id": "1", "unavailable": False,
        "member_count": 7, "large": False, "features": [], "emojis": [], "stickers": [], "threads": [],
        "members": [], "voice_states": [], "presences": [], "stage_instances": [],
        "guild_scheduled_events": [], "soundboard_sounds": [],
        "roles": [role(GUILD_ID, "@everyone", EVERYONE_PERMS, 0),
                  role(STAFF_ROLE, "Staff", EVERYONE_PERMS, 3),
                  role(MOD_ROLE, "Moderator", EVERYONE_PERMS, 2),
                  role(HELPERS_ROLE, "Helpers", discord.Permissions(EVERYONE_PERMS.value | 1 << 34), 1)],
        "channels": [channel(HELP_ID, "help", 0, 0), channel(FORUM_ID, "questions", 15, 1),
                     channel(STAFF_ID, "staff", 0, 2), channel(GENERAL_ID, "general", 0, 3)],
    }


def member(author: dict[str, Any], *, with_user: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {"roles": ROLES_OF.get(author["id"], []), "joined_at": NOW, "deaf": False,
                            "mute": False, "flags": 0, "nick": None, "avatar": None}
    if with_user:
        data["user"] = author
    return data


def message(channel_id: str, author: dict[str, Any], content: str, *, guild: bool = True,
            mid: str | None = None, **extra: Any) -> dict[str, Any]:
    """A MESSAGE_CREATE payload (``guild=False`` for a DM)."""
    data: dict[str, Any] = {"id": mid or next_id(), "channel_id": channel_id, "author": author,
                            "content": content, "timestamp": NOW, "edited_timestamp": None, "tts": False,
                            "mention_everyone": False, "mentions": [], "mention_roles": [],
                            "attachments": [], "embeds": [], "components": [], "pinned": False, "type": 0,
                            "flags": 0}
    if guild:
        data["guild_id"] = GUILD_ID
        if not author.get("bot") or author["id"] != BOT_ID:
            data["member"] = member(author)
    data.update(extra)
    return data


def thread(tid: str, parent_id: str, name: str, *, owner_id: str, forum: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": tid, "type": 11, "guild_id": GUILD_ID, "parent_id": parent_id, "owner_id": owner_id,
        "name": name, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0, "flags": 0,
        "last_message_id": None,
        "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "archive_timestamp": NOW,
                            "locked": False}}
    if forum:
        data["applied_tags"] = []
    return data


def channel_perms(author: dict[str, Any]) -> discord.Permissions:
    perms = EVERYONE_PERMS.value
    if HELPERS_ROLE in ROLES_OF.get(author["id"], []):
        perms |= 1 << 34  # manage_threads
    return discord.Permissions(perms)


def interaction(itype: int, data: dict[str, Any], *, author: dict[str, Any], channel_data: dict[str, Any],
                **extra: Any) -> dict[str, Any]:
    """An INTERACTION_CREATE payload (2: slash command, 3: component)."""
    payload: dict[str, Any] = {
        "id": next_id(), "application_id": APP_ID, "type": itype, "data": data, "token": f"tok{next_id()}",
        "version": 1, "channel_id": channel_data["id"], "channel": channel_data,
        "app_permissions": str(EVERYONE_PERMS.value), "locale": "en-US", "entitlements": [],
        "authorizing_integration_owners": {"0": GUILD_ID}, "context": 0, "attachment_size_limit": 1 << 20,
    }
    if channel_data.get("type") == 1:
        payload["user"] = author
        payload["context"] = 1
    else:
        payload.update(guild_id=GUILD_ID, guild_locale="en-US",
                       member={**member(author, with_user=True), "permissions": str(channel_perms(author).value)})
    payload.update(extra)
    return payload
