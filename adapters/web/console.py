"""The console's state: the core it watches, a read connection, accounts,
the scorecard cache and running imports."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.web.access import Accounts, is_loopback
from adapters.web.adapter import WebAdapter
from adapters.web.imports import Imports
from adapters.web.scoreboard import Scoreboard, View
from bot.overview import Overview

logger = logging.getLogger(__name__)

DEMO_KB = Path(__file__).resolve().parents[2] / "data" / "demo" / "knowledge.yaml"


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    """How the console is served. ``login``: ``None`` means "only off loopback".
    ``secure_cookies``: ``None`` means "when login is required" (serve it
    behind HTTPS then; ``--insecure-cookies`` for a plain-HTTP test network)."""

    host: str = "127.0.0.1"
    port: int = 8080
    login: bool | None = None
    secure_cookies: bool | None = None
    demo: bool = False
    beside: tuple[str, ...] = ()  # platforms whose adapters run in this process (``run --web discord``)

    @property
    def needs_login(self) -> bool:
        return (not is_loopback(self.host)) if self.login is None else self.login

    @property
    def secure(self) -> bool:
        return self.needs_login if self.secure_cookies is None else self.secure_cookies

    @property
    def platforms(self) -> frozenset[str]:
        """Where an action of this process can land: the console's own chat, and what runs beside it."""
        return frozenset(("web", *self.beside))

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"


class Console:
    """Everything the pages share. Lifecycle: ``open`` … ``close``."""

    def __init__(self, core: Any, config: ConsoleConfig | None = None) -> None:
        self.core = core
        self.config = config or ConsoleConfig()
        self.adapter = WebAdapter(self)
        self.overview: Overview = None  # type: ignore[assignment]  # set by open
        self.accounts: Accounts = None  # type: ignore[assignment]
        self.scoreboard: Scoreboard = None  # type: ignore[assignment]
        self.session_secret = ""
        self.admin_token: str | None = None
        self.imports = Imports(self)
        self.announce: Callable[[str], None] = lambda text: logger.info("%s", text)
        self.hint: str | None = None  # said at start: what to do first

    async def open(self) -> None:
        """The core's overview (a read connection of its own: reads never wait
        behind the bot's writes), the session key, on first start the admin
        account (and with ``demo`` into an empty store the demo knowledge); the default
        scorecard and charts start counting at once."""
        self.overview = await Overview.open(self.core)
        self.accounts = Accounts(self.overview)
        self.scoreboard = Scoreboard(self.overview.scores)
        if self.overview.scores.apart:  # count before anyone asks
            await self.scoreboard.card(View(), wait=0)
            await self.scoreboard.chart(View(), "week", wait=0)
            await self.scoreboard.answers(wait=0)
        self.session_secret = await self.accounts.session_secret()
        await self.load_demo_if_empty()
        if self.config.needs_login:
            self.admin_token = await self.accounts.ensure_admin()

    def announce_start(self) -> None:
        """Say where the console is and, on the first start off loopback, the admin token (once)."""
        if self.admin_token:
            self.announce("First start: the admin's access token is shown this once (only its hash is kept):")
            self.announce(f"    {self.admin_token}")
            self.admin_token = None
        login = "login required" if self.config.needs_login else "no login: bound to this machine only"
        self.announce(f"journeybot web console: {self.config.url} ({login})")
        if self.hint:
            self.announce(self.hint)

    async def close(self) -> None:
        await self.imports.cancel_all()
        if self.scoreboard is not None:
            await self.scoreboard.close()
        if self.overview is not None:
            await self.overview.close()

    async def load_demo_if_empty(self) -> bool:
        """``journeybot web --demo``: a store of its own opens on the demo knowledge, so there is
        something to try."""
        if await self.overview.spaces():
            return False
        if not self.config.demo or not DEMO_KB.exists():
            self.hint = ("No knowledge yet: import yours (`journeybot kb import faq.yaml`, or Knowledge → "
                         "Import here), or try the console on the demo's in a store of its own: "
                         "`journeybot web --demo`.")
            return False
        from bot.cli import import_knowledge

        async with self.core.exclusive():
            await import_knowledge(self.core, DEMO_KB, space=None, quiet=True)
        logger.info("the store had no knowledge: loaded the demo's (%s)", DEMO_KB.name)
        return True
