"""The console on a PostgreSQL store: its own reading connection, the
scorecard counted in a process of its own that opens the store by its URL,
and a review change through the core."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from adapters.web.app import build_app
from adapters.web.scoreboard import View
from knowledge.embedder import CachedEmbedder
from tests.adapters.web.conftest import Browser, open_console
from tests.adapters.web.test_review import review, seed
from tests.bot.test_review import EXPORT_CSV
from tests.chat import make_core
from tests.conftest import DEMO_KB


@pytest.fixture
async def on_postgres(postgres_url: str, embedder: CachedEmbedder) -> AsyncIterator[Browser]:
    core = await make_core(embedder, db=postgres_url, kb=DEMO_KB)
    announced: list[str] = []
    console, runtime = await open_console(core, login=False, announced=announced)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=build_app(console)),
                                     base_url="https://testserver") as client:
            yield Browser(client, console, announced)
    finally:
        await runtime.stop()
        await core.close()


async def test_the_console_reviews_and_counts_on_postgresql(on_postgres: Browser) -> None:
    console: Any = on_postgres.console
    assert console.overview.reader is not console.core.db, "a reading connection of its own"
    assert console.overview.scores.apart, "the scorecard is counted in a process that opens the store by URL"
    await seed(console.core)
    approved = await review(on_postgres, "approve", entry=EXPORT_CSV, version="1")
    assert approved.status_code == 303 and (await console.core.kb.get(EXPORT_CSV)).status == "live"
    page = (await on_postgres.get("/knowledge/review")).text
    assert f'id="pending-{EXPORT_CSV}"' not in page and 'id="conflict-tz-a-tz-b"' in page
    found = (await on_postgres.get("/knowledge?q=CSV")).text
    assert f"/knowledge/{EXPORT_CSV}" in found, "search in any case"
    card = await console.scoreboard.card(View(), wait=60)
    assert card is not None
    shown = (await on_postgres.get("/scorecard")).text
    assert re.search(r'<tr id="fig-task_success">', shown), "the figures, counted from the PostgreSQL log"
