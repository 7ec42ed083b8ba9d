"""No SQL outside the store implementations (DESIGN.md): only ``storage`` speaks
to the database, so SQLite and PostgreSQL pass one contract suite."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ABOVE_STORAGE = ("adapters", "bot", "knowledge", "learning")

SQL = re.compile(
    r"^\s*(SELECT\s.+\sFROM\s|INSERT\s+(OR\s+\w+\s+)?INTO\s|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s|"
    r"CREATE\s+(TABLE|INDEX|VIRTUAL)\s|ALTER\s+TABLE\s|DROP\s+TABLE\s|PRAGMA\s)",
    re.IGNORECASE | re.DOTALL)


def sql_strings(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: text`` of each string in ``path`` that is a SQL statement."""
    found: dict[int, str] = {}  # by line: an f-string's literal parts are strings of their own too
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        elif isinstance(node, ast.JoinedStr):  # an f-string: its literal parts, joined
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
        if text is not None and SQL.match(text) and text.strip()[:6].isupper():
            found[node.lineno] = f"{path.relative_to(root).as_posix()}:{node.lineno}: {text.strip()[:60]}"
    return [found[line] for line in sorted(found)]


def test_no_sql_above_the_storage_layer() -> None:
    found = [hit for layer in ABOVE_STORAGE for path in sorted((ROOT / layer).rglob("*.py"))
             for hit in sql_strings(path)]
    assert found == []


def test_the_check_itself_sees_sql(tmp_path: Path) -> None:
    (tmp_path / "bot").mkdir()
    planted = tmp_path / "bot" / "bad.py"
    planted.write_text(
        'A = "SELECT state FROM cases WHERE key = ?"\n'
        'B = f"INSERT OR REPLACE INTO meta (key) VALUES ({1})"\n'
        'C = "Update your settings FROM the menu"\n'
        'D = "delete from the list"\n'
        'E = """\n    UPDATE cases SET status = ?"""\n')
    assert [hit.split(": ")[0] for hit in sql_strings(planted, tmp_path)] == [
        "bot/bad.py:1", "bot/bad.py:2", "bot/bad.py:5"]
