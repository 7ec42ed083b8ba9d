"""The tests' own PostgreSQL: found where Debian puts it, or a clear reason why not."""

from __future__ import annotations

from pathlib import Path

import pytest

import tests.pgserver as pgserver


def test_debian_s_server_binaries_are_found_off_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for version in ("13", "15"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        (folder / "initdb").touch()
        (folder / "pg_ctl").touch()
    monkeypatch.setattr(pgserver.glob, "glob", lambda pattern: [str(tmp_path / v / "bin") for v in ("13", "15")])
    monkeypatch.setattr(pgserver.shutil, "which", lambda name: None)
    assert pgserver.binaries() == tmp_path / "15" / "bin"


def test_without_the_binaries_the_reason_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgserver.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(pgserver.shutil, "which", lambda name: None)
    with pytest.raises(pgserver.PostgresMissing, match="apt-get install postgresql"):
        pgserver.binaries()
