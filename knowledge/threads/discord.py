"""DiscordChatExporter's JSON exports, read into past threads.

DiscordChatExporter (``--format Json``) writes one file per channel or
thread: ``guild`` {id, name}, ``channel`` {id, type (``GuildTextChat``,
``GuildPublicThread``, ``GuildForum`` …), categoryId/category (for a thread:
its parent channel), name}, then ``messages``, each with ``id``, ``type``
(``Default``, ``Reply``, ``GuildMemberJoin``, ``ThreadCreated`` …, or the
number of a type it has no name for, e.g. ``21`` for a thread's starter),
``timestamp``, ``timestampEdited``, ``content`` (mentions rendered as
``@Name`` by default, raw ``<@123>`` with ``--markdown false``), ``author``
{id, name, nickname, isBot, roles}, ``attachments``, ``reactions`` {emoji,
count, users}, ``mentions`` and ``reference`` {messageId, channelId}.

Two shapes of conversation become threads: a Discord thread or forum post
(its own file; exported with ``--include-threads``), and, in a plain
channel, a message with the chain of replies that reference it. Direct
messages and private threads are counted and left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from knowledge.jsonstream import JsonStreamError, iter_object
from knowledge.threads.model import Person, Post, Tally, Thread
from knowledge.threads.source import ExportError, ExportFiles

ACCEPTING = frozenset({"✅", "☑️", "✔️", "👍", "🙏", "🎉", "💯", "🙌", "❤️", "white_check_mark",
                       "heavy_check_mark", "ballot_box_with_check", "thumbsup", "+1", "pray", "tada"})
CONTENT_TYPES = frozenset({"Default", "Reply"})
STARTER_TYPES = frozenset({"21", "ThreadStarterMessage"})
PRIVATE_CHANNELS = frozenset({"DirectTextChat", "DirectGroupTextChat", "GuildPrivateThread"})
THREAD_CHANNELS = frozenset({"GuildPublicThread", "GuildNewsThread"})
_SNOWFLAKE = re.compile(r"^\d{1,20}$")
_RAW_USER = re.compile(r"<@!?(\d{1,20})>")
_RAW_ROLE = re.compile(r"<@&\d{1,20}>")
_RAW_CHANNEL = re.compile(r"<#(\d{1,20})>")
_RAW_EMOJI = re.compile(r"<a?:(\w{1,64}):\d{1,20}>")
_RAW_TIME = re.compile(r"<t:(-?\d{1,12})(?::[tTdDfFR])?>")
_MASS = re.compile(r"@(?:everyone|here)\b")

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class _Message:
    id: str
    type: str
    at: datetime
    text: str
    author: Person
    accepted_by: frozenset[str]
    reply_to: str | None  # a message of the same channel


@dataclass(slots=True)
class _Channel:
    guild: str
    id: str
    type: str
    name: str
    parent: str | None
    parent_name: str
    file: str
    messages: dict[str, _Message] = field(default_factory=dict)


@dataclass(slots=True)
class DiscordExport:
    threads: list[Thread] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    tally: Tally = field(default_factory=Tally)


def read_discord(files: ExportFiles, *, channels: tuple[str, ...] | list[str] = (),
                 progress: Progress | None = None) -> DiscordExport:
    """Every thread of the export's files (all channels, or those named).
    ``ExportError`` names the file, line and JSON path of anything malformed."""
    out = DiscordExport()
    names = [n for n in files.names() if n.lower().endswith(".json")]
    if not names:
        raise ExportError(f"{files.name}: no DiscordChatExporter .json files in it")
    total = sum(files.size(n) for n in names) or 1
    done = 0
    found: dict[str, _Channel] = {}
    for name in names:
        channel = _read_file(files, name, out)
        if channel is not None:
            known = found.get(channel.id)
            if known is None:
                found[channel.id] = channel
            else:  # the same channel in several parts (--partition)
                known.messages.update(channel.messages)
        done += files.size(name)
        if progress is not None:
            progress(done, total)
    wanted = {c.strip().lstrip("#").casefold() for c in channels if c.strip()}
    names_found = {n.casefold() for c in found.values() for n in (c.name, c.id, c.parent_name) if n}
    if wanted and not wanted & names_found:
        raise ExportError(f"{files.name}: no channel named {', '.join(sorted(wanted))} (it has "
                          f"{', '.join(sorted({_home(c) for c in found.values()}))})")
    by_id = {m.id: (c, m) for c in found.values() for m in c.messages.values()}
    started: set[str] = set()
    for channel in sorted(found.values(), key=lambda c: c.id):
        parent = found.get(channel.parent or "")
        homes = {channel.name, channel.id, channel.parent_name, parent.name if parent else ""}
        if wanted and not {n.casefold() for n in homes if n} & wanted:
            continue
        if channel.type in PRIVATE_CHANNELS:
            out.tally.add("private threads and direct conversations not read")
            continue
        if channel.type in THREAD_CHANNELS:
            thread = _thread_channel(channel, found, by_id, out.tally)
            if thread is not None:
                started.add(thread.posts[0].id)
                out.threads.append(thread)
    for channel in sorted(found.values(), key=lambda c: c.id):
        if channel.type in PRIVATE_CHANNELS | THREAD_CHANNELS:
            continue
        if wanted and not {channel.name.casefold(), channel.id} & wanted:
            continue
        out.threads += _reply_chains(channel, started | set(found), out.tally)
    out.threads.sort(key=lambda t: t.opened)
    return out


def _home(channel: _Channel) -> str:
    """The channel a member would name: a thread's parent, else the channel itself."""
    threadlike = channel.type in THREAD_CHANNELS | PRIVATE_CHANNELS
    return (channel.parent_name or channel.name) if threadlike else channel.name


def _read_file(files: ExportFiles, name: str, out: DiscordExport) -> _Channel | None:
    guild: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    pending: list[tuple[int, int, Any]] = []
    try:
        with files.open(name) as stream:
            number = 0
            for key, line, value in iter_object(stream, stream_key="messages"):
                if key == "guild":
                    guild = _object(value, f"{name} line {line}, guild")
                elif key == "channel":
                    meta = _object(value, f"{name} line {line}, channel")
                elif key == "messages":
                    pending.append((line, number, value))
                    number += 1
    except JsonStreamError as exc:
        raise ExportError(f"{name} {exc}: not valid JSON") from exc
    except UnicodeDecodeError as exc:
        raise ExportError(f"{name}: not UTF-8 text (byte {exc.start})") from exc
    if guild is None or meta is None:
        raise ExportError(f"{name}: not a DiscordChatExporter JSON export (no `guild` and `channel`)")
    channel = _Channel(
        guild=_id(guild, "id", f"{name}, guild"), id=_id(meta, "id", f"{name}, channel"),
        type=_str(meta, "type", f"{name}, channel"), name=_str(meta, "name", f"{name}, channel"),
        parent=meta.get("categoryId") if isinstance(meta.get("categoryId"), str) else None,
        parent_name=str(meta.get("category")) if isinstance(meta.get("category"), str) else "", file=name)
    for line, number, raw in pending:
        message = _message(raw, f"{name} line {line}, messages[{number}]", channel, out)
        if message is not None:
            channel.messages[message.id] = message
    return channel


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ExportError(f"{where}: must be an object, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {str(value)[:30]!r}"


def _str(raw: dict[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ExportError(f"{where}.{key}: must be a text, found {_kind(value)}")
    return value


def _id(raw: dict[str, Any], key: str, where: str) -> str:
    value = _str(raw, key, where)
    if not _SNOWFLAKE.match(value):
        raise ExportError(f"{where}.{key}: must be a Discord id (digits), found {_kind(value)}")
    return value


def _person(raw: Any, where: str) -> Person:
    raw = _object(raw, where)
    user_id = _id(raw, "id", where)
    name = _str(raw, "name", where)
    nickname = _str(raw, "nickname", where, required=False)
    roles = raw.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, dict) for r in roles):
        raise ExportError(f"{where}.roles: must be a list of roles")
    role_names = [str(r.get(k)) for r in roles for k in ("name", "id") if r.get(k) is not None]
    discriminator = raw.get("discriminator")
    aliases = [name] + ([f"{name}#{discriminator}"] if discriminator not in (None, "", "0", "0000") else [])
    return Person(id=user_id, name=nickname or name, aliases=tuple(dict.fromkeys(a for a in aliases if a)),
                  roles=tuple(role_names), bot=raw.get("isBot") is True)


def _message(raw: Any, where: str, channel: _Channel, out: DiscordExport) -> _Message | None:
    raw = _object(raw, where)
    message_id = _id(raw, "id", where)
    kind = _str(raw, "type", where)
    stamp = _str(raw, "timestamp", where)
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ExportError(f"{where}.timestamp: must be an ISO date and time, found {stamp[:40]!r}") from exc
    at = at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)
    author = _person(raw.get("author"), f"{where}.author")
    out.people.setdefault(author.id, author)
    if kind not in CONTENT_TYPES and kind not in STARTER_TYPES:
        out.tally.add("system messages (joins, pins, thread notices …)")
        return None
    content = _str(raw, "content", where, required=False)
    mentions = raw.get("mentions") or []
    if not isinstance(mentions, list):
        raise ExportError(f"{where}.mentions: must be a list")
    mentioned = [_person(m, f"{where}.mentions[{n}]") for n, m in enumerate(mentions)]
    for person in mentioned:
        out.people.setdefault(person.id, person)
    reference = raw.get("reference")
    reply_to = None
    if reference is not None:
        reference = _object(reference, f"{where}.reference")
        target = reference.get("messageId")
        if isinstance(target, str) and reference.get("channelId") in (None, channel.id):
            reply_to = target
        elif isinstance(target, str) and kind in STARTER_TYPES:
            reply_to = target  # a thread's starter, in the parent channel
    return _Message(id=message_id, type=kind, at=at, text=_plain(content, mentioned),
                    author=author, accepted_by=_accepted(raw.get("reactions"), f"{where}.reactions"),
                    reply_to=reply_to)


def _accepted(reactions: Any, where: str) -> frozenset[str]:
    if reactions is None:
        return frozenset()
    if not isinstance(reactions, list):
        raise ExportError(f"{where}: must be a list")
    who: set[str] = set()
    for n, reaction in enumerate(reactions):
        reaction = _object(reaction, f"{where}[{n}]")
        emoji: dict[str, Any] = reaction["emoji"] if isinstance(reaction.get("emoji"), dict) else {}
        if not {emoji.get("name"), emoji.get("code")} & ACCEPTING:
            continue
        users = reaction.get("users") or []
        who.update(u["id"] for u in users if isinstance(u, dict) and isinstance(u.get("id"), str))
    return frozenset(who)


def _plain(content: str, mentioned: list[Person]) -> str:
    """Mentions as ``<@id>`` (rendered ``@Name`` ones matched back through the
    message's ``mentions``), custom emoji as ``:name:``, no @everyone/@here."""
    text = _RAW_USER.sub(lambda m: f"<@{m.group(1)}>", content)
    for person in sorted(mentioned, key=lambda p: -len(p.name)):
        for name in sorted({person.name, *person.aliases}, key=len, reverse=True):
            text = re.sub(rf"@{re.escape(name)}(?![\w#])", f"<@{person.id}>", text)
    text = _RAW_ROLE.sub("@role", text)
    text = _RAW_CHANNEL.sub("#channel", text)
    text = _RAW_EMOJI.sub(lambda m: f":{m.group(1)}:", text)
    text = _RAW_TIME.sub(lambda m: datetime.fromtimestamp(int(m.group(1)), UTC).date().isoformat(), text)
    return _MASS.sub("", text).strip()


def _post(message: _Message) -> Post:
    return Post(id=message.id, author=message.author, at=message.at, text=message.text,
                accepted_by=message.accepted_by)


def _link(guild: str, channel: str, message: str) -> str:
    return f"https://discord.com/channels/{guild}/{channel}/{message}"


def _thread_channel(channel: _Channel, found: dict[str, _Channel],
                    by_id: dict[str, tuple[_Channel, _Message]], tally: Tally) -> Thread | None:
    """A Discord thread or forum post: its messages, opened by its starter."""
    messages = sorted(channel.messages.values(), key=lambda m: (m.at, int(m.id)))
    if not messages:
        return None
    first, rest = messages[0], messages[1:]
    parent = found.get(channel.parent or "")
    parent_name = parent.name if parent is not None else (channel.parent_name or channel.name)
    if first.type in STARTER_TYPES:
        starter = by_id.get(first.reply_to or channel.id)
        if starter is None:
            tally.add("threads whose opening message is in a channel not in this import "
                      "(export the parent channel too)")
            return None
        home, root = starter
        link = _link(channel.guild, home.id, root.id)
    else:
        root, link = first, _link(channel.guild, channel.id, first.id)
    posts = (_post(root), *(_post(m) for m in rest if m.type in CONTENT_TYPES))
    if len(posts) < 2:
        return None
    return Thread(platform="discord", channel_id=channel.id, channel=f"#{parent_name}", posts=posts,
                  link=link, title=channel.name, source=channel.file)


def _reply_chains(channel: _Channel, exclude: set[str], tally: Tally) -> Iterator[Thread]:
    """In a plain channel: each message with the replies that chain back to it."""
    children: dict[str, list[_Message]] = {}
    for message in channel.messages.values():
        if message.reply_to is not None:
            if message.reply_to in channel.messages:
                children.setdefault(message.reply_to, []).append(message)
            else:
                tally.add("replies to messages not in the export")
    for root in sorted(channel.messages.values(), key=lambda m: (m.at, int(m.id))):
        if root.reply_to is not None or root.id in exclude or root.id not in children:
            continue
        chain, todo = [], list(children[root.id])
        while todo:
            message = todo.pop()
            chain.append(message)
            todo += children.get(message.id, [])
        chain.sort(key=lambda m: (m.at, int(m.id)))
        yield Thread(platform="discord", channel_id=channel.id, channel=f"#{channel.name}",
                     posts=(_post(root), *(_post(m) for m in chain)),
                     link=_link(channel.guild, channel.id, root.id), source=channel.file)
