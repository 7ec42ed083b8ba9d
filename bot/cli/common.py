"""What every ``journeybot`` command shares: the app, its options, and how a
command opens the store or the core and turns start-up failures into one line."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="journeybot: a community-support bot judged by the asker's whole journey.")
kb_app = typer.Typer(no_args_is_help=True, help="Import, export and look after the knowledge base.")
app.add_typer(kb_app, name="kb")
run_app = typer.Typer(no_args_is_help=True, help="Run the bot on a platform (see the README to connect one).")
app.add_typer(run_app, name="run")

T = TypeVar("T")

DbOption = Annotated[str | None, typer.Option(
    "--db", help="the store: an SQLite file or a postgresql:// URL (default: settings, journeybot.db)")]
ConfigOption = Annotated[Path | None, typer.Option("--config", help="a YAML settings file")]


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("httpx", "httpcore", "urllib3", "filelock", "faiss", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"journeybot: {message}", err=True)
    raise typer.Exit(code)


def run(coro: Awaitable[T]) -> T:
    """Run a command's coroutine; turn known start-up failures into one clear line."""
    from pydantic import ValidationError

    from bot.settings import SettingsError
    from knowledge.embedder import ModelMissing
    from knowledge.files import KnowledgeFileError
    from storage.database import StoreError

    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except (ModelMissing, StoreError, KnowledgeFileError, SettingsError) as exc:  # SettingsError: demo, chat
        fail(str(exc))
    except sqlite3.DatabaseError as exc:  # damage found past the first page
        logging.getLogger(__name__).debug("store error", exc_info=True)
        fail(f"the store is damaged or not a journeybot database ({exc}); restore it from a backup")
    except ValidationError as exc:
        error = exc.errors()[0]
        fail(f"invalid settings: {'.'.join(str(p) for p in error['loc'])}: {error['msg']}")
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except Exception as exc:
        if not type(exc).__module__.startswith("asyncpg"):
            raise
        logging.getLogger(__name__).debug("store error", exc_info=True)  # the server went away mid-command
        fail(f"the PostgreSQL store failed: {exc}")
    raise AssertionError("unreachable")


def period(since: str | None, until: str | None) -> tuple[Any, Any]:
    """``--since``/``--until`` as times; a bad one is named in one line (exit 2)."""
    from bot.wire import parse_time

    bounds = []
    for option, value in (("--since", since), ("--until", until)):
        try:
            bounds.append(parse_time(value) if value else None)
        except ValueError:
            fail(f"{option} {value!r} is not an ISO date or time (e.g. 2026-11-01 or 2026-11-01T09:00Z)")
    if bounds[0] is not None and bounds[1] is not None and bounds[0] >= bounds[1]:
        fail(f"--since {since} is not before --until {until}: the period is empty")
    return bounds[0], bounds[1]


HERE_CONFIG = Path("journeybot.yaml")  # read without --config when the command runs beside it


def settings_for(config: Path | None, db: str | None, *, here: bool = True, **overrides: Any) -> Any:
    """Settings from ``config``, or else (``here``) ``./journeybot.yaml`` when there is one (so
    `kb import` and `run discord --config journeybot.yaml` in the same folder use the same store)."""
    from bot.settings import SettingsError, load_settings

    if config is not None and not config.exists():
        fail(f"no settings file at {config}")
    if config is None and here and HERE_CONFIG.is_file():
        config = HERE_CONFIG
        logging.getLogger(__name__).info("settings from ./%s (no --config given)", HERE_CONFIG)
    if db is not None:
        overrides["db"] = db
    try:
        return load_settings(config, **overrides)
    except SettingsError as exc:
        logging.getLogger(__name__).debug("settings refused", exc_info=True)
        fail(str(exc))


async def open_core(settings: Any) -> Any:
    from bot.core import Core

    return await Core.open(settings)




def with_core(settings: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open the core (store, index, model), run ``body`` with it, close it."""

    async def go() -> T:
        core = await open_core(settings)
        try:
            return await body(core)
        finally:
            await core.close()

    return run(go())


def require_store(settings: Any) -> None:
    """Commands that read (or change) an existing store refuse a missing one
    instead of quietly creating an empty database under a mistyped name
    (a PostgreSQL URL names a server's database: opening it says if it is not there)."""
    from storage import is_postgres

    if is_postgres(settings.db):
        return
    if settings.db == ":memory:" or not Path(settings.db).exists():
        fail(f"no store at {settings.db}: pass --db with the bot's database (or run the bot first)")


def open_store(settings: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open only the existing store (no model, no index) and run ``body`` on it."""
    from storage import database_for

    require_store(settings)

    async def go() -> T:
        db = database_for(settings.db)
        await db.open()
        try:
            return await body(db)
        finally:
            await db.close()

    return run(go())


def with_store(settings: Any, body: Callable[[Any], Awaitable[T]]) -> T:
    """Open only the store (no model) for commands that need no embeddings."""
    from knowledge.store import EntryStore

    return open_store(settings, lambda db: body(EntryStore(db)))



# Adapters that run beside a platform's in the same process: ``journeybot run
# --web slack`` registers the web console's here; each factory gets the core.
COMPANIONS: list[Callable[[Any], Any]] = []


def companion_adapters(core: Any) -> list[Any]:
    """The adapters asked to run beside the platform (after it in the runtime's list)."""
    return [make(core) for make in COMPANIONS]


def load_adapter(name: str) -> Any:
    """An adapter class registered under ``journeybot.adapters`` (the core never imports adapters)."""
    from importlib.metadata import entry_points

    found = entry_points(group="journeybot.adapters", name=name)
    if not found:
        fail(f"the {name} adapter is not installed (reinstall journeybot: pip install -e .)")
    return next(iter(found)).load()


def register_plugins() -> None:
    """Commands contributed by adapters (``journeybot.cli`` entry points)."""
    from importlib.metadata import entry_points

    for point in entry_points(group="journeybot.cli"):
        try:
            point.load()(app, run_app)
        except ModuleNotFoundError as exc:
            logging.getLogger(__name__).debug("command plugin %s not installed: %s", point.name, exc)
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            logging.getLogger(__name__).warning("command plugin %s unavailable: %s", point.name, exc)
