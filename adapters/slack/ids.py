"""How Slack messages become core ids, and back.

A Slack ``ts`` is unique only within its channel, so every id the core sees
is ``"<channel>:<ts>"``: a message's id, a thread (the root's composite), a
case key, a card reference. The same function makes all of them, so a reply
in a card's thread finds the case the card was posted for.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlparse

_REF = re.compile(r"^(?P<channel>[A-Z0-9]+):(?P<ts>\d+\.\d+)$")
_ARCHIVES = re.compile(r"/archives/(?P<channel>[A-Z0-9]+)/p(?P<digits>\d{7,})")


def ref(channel: str, ts: str) -> str:
    """The composite id of message ``ts`` in ``channel``."""
    return f"{channel}:{ts}"


def split(value: str | None) -> tuple[str, str] | None:
    """``(channel, ts)`` of a composite id, ``None`` for anything else (``card:…``, ``dm:…``)."""
    if not value:
        return None
    match = _REF.match(value)
    return (match["channel"], match["ts"]) if match else None


def thread_of(channel: str, ts: str, thread_ts: str | None) -> str | None:
    """The thread a message is in: its root's composite, ``None`` for a top-level message."""
    return ref(channel, thread_ts) if thread_ts and thread_ts != ts else None


def at(ts: str | None) -> datetime:
    """The time of a Slack ``ts`` (seconds since the epoch); now when there is none."""
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC) if ts else datetime.now(UTC)
    except (TypeError, ValueError, OverflowError):
        return datetime.now(UTC)


def thread_from_link(text: str) -> str | None:
    """The thread a Slack message link points at (its root, when the link is to a reply).

    ``https://acme.slack.com/archives/C0123/p1700000000123456?thread_ts=1700000000.000100``
    """
    for word in text.replace("<", " ").replace(">", " ").replace("|", " ").split():
        parsed = urlparse(word)
        match = _ARCHIVES.search(parsed.path)
        if not parsed.scheme.startswith("http") or match is None:
            continue
        digits = match["digits"]
        ts = f"{digits[:-6]}.{digits[-6:]}"
        root = parse_qs(parsed.query).get("thread_ts", [ts])[0]
        return ref(match["channel"], root)
    return None


def permalink(workspace_url: str | None, channel: str, ts: str) -> str | None:
    """A link to a message built by hand, for when ``chat.getPermalink`` is unavailable."""
    if not workspace_url:
        return None
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"
