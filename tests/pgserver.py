"""A throw-away PostgreSQL server for tests and benchmarks: ``initdb`` and ``pg_ctl``
in a temporary directory, on a free port of 127.0.0.1, stopped and removed after.

Debian puts the server binaries in ``/usr/lib/postgresql/<version>/bin``
(not on ``PATH``); they are found there or on ``PATH``. PostgreSQL refuses
to run as root, so as root the server runs as the ``postgres`` user (the
Debian package creates it) through ``runuser``, or ``su`` where there is
no ``runuser``. ``TEST_POSTGRES_URL=postgresql://…`` uses a server
that is already running instead (its user must be allowed to create databases).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from typing import Any

USER = "journeybot"
STARTUP_SECONDS = 60


class PostgresMissing(RuntimeError):
    """No PostgreSQL server binaries on this machine."""


def binaries() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``, newest version first."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                            key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
                            reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return Path(initdb).resolve().parent
    raise PostgresMissing("PostgreSQL's server binaries (initdb, pg_ctl) are not installed: "
                          "apt-get install postgresql (.ci/run does)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user() -> list[str]:
    """How to run a command as a user PostgreSQL accepts (never root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise PostgresMissing("running as root and there is no 'postgres' user to run the server as") from exc
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--"]
    return ["su", "postgres", "-s", "/bin/sh", "-c"]  # the command follows as one quoted string


class TemporaryPostgres:
    """A PostgreSQL server of our own; ``url(name)`` for a database on it."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.port = 0
        self.dir: Path | None = None
        self._names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        prefix = _as_server_user()
        command = [*prefix, *args] if prefix[:1] != ["su"] else [*prefix, " ".join(map(_quote, args))]
        return subprocess.run(command, capture_output=True, text=True, timeout=STARTUP_SECONDS, check=False)

    def start(self) -> TemporaryPostgres:
        # As root the server runs as postgres, which must reach the directory: /tmp, not a private TMPDIR.
        self.dir = Path(tempfile.mkdtemp(prefix="journeybot-pg-", dir="/tmp" if os.geteuid() == 0 else None))
        self.dir.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
        data = self.dir / "data"
        done = self._run(str(self.bin / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
                         "--no-locale", "-E", "UTF8", "--no-sync")
        if done.returncode != 0:
            self.stop()
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        for _attempt in range(5):  # a free port can be taken between choosing and binding it
            self.port = _free_port()
            done = self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", self._options(),
                             "-l", str(self.dir / "server.log"), "-w", "-t", str(STARTUP_SECONDS), "start")
            if done.returncode == 0:
                return self
        log = (self.dir / "server.log").read_text(errors="replace")[-2000:] if self.dir else ""
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start: {done.stderr.strip()}\n{log}")

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")

    def halt(self) -> None:
        """Stop the server, keeping its data for ``resume``: ``fast`` (every client cut off at once),
        not ``immediate``, which with this server's ``synchronous_commit=off`` may lose the last
        commits."""
        assert self.dir is not None
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not stop: {done.stderr.strip()}")

    def resume(self) -> None:
        """Start a halted server again, on its port."""
        assert self.dir is not None
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-o", self._options(),
                         "-l", str(self.dir / "server.log"), "-w", "-t", str(STARTUP_SECONDS), "start")
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start again: {done.stderr.strip()}")

    def stop(self) -> None:
        if self.dir is None:
            return
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None

    @property
    def admin_url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def new_name(self) -> str:
        return f"jb_test_{os.getpid()}_{next(self._names)}"


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


async def create_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        with contextlib.suppress(asyncpg.PostgresError):
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


class ExistingPostgres:
    """A server that is already running (``TEST_POSTGRES_URL``): databases are made on it."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self._names = itertools.count(1)

    def url(self, database: str) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{database}"

    def new_name(self) -> str:
        return f"jb_test_{os.getpid()}_{next(self._names)}"

    def stop(self) -> None:
        """Not ours to stop."""


def in_thread(coroutine: Any) -> Any:
    """Run a coroutine to its end from synchronous code, even under a running event loop."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def migrated(url: str) -> None:
    """Bring the store at ``url`` to the current schema."""
    from storage.postgres import PostgresDatabase

    async with PostgresDatabase(url):
        pass


async def empty_store(url: str) -> None:
    """Make a migrated store at ``url`` as new: no rows, numbering from 1 (far quicker than a new database)."""
    import asyncpg

    from storage.postgres.migrations import MIGRATIONS

    conn = await asyncpg.connect(url)
    try:
        tables = [row[0] for row in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename != 'schema_version'")]
        identities = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'")
        async with conn.transaction():
            await conn.execute("DELETE FROM schema_version WHERE version > $1", len(MIGRATIONS))
            for table in tables:
                await conn.execute(f'DELETE FROM "{table}"')
            for table, column in identities:
                await conn.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" RESTART')
    finally:
        await conn.close()
