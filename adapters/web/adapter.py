"""The web adapter: the console's HTTP server and its chat channels.

It is an adapter like Discord's or Slack's (``bot.ports.Adapter``): the chat
page's messages, button presses and commands become core events, and the
actions the core decides for them land in the page's help and staff
channels. ``journeybot web`` runs it alone; ``journeybot run --web …`` runs
it beside a platform adapter in the same process.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import secrets
import socket
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from adapters.web.room import Rooms
from bot.actions import Action
from bot.events import Event
from bot.ports import EventSink, NotReady

logger = logging.getLogger(__name__)

PLATFORM = "web"


class CannotListen(OSError):
    """The console's address can't be listened on (taken, not this machine's, no such port)."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` for the console, or ``CannotListen`` saying why."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)  # as uvicorn chooses
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, OverflowError) as exc:
        sock.close()
        taken = getattr(exc, "errno", None) == errno.EADDRINUSE
        why = ("the port is taken (another console or program is on it; choose one with --port)" if taken
               else getattr(exc, "strerror", None) or str(exc))
        raise CannotListen(f"the web console cannot listen on {host}:{port}: {why}") from None
    return sock


class WebAdapter:
    """Serves the console; performs actions addressed to the web platform."""

    name = PLATFORM

    def __init__(self, console: Any, *, serve: bool = True) -> None:
        self.console = console
        self.rooms = Rooms(staff_channel=console.core.settings.staff_channel)
        self.serve = serve
        self._sink: EventSink | None = None
        self._collect: dict[str, list[Action]] = {}
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._run = secrets.token_hex(3)  # ids stay unique across restarts of the page

    def event_id(self) -> str:
        return f"web-{self._run}-{next(self._ids)}"

    async def start(self, sink: EventSink) -> None:
        """Open the console (read connection, accounts), then serve it."""
        self._sink = sink
        await self.console.open()
        if self.serve:
            await self._start_server()
        self.console.announce_start()

    async def _start_server(self) -> None:
        import uvicorn

        from adapters.web.app import build_app

        config = self.console.config
        app = build_app(self.console)
        server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning",
                                               access_log=False, lifespan="off", proxy_headers=False))
        self._server = server
        sock = listen(config.host, config.port)  # here, not in uvicorn: a port taken is one clear error
        self._task = asyncio.create_task(server.serve(sockets=[sock]), name="journeybot-web")
        while not server.started:
            if self._task.done():
                sock.close()
                self._task.result()  # raises why it could not start
                raise CannotListen(f"the web console could not listen on {config.host}:{config.port}")
            await asyncio.sleep(0.05)
        if config.port == 0:  # the OS chose a port: say which
            port = server.servers[0].sockets[0].getsockname()[1]
            self.console.config = replace(config, port=port)
        logger.info("web console on %s", self.console.config.url)

    async def wait_closed(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        await self.console.close()

    async def perform(self, action: Action) -> str | None:
        collected = self._collect.get(action.event)
        if collected is not None:
            collected.append(action)
        return self.rooms.perform(action, datetime.now(UTC))

    async def deliver(self, event: Event) -> list[Action]:
        """Hand ``event`` to the core (through the runtime, as platforms do);
        returns the actions performed here because of it."""
        if self._sink is None:
            raise NotReady("the web console is not started")
        self._collect[event.id] = []
        try:
            await self._sink(event)
        finally:
            actions = self._collect.pop(event.id)
        logger.info("web: %s (%s) sent %s %s", event.user_name, event.user, type(event).__name__.lower(),
                    event.id)
        return actions
