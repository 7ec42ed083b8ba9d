"""The layers and which way the arrows point (DESIGN.md): adapters → core (``bot``)
→ ``knowledge`` / ``learning`` → ``storage``; nothing points back up, and the
core never imports a platform or an adapter (STYLE.md)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("discord", "slack_bolt", "slack_sdk")

# Each layer, and the packages of ours it may import. Learning may read knowledge
# (a staff answer becomes an entry); knowledge knows nothing of learning.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "storage": frozenset({"storage"}),
    "knowledge": frozenset({"knowledge", "storage"}),
    "learning": frozenset({"learning", "knowledge", "storage"}),
    "bot": frozenset({"bot", "knowledge", "learning", "storage"}),
    "adapters": frozenset({"adapters", "bot", "knowledge", "learning", "storage"}),
}


def imported_modules(path: Path, root: Path = ROOT) -> list[str]:
    """Every module ``path`` imports, wherever the import stands (in a
    function or under ``TYPE_CHECKING`` too); relative imports by their package."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = path.parent.relative_to(root).parts
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1]
            names.append(".".join((*base, *([node.module] if node.module else []))))
    return names


def offences(layer: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / layer).rglob("*.py")):
        where = path.relative_to(root).as_posix()
        for name in imported_modules(path, root):
            top = name.split(".")[0]
            if top in MAY_IMPORT and top not in MAY_IMPORT[layer]:
                found.append(f"{where} imports {name} (an arrow back up)")
            if layer != "adapters" and top in PLATFORMS:
                found.append(f"{where} imports the platform {name}")
    return found


def test_every_layer_imports_only_what_lies_below_it() -> None:
    assert [offence for layer in MAY_IMPORT for offence in offences(layer)] == []


def test_the_core_packages_import_no_platform_or_adapter() -> None:
    assert [o for layer in ("bot", "knowledge", "learning", "storage") for o in offences(layer)
            if "platform" in o or "adapters" in o] == []


def test_the_check_itself_sees_arrows_back_up_and_platforms(tmp_path: Path) -> None:
    (tmp_path / "knowledge").mkdir()
    (tmp_path / "knowledge" / "bad.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from storage.database import Database\n"
        "if TYPE_CHECKING:\n    from bot.cases import Case\n"
        "def f():\n    from slack_sdk import WebClient\n    from . import entries\n"
        "    from ..learning import teach\n")
    assert offences("knowledge", tmp_path) == [
        "knowledge/bad.py imports bot.cases (an arrow back up)",
        "knowledge/bad.py imports the platform slack_sdk",
        "knowledge/bad.py imports learning (an arrow back up)",
    ]
