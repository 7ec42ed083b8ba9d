"""A Slack workspace export, read into past threads.

The export (Slack's "Export data", a folder or its .zip) holds
``users.json`` (``org_users.json`` on Enterprise Grid), ``channels.json`` and
one folder per public channel of daily files (``help/2024-05-02.json``), each
a JSON list of messages as the Web API returns them: ``ts``, ``user``,
``text`` (mrkdwn, mentions as ``<@U…>``), ``subtype`` (``channel_join``,
``bot_message``, ``thread_broadcast``, ``tombstone`` …), ``edited``,
``files``, ``reactions`` and, in threads, ``thread_ts`` (the opening
message's ``ts``), ``reply_count``/``replies`` on the opening message and
``parent_user_id`` on replies. A thread's replies may sit in later days'
files. Only public channels are read: private channels (``groups.json``),
direct and group messages (``dms.json``, ``mpims.json``) are counted and
left alone, since they must never feed public answers.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from knowledge.jsonstream import JsonStreamError, iter_array
from knowledge.threads.model import Person, Post, Tally, Thread
from knowledge.threads.source import ExportError, ExportFiles

ACCEPTING = frozenset({"white_check_mark", "heavy_check_mark", "ballot_box_with_check", "+1", "thumbsup",
                       "raised_hands", "pray", "tada", "100", "clap", "heart", "star-struck"})
CONTENT_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})
PRIVATE_LISTS = ("groups.json", "dms.json", "mpims.json")
_TS = re.compile(r"^\d{1,12}(?:\.\d{1,6})?$")
_LINK = re.compile(r"<([^<>\n]{1,2000})>")

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class SlackExport:
    threads: list[Thread] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)  # id -> name
    tally: Tally = field(default_factory=Tally)


def read_slack(files: ExportFiles, *, workspace_url: str | None = None,
               channels: Collection[str] = (), progress: Progress | None = None) -> SlackExport:
    """Every thread of the export's public channels (all, or those named in
    ``channels``). ``ExportError`` names the file and line of anything malformed."""
    out = SlackExport()
    users_file = "users.json" if files.exists("users.json") else "org_users.json"
    if not files.exists(users_file) or not files.exists("channels.json"):
        raise ExportError(f"{files.name}: not a Slack export (no channels.json and users.json at its top)")
    for line, path, raw in _records(files, users_file):
        person = _person(raw, f"{users_file} line {line}, {path}")
        out.people[person.id] = person
    names = out.channels
    for line, path, raw in _records(files, "channels.json"):
        where = f"channels.json line {line}, {path}"
        names[_text(raw, "id", where)] = _text(raw, "name", where)
    for private in PRIVATE_LISTS:
        if files.exists(private):
            count = sum(1 for _ in _records(files, private))
            if count:
                out.tally.add("private channels and direct conversations not read (only public channels are)",
                              count)
    wanted = {c.strip().lstrip("#").casefold() for c in channels if c.strip()}
    chosen = [(cid, name) for cid, name in names.items()
              if not wanted or name.casefold() in wanted or cid.casefold() in wanted]
    if wanted and not chosen:
        raise ExportError(f"{files.name}: no channel named {', '.join(sorted(wanted))} "
                          f"(it has {', '.join(sorted(names.values())) or 'none'})")
    day_files = [(cid, name, f) for cid, name in chosen for f in files.folder(name) if f.endswith(".json")]
    total = sum(files.size(f) for _, _, f in day_files) or 1
    done = 0
    base = (workspace_url or "").rstrip("/")
    by_channel: dict[str, dict[str, list[tuple[tuple[int, int], dict[str, Any]]]]] = {}
    for cid, _, name in day_files:
        threads = by_channel.setdefault(cid, {})
        for line, path, raw in _records(files, name):
            message = _message(raw, f"{name} line {line}, {path}", out.tally)
            if message is not None and message.get("thread_ts"):
                threads.setdefault(message["thread_ts"], []).append((_order(message["ts"]), message))
        done += files.size(name)
        if progress is not None:
            progress(done, total)
    for cid, channel in chosen:
        for thread_ts, messages in by_channel.get(cid, {}).items():
            thread = _thread(cid, channel, thread_ts, messages, out, base, files.name)
            if thread is not None:
                out.threads.append(thread)
    out.threads.sort(key=lambda t: t.opened)
    return out


def _records(files: ExportFiles, name: str) -> Any:
    """``(line, json path, element)`` of a file that must be a JSON list."""
    try:
        with files.open(name) as stream:
            for n, (line, raw) in enumerate(iter_array(stream)):
                yield line, f"[{n}]", raw
    except JsonStreamError as exc:
        raise ExportError(f"{name} {exc}: not valid JSON") from exc
    except UnicodeDecodeError as exc:
        raise ExportError(f"{name}: not UTF-8 text (byte {exc.start})") from exc


def _text(raw: Any, key: str, where: str, *, required: bool = True) -> str:
    if not isinstance(raw, dict):
        raise ExportError(f"{where}: expected an object, found {type(raw).__name__}")
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ExportError(f"{where}.{key}: must be a text, found {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {str(value)[:30]!r}"


def _person(raw: Any, where: str) -> Person:
    user_id = _text(raw, "id", where)
    profile = raw.get("profile") if isinstance(raw.get("profile"), dict) else {}
    names = [profile.get("display_name"), profile.get("real_name"), raw.get("real_name"), raw.get("name")]
    names = [n for n in names if isinstance(n, str) and n.strip()]
    roles = [role for role, flag in (("admin", raw.get("is_admin")), ("owner", raw.get("is_owner")),
                                     ("owner", raw.get("is_primary_owner"))) if flag is True]
    return Person(id=user_id, name=names[0] if names else user_id, aliases=tuple(dict.fromkeys(names[1:])),
                  roles=tuple(dict.fromkeys(roles)),
                  bot=raw.get("is_bot") is True or user_id == "USLACKBOT")


def _message(raw: Any, where: str, tally: Tally) -> dict[str, Any] | None:
    """The message's fields, checked; ``None`` for what is no conversation (joins, topics …)."""
    if not isinstance(raw, dict):
        raise ExportError(f"{where}: a message must be an object, found {_kind(raw)}")
    if raw.get("type", "message") != "message":
        return None
    ts = raw.get("ts")
    if not isinstance(ts, str) or not _TS.match(ts):
        raise ExportError(f"{where}.ts: must be a Slack timestamp like \"1714640000.000100\", found {_kind(ts)}")
    thread_ts = raw.get("thread_ts")
    if thread_ts is not None and (not isinstance(thread_ts, str) or not _TS.match(thread_ts)):
        raise ExportError(f"{where}.thread_ts: must be a Slack timestamp, found {_kind(thread_ts)}")
    for key in ("subtype", "user", "text", "bot_id", "username", "parent_user_id"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise ExportError(f"{where}.{key}: must be a text, found {_kind(raw[key])}")
    reactions = raw.get("reactions") or []
    if not isinstance(reactions, list) or not all(
            isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("users", []), list)
            for r in reactions):
        raise ExportError(f"{where}.reactions: must be a list of {{name, users}}")
    subtype = raw.get("subtype")
    if subtype == "tombstone":
        return {**raw, "deleted": True}
    if subtype is not None and subtype not in CONTENT_SUBTYPES and subtype != "bot_message":
        tally.add("system messages (joins, pins, thread notices …)")
        return None
    return raw


def _order(ts: str) -> tuple[int, int]:
    seconds, _, fraction = ts.partition(".")
    return int(seconds), int(fraction.ljust(6, "0")[:6] or 0)


def _thread(channel_id: str, channel: str, thread_ts: str,
            messages: list[tuple[tuple[int, int], dict[str, Any]]], out: SlackExport,
            base: str, source: str) -> Thread | None:
    messages.sort(key=lambda pair: pair[0])
    if messages[0][1]["ts"] != thread_ts:
        out.tally.add("threads whose opening message is not in the export (earlier than its dates)")
        return None
    if messages[0][1].get("deleted"):
        out.tally.add("threads whose opening message was deleted")
        return None
    if len(messages) == 1:
        return None  # no replies: not a conversation
    posts = tuple(_post(raw, order, out) for order, raw in messages if not raw.get("deleted"))
    link = f"{base}/archives/{channel_id}/p{thread_ts.replace('.', '')}" if base else None
    return Thread(platform="slack", channel_id=channel_id, channel=f"#{channel}", posts=posts,
                  link=link, source=source)


def _post(raw: dict[str, Any], order: tuple[int, int], out: SlackExport) -> Post:
    user = raw.get("user") or raw.get("bot_id") or "unknown"
    person = out.people.get(user)
    if person is None:
        profile: dict[str, Any] = raw["user_profile"] if isinstance(raw.get("user_profile"), dict) else {}
        names = [n for n in (profile.get("display_name"), profile.get("real_name"), profile.get("name"),
                             raw.get("username")) if isinstance(n, str) and n.strip()]
        person = Person(id=user, name=names[0] if names else user, aliases=tuple(names[1:]))
        out.people[user] = person
    if raw.get("subtype") == "bot_message" or raw.get("bot_id") or person.bot:
        person = Person(id=person.id, name=person.name, aliases=person.aliases, bot=True)
    accepted = frozenset(u for r in raw.get("reactions") or [] if r["name"].split("::")[0] in ACCEPTING
                         for u in r.get("users", []) if isinstance(u, str))
    at = datetime.fromtimestamp(order[0], UTC) + timedelta(microseconds=order[1])
    return Post(id=raw["ts"], author=person, at=at, text=plain_text(raw.get("text") or "", out),
                accepted_by=accepted)


def plain_text(text: str, out: SlackExport | None = None) -> str:
    """Slack mrkdwn as plain text; user mentions stay ``<@U…>`` for the caller to render."""

    def token(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return f"<{target}>"
        if target.startswith("#"):
            return f"#{label or (out.channels.get(target[1:]) if out else None) or 'channel'}"
        if target.startswith("!subteam^"):
            return label or "@group"
        if target.startswith("!date^"):
            return label
        if target.startswith("!"):
            return ""  # @here, @channel, @everyone: never repeated
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    return html.unescape(_LINK.sub(token, text)).strip()
