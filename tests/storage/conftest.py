"""The storage contract suite runs every test on each store (``store_url``):
SQLite in a temporary file, PostgreSQL in a fresh database of the session's server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest

from storage import database_for
from storage.sql import Sql

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return AT + timedelta(minutes=minutes)


@pytest.fixture
async def db(store_url: str) -> AsyncIterator[Sql]:
    database = database_for(store_url)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def other(store_url: str, db: Sql) -> AsyncIterator[Sql]:
    """A second connection to the same store, as another process would have."""
    database = database_for(store_url)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


async def eventually(check: Callable[[], object], within: float = 5.0) -> float:
    """Wait until ``check()`` is true; seconds it took (fails after ``within``)."""
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > within:
            raise AssertionError(f"not true after {within} s")
        await asyncio.sleep(0.002)
    return time.perf_counter() - start


class Failed(Exception):
    """A transaction's work went wrong on purpose."""


async def failing(db: Sql, work: Callable[[], Awaitable[object]]) -> None:
    """Run ``work`` in a transaction that then fails (so it rolls back)."""
    async with db.transaction():
        await work()
        raise Failed("the flow failed")
