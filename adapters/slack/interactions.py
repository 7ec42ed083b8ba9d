"""Slash commands and shortcuts: acknowledged at once, answered from ``perform``.

Slack wants an interaction acknowledged within 3 seconds and the core may
take longer, so the listener acks first (``inbound``). The event the core
gets carries the payload's id, every action it returns carries that id as
``event``, and an answer meant only for the caller (``private_to``) goes as
an ephemeral message; where the bot cannot post one (a channel it is not in),
it goes through the command's ``response_url``, which Slack keeps valid for
30 minutes. Discord's ``interactions`` module plays the same part.
"""

from __future__ import annotations

from collections import OrderedDict

REMEMBERED = 500


class Interactions:
    """Event id -> the response URL of the command or shortcut that caused it (the latest few)."""

    def __init__(self, remembered: int = REMEMBERED) -> None:
        self._response_urls: OrderedDict[str, str] = OrderedDict()
        self._remembered = remembered

    def hold(self, event_id: str, response_url: str | None) -> None:
        """Where an ephemeral answer to ``event_id`` can go if the bot is not in the channel."""
        if response_url:
            self._response_urls[event_id] = response_url
            while len(self._response_urls) > self._remembered:
                self._response_urls.popitem(last=False)

    def response_url(self, event_id: str) -> str | None:
        return self._response_urls.get(event_id)
