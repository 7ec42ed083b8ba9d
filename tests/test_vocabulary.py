"""The event log's vocabulary (``storage/vocabulary.py``) is what the code writes.

Every kind of record the code appends is listed, every listed kind is written
somewhere, and every change of a case's state is spelled out in exactly one
place (``bot/casework.py``), so a transition cannot drift between copies.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from storage.vocabulary import LOG_KINDS, TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "knowledge", "learning", "storage")


def _literal(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def written(paths: list[Path]) -> tuple[set[str], list[tuple[str, str]]]:
    """(log kinds written, [(transition, where)]) found in ``paths``.

    Kinds: ``….log("kind", …)`` (a handling's log) and ``….append("kind", …, at=…)`` or ``append_now``
    (the event log itself). Transitions: ``….transition(case, "to", …)``.
    """
    kinds: set[str] = set()
    transitions: list[tuple[str, str]] = []
    for path in paths:
        where = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.name
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name, args = node.func.attr, node.args
            keywords = {k.arg for k in node.keywords}
            kind = _literal(args[0]) if args else None
            if kind and (name == "log" or (name in ("append", "append_now") and "at" in keywords)):
                kinds.add(kind)
            elif name == "transition" and len(args) >= 2 and _literal(args[1]):
                transitions.append((_literal(args[1]) or "", f"{where}:{node.lineno}"))
    return kinds, transitions


def sources() -> list[Path]:
    return [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]


def test_the_log_kinds_listed_are_the_kinds_written() -> None:
    kinds, _ = written(sources())
    assert sorted(kinds - LOG_KINDS) == [], "written but not in storage/vocabulary.py"
    assert sorted(LOG_KINDS - kinds) == [], "listed in storage/vocabulary.py but never written"


def test_every_transition_is_written_in_one_place_in_casework() -> None:
    _, transitions = written(sources())
    assert {to for to, _ in transitions} == TRANSITIONS
    outside = [where for _, where in transitions if not where.startswith("bot/casework.py")]
    assert outside == [], "a flow spells out a change of state itself"
    twice = {to: n for to, n in Counter(to for to, _ in transitions).items() if n > 1}
    assert twice == {}, "a transition is spelled out more than once"


def test_the_check_itself_finds_kinds_and_transitions(tmp_path: Path) -> None:
    flow = tmp_path / "flow.py"
    flow.write_text(
        "async def f(handling, log, case, lines):\n"
        "    await handling.log('feedback', {})\n"
        "    await log.append('event', at=now, space='s', body={})\n"
        "    lines.append('not a kind')\n"
        "    await handling.transition(case, 'closed', why='deleted')\n")
    kinds, transitions = written([flow])
    assert kinds == {"feedback", "event"}
    assert [to for to, _ in transitions] == ["closed"]
