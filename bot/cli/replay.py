"""``journeybot replay``: JSON lines in, JSON lines out (docs/replay.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import (
    ConfigOption,
    app,
    fail,
    load_adapter,
    open_core,
    run,
    settings_for,
    setup_logging,
)

# -- replay --------------------------------------------------------------------------

# Not the shared --db: replay never falls back to the settings' store (spec/replay.md).
ReplayDbOption = Annotated[str | None, typer.Option(
    "--db", help="keep state in this store (an SQLite file or a postgresql:// URL); default: a throw-away "
                 "store for this run, whatever the settings name")]


@app.command()
def replay(
    file: Annotated[str, typer.Argument(help="JSON lines of events, or - for standard input")] = "-",
    kb: Annotated[list[Path] | None, typer.Option("--kb", help="import a knowledge file first (may repeat)")] = None,
    db: ReplayDbOption = None,
    config: ConfigOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Drive the bot with JSON lines of events; print its actions as JSON lines."""
    setup_logging(verbose)
    # Adaptation runs inside the event that makes it due: same input, same output.
    # replay reads only what it is given: the same events and --config give the same output wherever it runs
    settings = settings_for(config, db if db is not None else ":memory:", here=False,
                            learning={"background": False})
    if file != "-" and not Path(file).exists():
        fail(f"no such file: {file}")
    run(_replay(settings, file, kb or []))



async def _replay(settings: Any, file: str, kb_files: list[Path]) -> None:
    from bot.cli.kb import import_knowledge
    from bot.runtime import Runtime

    replay_module = load_adapter("replay")

    core = await open_core(settings)
    try:
        for path in kb_files:
            await import_knowledge(core, path, space=None, quiet=True)
        # Bytes, decoded per line by the adapter: one invalid byte costs one line.
        stream = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115, ASYNC230 (opening is instant; reads go through a thread)
        adapter = replay_module.ReplayAdapter(replay_module.read_lines(stream), sys.stdout)
        runtime = Runtime(core, [adapter])
        try:
            await runtime.start()
        finally:
            await runtime.stop()  # its retries and backlog end before the store closes
            if stream is not sys.stdin.buffer:
                stream.close()
    finally:
        await core.close()
