"""``journeybot web`` through the real command line, and ``run --web``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from bot.runtime import Runtime
from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, db: Path | None, *extra: str, cwd: Path = ROOT) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "web", *(["--db", str(db)] if db else []), "--port", str(self.port),
             *extra],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
        self.said: list[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.said.append(line.rstrip("\n"))
            if "web console:" in line:
                break
        assert self.said and "web console:" in self.said[-1], self.said

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)  # our own child, by its pid
        return self.process.wait(timeout=60)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "console.db"


def test_journeybot_web_opens_on_your_store_without_login_on_loopback_and_says_what_to_do_first(
        store: Path) -> None:
    served = Served(store)
    try:
        assert "(no login: bound to this machine only)" in served.said[-1]
        assert served.process.stdout is not None
        assert "journeybot web --demo" in served.process.stdout.readline(), "an empty store says how to start"
        page = httpx.get(served.url + "/knowledge?q=rotate", timeout=30)
        assert page.status_code == 200 and "api-key-rotate" not in page.text, "no demo answers in your store"
    finally:
        assert served.stop() == 0


def test_the_demo_opens_in_a_store_of_its_own_never_the_one_the_bot_answers_from(tmp_path: Path) -> None:
    served = Served(None, "--demo", cwd=tmp_path)
    try:
        page = httpx.get(served.url + "/knowledge?q=rotate", timeout=30)
        assert page.status_code == 200 and "api-key-rotate" in page.text
    finally:
        assert served.stop() == 0
    assert (tmp_path / "journeybot-demo.db").exists() and not (tmp_path / "journeybot.db").exists()


def test_with_a_login_the_admin_token_is_printed_at_first_start_only(store: Path) -> None:
    first = Served(store, "--login", "--no-demo", "--insecure-cookies")  # httpx keeps no Secure cookie over http
    try:
        token = next(line.strip() for line in first.said if line.startswith("    "))
        assert any("admin's access token" in line for line in first.said)
        with httpx.Client(base_url=first.url, timeout=30) as client:
            assert client.get("/scorecard").status_code == 303
            login = client.get("/login")
            csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
            answer = client.post("/login", data={"csrf": csrf, "token": token, "next": "/cases"})
            assert answer.status_code == 303 and answer.headers["location"] == "/cases", "the printed token logs in"
    finally:
        assert first.stop() == 0
    second = Served(store, "--login", "--no-demo")
    try:
        assert not any("access token" in line for line in second.said), "shown once, never again"
        assert token not in "\n".join(second.said)
    finally:
        assert second.stop() == 0


async def test_run_with_web_serves_the_console_beside_a_platform(core: Any) -> None:
    from typer.testing import CliRunner

    from bot.cli.common import COMPANIONS, app, companion_adapters, register_plugins, run_app

    class Platform:
        """A stand-in for Discord or Slack: the primary adapter."""

        name = "replay"
        performed: ClassVar[list[Any]] = []

        async def start(self, sink: Any) -> None:
            return None

        async def stop(self) -> None:
            return None

        async def perform(self, action: Any) -> str | None:
            self.performed.append(action)
            return None

    register_plugins()
    port = free_port()
    COMPANIONS.clear()
    try:
        result = CliRunner().invoke(app, ["run", "--web", "--web-port", str(port), "slack", "--help"])
        assert result.exit_code == 0, result.output
        assert len(COMPANIONS) == 1
        web = companion_adapters(core)[0]
        assert web.name == "web"
        assert web.console.config.platforms == {"web", "slack"}, "its cases on slack can be answered from it"
        runtime = Runtime(core, [Platform(), web])
        await runtime.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                chat = await client.get("/chat")
                assert chat.status_code == 200
                csrf = chat.text.split('name="csrf" value="')[1].split('"')[0]
                said = await client.post("/chat/ask", data={"csrf": csrf, "text": "How do I rotate my API key?"})
                assert said.status_code == 303
                page = await client.get("/chat")
                assert "Settings → API → Rotate key" in page.text, "the web's own actions come back to it"
            assert not Platform.performed, "nothing of the web's went to the platform"
        finally:
            await runtime.stop()
    finally:
        COMPANIONS.clear()
    assert run_app is not None
