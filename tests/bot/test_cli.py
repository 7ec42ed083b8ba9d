"""The operator's commands: a mistyped store is refused, ids are printed whole."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import ROOT

runner = CliRunner()
LONG_ID = "billing-invoices-change-the-company-address-on-future-invoices-2026"


@pytest.mark.parametrize("command", [["kb", "list"], ["kb", "export"], ["kb", "show", "k1"],
                                     ["kb", "retire", "k1"], ["report"], ["audit", "verify"]])
def test_a_command_on_a_missing_store_refuses_and_creates_nothing(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "jouneybot.db"
    result = runner.invoke(app, [*command, "--db", str(typo)])
    assert result.exit_code == 2
    assert f"no store at {typo}" in result.output
    assert not typo.exists()


def test_a_command_run_beside_journeybot_yaml_uses_its_settings_without_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Discord steps: `kb import faq.yaml`, then `run discord --config journeybot.yaml`."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "journeybot.yaml").write_text("db: community.db\n")
    (tmp_path / "faq.yaml").write_text("- id: invoices\n  questions: [\"Where are my invoices?\"]\n"
                                       "  answer: Settings → Billing → Invoices.\n")
    assert runner.invoke(app, ["kb", "import", "faq.yaml"]).exit_code == 0
    assert (tmp_path / "community.db").exists() and not (tmp_path / "journeybot.db").exists()
    listed = runner.invoke(app, ["kb", "list", "--config", "journeybot.yaml"])
    assert "invoices\tdefault\t1\tlive" in listed.output


def test_a_report_on_a_space_with_nothing_recorded_names_the_spaces_there_are(tmp_path: Path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text("- id: invoices\n  questions: [\"Where are my invoices?\"]\n  answer: Billing → Invoices.\n")
    db = str(tmp_path / "bot.db")
    assert runner.invoke(app, ["kb", "import", str(kb), "--db", db]).exit_code == 0
    typo = runner.invoke(app, ["report", "--space", "defualt", "--db", db])
    assert typo.exit_code == 2
    assert "nothing is recorded in space 'defualt'; spaces in this store: default" in typo.output
    assert runner.invoke(app, ["report", "--space", "default", "--db", db]).exit_code == 0


def test_kb_list_prints_every_id_whole(tmp_path: Path) -> None:
    kb = tmp_path / "kb.yaml"
    kb.write_text(f"- id: {LONG_ID}\n  questions: [\"How do I change the address on my invoices?\"]\n"
                  "  answer: Settings → Billing → Billing details.\n")
    db = str(tmp_path / "bot.db")
    assert runner.invoke(app, ["kb", "import", str(kb), "--db", db]).exit_code == 0

    result = runner.invoke(app, ["kb", "list", "--db", db])
    assert result.exit_code == 0
    assert f"{LONG_ID}\tdefault\t1\tlive\tHow do I change the address on my invoices?" in result.output


@pytest.mark.parametrize("command", [["report"], ["audit", "export"]])
def test_a_bad_period_names_its_option(tmp_path: Path, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--since", "yesterday", "--db", str(tmp_path / "x.db")])
    assert result.exit_code == 2
    assert "--since 'yesterday' is not an ISO date or time" in result.output
    backwards = runner.invoke(app, [*command, "--since", "2026-11-02", "--until", "2026-11-01",
                                    "--db", str(tmp_path / "x.db")])
    assert backwards.exit_code == 2 and "is not before --until 2026-11-01: the period is empty" in backwards.output


@pytest.mark.parametrize("command", [["kb", "list"], ["report"], ["audit", "verify"], ["audit", "export"]])
def test_a_damaged_store_is_one_line_and_a_quick_exit(tmp_path: Path, command: list[str]) -> None:
    store = tmp_path / "bot.db"
    store.write_bytes(b"SQLite format 3\x00" + b"\x13garbage" * 4000)   # a header, then nonsense
    run = subprocess.run([sys.executable, "-m", "bot", *command, "--db", str(store)], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)   # a hang fails here
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [run.stderr.strip()]
    assert "is damaged or not a journeybot database" in run.stderr
