"""The ``journeybot`` command line.

Heavy imports (torch, faiss, platform SDKs) happen inside commands, so
``journeybot --help`` is instant. Logs go to standard error; only a
command's own output goes to standard output. Adapters add their commands
through the ``journeybot.cli`` entry points (``register_plugins``).
"""

from bot.cli import audit, db, kb, learn, replay, report, review  # noqa: F401  (each registers its commands)
from bot.cli.common import (
    COMPANIONS,
    ConfigOption,
    DbOption,
    app,
    companion_adapters,
    fail,
    open_core,
    register_plugins,
    run,
    run_app,
    settings_for,
    setup_logging,
    with_core,
)
from bot.cli.kb import import_knowledge
from bot.cli.report import print_scorecard


def main() -> None:
    register_plugins()
    app()


__all__ = [
    "COMPANIONS", "ConfigOption", "DbOption", "app", "companion_adapters", "fail", "import_knowledge", "main",
    "open_core", "print_scorecard", "run", "run_app", "settings_for", "setup_logging", "with_core",
]
