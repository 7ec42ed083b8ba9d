"""The console on a core with the demo knowledge, driven over HTTP in the
test's own event loop (httpx's ASGI transport), as a browser would."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from adapters.web.access import User
from adapters.web.app import build_app
from adapters.web.console import Console, ConsoleConfig
from bot.runtime import Runtime
from storage.eventlog import EventLog

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Browser:
    """An HTTP client with a session cookie, and the console behind it."""

    client: httpx.AsyncClient
    console: Console
    announced: list[str]

    @property
    def admin_token(self) -> str:
        """The token printed at first start (its last line)."""
        assert any("admin" in line for line in self.announced), self.announced
        return next(line.strip() for line in self.announced if line.startswith("    "))

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.client.get(path, **kw)

    async def csrf(self, path: str = "/scorecard") -> str:
        page = await self.client.get(path)
        found = CSRF.search(page.text)
        assert found, f"no CSRF token on {path}: {page.status_code} {page.text[:300]}"
        return found.group(1)

    async def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True,
                   files: Any = None, **kw: Any) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            body["csrf"] = await self.csrf("/login" if path == "/login" else "/chat")
        return await self.client.post(path, data=body, files=files, **kw)

    async def login(self, token: str) -> httpx.Response:
        return await self.post("/login", {"token": token, "next": "/scorecard"})


async def open_console(core: Any, *, login: bool, announced: list[str]) -> tuple[Console, Runtime]:
    console = Console(core, ConsoleConfig(host="127.0.0.1", port=0, login=login, demo=False))
    console.announce = announced.append
    console.adapter.serve = False
    runtime = Runtime(core, [console.adapter])
    await runtime.start()
    return console, runtime


@pytest.fixture
async def local(core: Any) -> AsyncIterator[Browser]:
    """Bound to loopback: no login, the local operator."""
    announced: list[str] = []
    console, runtime = await open_console(core, login=False, announced=announced)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(console)),
                                 base_url="https://testserver") as client:
        yield Browser(client, console, announced)
    await runtime.stop()


@pytest.fixture
async def guarded(core: Any) -> AsyncIterator[Browser]:
    """Login required (as off loopback); not logged in yet. ``console.admin_token`` is set."""
    announced: list[str] = []
    console, runtime = await open_console(core, login=True, announced=announced)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(console)),
                                 base_url="https://testserver") as client:
        yield Browser(client, console, announced)
    await runtime.stop()


async def account(browser: Browser, name: str, role: str) -> str:
    """A token for a new account (made directly in the store, as the admin's page does)."""
    return await browser.console.accounts.create(name, role, by="test")


def as_user(name: str, role: str) -> User:
    return User(name, role)  # type: ignore[arg-type]


async def head_of(log: EventLog) -> int:
    """The newest record's number (0 for an empty log)."""
    head = 0
    async for record in log.records():
        head = record.seq
    return head
