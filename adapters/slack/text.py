"""Slack's message markup in and out.

In: Slack sends ``<@U123>``, ``<#C1|name>``, ``<!here>``, ``<url|label>`` and
escapes ``& < >``; the core gets plain words instead. Out: whatever text the
bot posts is escaped per Slack's formatting rules, so nothing a member wrote
can become a live link, a user-group ping or ``@channel`` — and mass
mentions are broken up as well, in case anything ever parses them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.text import neutralise_mentions

_MARKUP = re.compile(r"<([^<>]*)>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}
MAX_SECTION = 3000  # characters in one Block Kit text object


def to_plain(text: str, *, names: Mapping[str, str] | None = None, drop_user: str | None = None) -> str:
    """Slack markup as the words a person reads; ``drop_user``'s mention (the bot's) disappears."""
    names = names or {}

    def word(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            user = target[1:]
            if user == drop_user:
                return ""
            return "@" + (label or names.get(user) or user)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            if target.startswith("!subteam^"):
                return label if label.startswith("@") else "@" + (label or "group")
            special = target[1:].split("^")[0]
            return _SPECIAL.get(special, label or special)
        if target.startswith("mailto:"):
            return label or target.removeprefix("mailto:")
        if label and label != target:
            return f"{label} ({target})"
        return target

    plain = _MARKUP.sub(word, text)
    plain = plain.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return re.sub(r"[ \t]{2,}", " ", plain).strip()


def escape(text: str) -> str:
    """Text we did not write, made inert: mass mentions broken, ``& < >`` escaped."""
    text = neutralise_mentions(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str | None, label: str) -> str:
    """A link we build ourselves; anything that is not a plain http(s) URL stays text."""
    shown = escape(label).replace("|", "¦")
    if not url or not re.match(r"^https?://[^\s<>|]+$", url):
        return shown
    return f"<{url.replace('&', '&amp;')}|{shown}>"


def chunks(text: str, limit: int = MAX_SECTION) -> list[str]:
    """Split at line breaks (or hard) so each piece fits one Block Kit section."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            cut = _safe_cut(line, limit)
            pieces.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def _safe_cut(line: str, limit: int) -> int:
    """Where to cut an escaped line without splitting ``&amp;`` and its kin."""
    amp = line.rfind("&", max(0, limit - 5), limit)
    return amp if amp > 0 and ";" not in line[amp:limit] else limit


def fallback(text: str, limit: int = 3900) -> str:
    """The notification / screen-reader text beside the blocks, escaped and bounded."""
    safe = escape(text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"

