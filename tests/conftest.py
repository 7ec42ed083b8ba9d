"""Shared fixtures: an offline guard, one embedding model, a transcript chat."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from knowledge.embedder import CachedEmbedder, load_embedder
from tests.pgserver import (
    ExistingPostgres,
    PostgresMissing,
    TemporaryPostgres,
    create_database,
    drop_database,
    empty_store,
    in_thread,
    migrated,
)

ROOT = Path(__file__).resolve().parent.parent
DEMO_KB = ROOT / "data" / "demo" / "knowledge.yaml"


class NetworkBlocked(RuntimeError):
    """A test tried to leave loopback."""


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return True
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def offline_guard() -> Iterator[None]:
    """Any connection beyond 127.0.0.1/::1 fails the test that made it."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def check(sock: socket.socket, address: object) -> None:
        inet = sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
        if inet and not _is_loopback(address[0]):  # type: ignore[index]
            raise NetworkBlocked(f"tests must not reach the network (tried {address[0]})")

    def connect(self: socket.socket, address: object) -> None:
        check(self, address)
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        check(self, address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def embedder() -> CachedEmbedder:
    """The real bundled model, loaded once per test session."""
    return load_embedder()


@pytest.fixture
async def core(embedder: CachedEmbedder, tmp_path: Path) -> AsyncIterator[object]:
    """A core on a fresh store with the demo knowledge imported."""
    from tests.chat import make_core

    core = await make_core(embedder, kb=DEMO_KB)
    try:
        yield core
    finally:
        await core.close()


@pytest.fixture
async def chat(core: object) -> object:
    from tests.chat import Chat

    return Chat(core)  # type: ignore[arg-type]


# -- PostgreSQL --------------------------------------------------------------------
# One server per test session (started only if a test asks for it), a fresh
# database per test. Without the server binaries such tests skip and say why,
# unless REQUIRE_POSTGRES_TESTS is set (.ci/run sets it): then they fail.


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    external = os.environ.get("TEST_POSTGRES_URL")
    if external:
        yield ExistingPostgres(external)
        return
    try:
        server = TemporaryPostgres().start()
    except PostgresMissing as exc:
        if os.environ.get("REQUIRE_POSTGRES_TESTS"):
            raise
        pytest.skip(str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: Any) -> Iterator[str]:
    """One database for the session's tests (each empties it first: quicker than a new one)."""
    name = postgres_server.new_name()
    in_thread(create_database(postgres_server.admin_url, name))
    try:
        in_thread(migrated(postgres_server.url(name)))
        yield postgres_server.url(name)
    finally:
        in_thread(drop_database(postgres_server.admin_url, name))


@pytest.fixture
def postgres_url(postgres_database: str) -> str:
    """A journeybot store on PostgreSQL with nothing in it (the current schema, no rows)."""
    in_thread(empty_store(postgres_database))
    return postgres_database


@pytest.fixture
def new_postgres_database(postgres_server: Any) -> Iterator[str]:
    """A new database with no schema at all (for migrations)."""
    name = postgres_server.new_name()
    in_thread(create_database(postgres_server.admin_url, name))
    try:
        yield postgres_server.url(name)
    finally:
        in_thread(drop_database(postgres_server.admin_url, name))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a fresh store is, on each store journeybot has: the contract suites run on both."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("postgres_url"))
