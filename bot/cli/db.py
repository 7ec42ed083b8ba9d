"""``journeybot db``: look after the store itself (move it to PostgreSQL)."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOption, DbOption, app, fail, require_store, run, settings_for

db_app = typer.Typer(no_args_is_help=True, help="Look after the store (move it to PostgreSQL).")
app.add_typer(db_app, name="db")

EVERY = 2.0  # seconds between progress lines of one table


class Told:
    """How far the copy got: a line when a table starts, now and then, and when it is done."""

    def __init__(self) -> None:
        self.table = ""
        self.last = 0.0

    def __call__(self, table: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = done >= total
        if table == self.table and not finished and now - self.last < EVERY:
            return
        if table == self.table and finished and done == 0:
            return
        self.table, self.last = table, now
        share = f" ({100 * done / total:.0f}%)" if total else ""
        sys.stderr.write(f"  {table}: {done:,} of {total:,}{share}\n")
        sys.stderr.flush()


@db_app.command("migrate")
def db_migrate(
    to: Annotated[str, typer.Option("--to", help="the new store: a postgresql://user:password@host/database URL")],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Copy the store (by default the SQLite file the settings name) into PostgreSQL, its
    event log with every hash, so `audit verify` holds there too. Stop the bot first;
    run it again to continue after a stop (what is copied is not copied twice)."""
    from storage import database_for, is_postgres
    from storage.move import move
    from storage.postgres import without_password

    settings = settings_for(config, db)
    require_store(settings)
    if not is_postgres(to):
        fail(f"--to {to!r} is not a PostgreSQL URL (postgresql://user:password@host:5432/database)")
    if to == settings.db:
        fail("--to names the store being copied")
    where = without_password(to)
    typer.echo(f"copying {settings.db} to {where}", err=True)

    async def go() -> Any:
        source, destination = database_for(settings.db), database_for(to)
        await source.open()
        try:
            await destination.open()
            try:
                moved = await move(source, destination, progress=Told())
                return moved, await _check(source, destination)
            finally:
                await destination.close()
        finally:
            await source.close()

    moved, problem = run(go())
    tables = ", ".join(f"{name} {count:,}" for name, count in moved.rows.items() if count)
    typer.echo(f"copied to {where}: log {moved.log_records:,} records ({moved.log_copied:,} new)"
               + (f"; {tables}" if tables else ""))
    if problem:
        fail(problem, 1)
    typer.echo(f"chain intact on both: head {moved.head or '(empty log)'}")
    typer.echo(f"now set  db: {where}  (or JOURNEYBOT_DB) and start the bot")


async def _check(source: Any, destination: Any) -> str | None:
    """The copy's chain verifies and ends where the source's does; else what is wrong."""
    from storage.eventlog import EventLog

    report = await EventLog(destination).verify()
    if not report.ok:
        return f"the copied log does not verify: record {report.broken_at}: {report.why}"
    if (await EventLog(source).head()) != (await EventLog(destination).head()):
        return "the copied log does not end where the source's does (was the bot running?): run db migrate again"
    return None
