"""/healthz on PostgreSQL: a worker whose server stops says so (503, "store: failing"),
and says ok again once the server is back, answering as before. The test runs a
PostgreSQL server of its own (``tests/pgserver.py``), which it stops and starts again
on the same port."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio

from adapters.slack.adapter import SlackAdapter
from bot.runtime import Runtime
from knowledge.embedder import CachedEmbedder
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import ANSWERABLE, slack_settings
from tests.adapters.slack.fake import HELP, FakeSlack
from tests.chat import make_core
from tests.conftest import DEMO_KB
from tests.pgserver import PostgresMissing, TemporaryPostgres, create_database

WITHIN = 90.0  # so that a broken build fails instead of hanging; nothing here is timed


@pytest_asyncio.fixture(loop_scope="function")
async def own_postgres() -> AsyncIterator[TemporaryPostgres]:
    """A server of this test's own: stopping it must not stop anyone else's tests."""
    try:
        server = await asyncio.to_thread(TemporaryPostgres().start)
    except PostgresMissing as exc:
        if os.environ.get("REQUIRE_POSTGRES_TESTS"):
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        await asyncio.to_thread(server.stop)


async def health(http: aiohttp.ClientSession, adapter: SlackAdapter) -> tuple[int, str]:
    async with http.get(f"http://127.0.0.1:{adapter.port}/healthz") as response:
        return response.status, await response.text()


async def until_health(http: aiohttp.ClientSession, adapter: SlackAdapter, status: int) -> str:
    async with asyncio.timeout(WITHIN):
        while True:
            code, text = await health(http, adapter)
            if code == status:
                return text
            await asyncio.sleep(0.1)


async def test_healthz_says_the_store_fails_while_postgresql_is_down_and_recovers(
        own_postgres: TemporaryPostgres, fake: FakeSlack, embedder: CachedEmbedder,
        caplog: pytest.LogCaptureFixture) -> None:
    name = own_postgres.new_name()
    await create_database(own_postgres.admin_url, name)
    core = await make_core(embedder, kb=DEMO_KB, db=own_postgres.url(name))
    adapter = SlackAdapter(slack_settings(fake), mode="http", host="127.0.0.1", port=0)
    runtime = Runtime(core, [adapter], sweep_seconds=0.2)  # the store is checked at every sweep
    await runtime.start()
    try:
        async with aiohttp.ClientSession() as http:
            status, text = await health(http, adapter)
            assert status == 200 and text.splitlines()[0] == "ok", text
            assert text.splitlines()[1].startswith("store: ok, postgresql schema ")

            await asyncio.to_thread(own_postgres.halt)
            down = await until_health(http, adapter, 503)
            assert "store: failing, postgresql" in down and f"127.0.0.1:{own_postgres.port}" in down, down
            first = down.splitlines()[0]  # the health check's verdict, or a statement's that failed first
            assert first.startswith(("the store is failing since", "the store's health check failed")), first

            await asyncio.to_thread(own_postgres.resume)
            back = await until_health(http, adapter, 200)
            assert back.splitlines()[1].startswith("store: ok, postgresql schema "), back

            ts = fake.next_ts()  # and it works again: a question is stored and answered
            body = json.dumps(payloads.envelope(payloads.message(ANSWERABLE, ts=ts)))
            signed = payloads.signed_headers(body, "application/json")
            async with http.post(f"http://127.0.0.1:{adapter.port}/slack/events", data=body,
                                 headers=signed) as response:
                assert response.status == 200
            (answer,) = await asyncio.wait_for(fake.wait_for("chat.postMessage", channel=HELP, thread_ts=ts),
                                               WITHIN)
            assert "Rotate key" in answer.params["text"]
    finally:
        await runtime.stop()
        await core.close()
    caplog.clear()  # the failed checks' log lines were the point
