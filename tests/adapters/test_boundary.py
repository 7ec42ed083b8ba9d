"""What an adapter may take from the core: its public types and entry points.

An adapter translates; it holds no business rules. So it never reads the
core's constants (who the bot is, what a route reason means, which statuses
are open), its stores or its learning: the core hands it everything an action
needs (a staff card carries its own labels, see ``bot.cards``). The one list
below is the whole contract; a new need means a new public type, not an import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ("bot", "knowledge", "learning")

PUBLIC = {
    "bot.events": "the events an adapter hands the core (and their Address, ChannelKind)",
    "bot.actions": "the actions the core hands back (and the staff Card with its labels)",
    "bot.ports": "the Adapter protocol, EventSink and NotReady",
    "bot.settings": "the core's settings (role names, the staff channel) and their loader",
    "bot.wire": "events and actions as JSON: the replay contract (docs/replay.md)",
    "bot.runtime": "the Runtime that runs the core with its adapters",
    "bot.cli": "the command line an adapter's commands plug into (open_core, run, fail …)",
    "bot.overview": "what an operator's window may read (pages of entries and cases, stories, the scorecard), "
                    "read-only: its changes go through the core as Commands",
}
# Single names from modules that are otherwise the core's own, each with its reason.
NAMED = {
    ("bot.text", "neutralise_mentions"): "one rule for making mass mentions inert, on every edge",
    ("bot.trust.redact", "redact"): "one rule for what is private, on every edge: a Discord thread's "
                                    "title is made from the question's first line; what a person types in "
                                    "the console (an edit, a reason) before it is sent",
}


def core_imports(path: Path) -> Iterator[tuple[int, str, str | None]]:
    """(line, module, imported name) for every import of a core module, lazy ones included."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in CORE:
                    yield node.lineno, alias.name, None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] in CORE:
            for alias in node.names:
                yield node.lineno, str(node.module), alias.name


def allowed(module: str, name: str | None) -> bool:
    if module in PUBLIC or (name is not None and f"{module}.{name}" in PUBLIC):  # from bot import events
        return True
    return (module, name) in NAMED


def offences(root: Path) -> list[str]:
    found = []
    for path in sorted((root / "adapters").rglob("*.py")):
        where = path.relative_to(root).as_posix()
        for line, module, name in core_imports(path):
            if not allowed(module, name):
                found.append(f"{where}:{line} imports {module}{'.' + name if name else ''}")
    return found


def test_adapters_import_only_the_cores_public_types_and_entry_points() -> None:
    assert offences(ROOT) == []


def test_the_check_sees_a_constant_a_store_and_learning(tmp_path: Path) -> None:
    package = tmp_path / "adapters" / "chat"
    package.mkdir(parents=True)
    (package / "render.py").write_text(
        "from bot.events import Message\n"
        "from bot import actions\n"
        "from bot.text import neutralise_mentions\n"
        "from bot.cases import STAFF_QUEUE\n"
        "from bot.text import clean\n"
        "def later():\n"
        "    import knowledge.store\n"
        "    from learning.scorecard import compute\n", encoding="utf-8")
    assert offences(tmp_path) == [
        "adapters/chat/render.py:4 imports bot.cases.STAFF_QUEUE",
        "adapters/chat/render.py:5 imports bot.text.clean",
        "adapters/chat/render.py:7 imports knowledge.store",
        "adapters/chat/render.py:8 imports learning.scorecard.compute",
    ]
