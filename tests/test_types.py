"""mypy (strict, with the pydantic plugin; ``[tool.mypy]`` in pyproject.toml)
finds no error in the core and its storage, so ``.ci/run`` enforces the types."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("adapters", "bot", "knowledge", "learning", "storage")


def mypy(*paths: str) -> tuple[str, int]:
    out, err, status = api.run(["--config-file", str(ROOT / "pyproject.toml"),
                                "--cache-dir", str(ROOT / ".mypy_cache"), *paths])
    return out + err, status


def test_the_core_type_checks() -> None:
    report, status = mypy(*(str(ROOT / package) for package in PACKAGES))
    assert status == 0, report


def test_the_check_itself_sees_a_type_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def count() -> int:\n    return 'three'\n")
    report, status = mypy(str(bad))
    assert status == 1 and "Incompatible return value type" in report
