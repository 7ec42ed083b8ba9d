"""The replay adapter: JSON lines in, JSON lines out (``spec/replay.md``).

Tests, benchmarks and scripts drive the bot through it exactly as a platform
would. One event at a time: its actions, then ``done``, flushed, so a driver
can react (answer a card, pick an option) before writing the next line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, BinaryIO, TextIO

from bot.actions import Action, Route
from bot.ports import EventSink
from bot.wire import BadEvent, event_from_json, replay_view

logger = logging.getLogger(__name__)


class ReplayAdapter:
    """Reads events from ``lines`` and writes actions to ``out``."""

    name = "replay"

    def __init__(self, lines: AsyncIterator[bytes | str], out: TextIO) -> None:
        self._lines = lines
        self._out = out
        self._stop = asyncio.Event()

    def write(self, obj: dict[str, Any]) -> None:
        self._out.write(json.dumps(obj, ensure_ascii=False) + "\n")

    async def perform(self, action: Action) -> str | None:
        """Print the action and flush: once printed, it is out. A ``resend`` (the runtime
        noted the attempt, then the run was cut short before it recorded the result) was
        printed by the earlier run, so it is not printed again."""
        view = replay_view(action)
        if action.resend:
            logger.info("outbox action %s was printed before the last stop: not printed again", action.seq)
        elif view is not None:
            self.write(view)
            self._out.flush()
        # A card's platform reference is its card id: staff reply with thread = card.
        return action.card if isinstance(action, Route) else None

    async def start(self, sink: EventSink) -> None:
        """Run until the input ends (or ``stop``)."""
        previous: datetime | None = None
        number = 0
        async for raw in self._lines:
            if self._stop.is_set():
                break
            number += 1
            try:
                line = (raw.decode("utf-8") if isinstance(raw, bytes) else raw).strip()
            except UnicodeDecodeError as exc:
                self._bad(number, f"not valid UTF-8: byte 0x{raw[exc.start]:02x} at column {exc.start + 1}",
                          None)
                continue
            if not line:
                continue
            event_id: str | None = None
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                self._bad(number, f"not valid JSON: {exc.msg} (column {exc.colno})", None)
                continue
            try:
                event = event_from_json(data, default_at=previous)
            except BadEvent as exc:
                self._bad(number, str(exc), exc.event_id)
                continue
            event_id = event.id
            previous = event.at
            await sink(event)
            self.write({"type": "done", "event": event_id})
            self._out.flush()

    def _bad(self, number: int, why: str, event_id: str | None) -> None:
        logger.warning("replay line %d rejected: %s", number, why)
        self.write({"type": "error", "line": number, "error": why})
        self.write({"type": "done", "event": event_id})
        self._out.flush()

    async def stop(self) -> None:
        self._stop.set()


async def read_lines(stream: BinaryIO | TextIO) -> AsyncIterator[bytes | str]:
    """Lines of ``stream`` without blocking the event loop (stdin may be a pipe
    a driver writes to one line at a time). A binary stream gives bytes, which
    the adapter decodes line by line: one bad byte costs one line, not the run."""
    readline: Callable[[], bytes | str] = stream.readline
    while True:
        line = await asyncio.to_thread(readline)
        if not line:
            return
        yield line
