"""`journeybot kb import` as an operator runs it: what it says about broken
files, and that a long import is never silent, on a terminal or off one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.progress import ImportProgress
from knowledge.embedder import CachedEmbedder
from knowledge.importer import FileProgress

runner = CliRunner()


@pytest.fixture(autouse=True)
def _bundled_model_once(monkeypatch: pytest.MonkeyPatch, embedder: CachedEmbedder) -> None:
    """The command opens the core as usual, with the session's model."""
    monkeypatch.setattr("bot.startup.load_embedder", lambda *a, **k: embedder)


def kb(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["kb", *args])
    return result.exit_code, result.output


def test_a_broken_status_is_named_and_the_other_entries_import(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text('- id: a\n  questions: ["How do I export data?"]\n  answer: "Settings → Export."\n'
                    '- id: b\n  questions: ["Dark mode?"]\n  answer: "Yes."\n  status: [live]\n'
                    '- id: c\n  questions: ["Where are invoices?"]\n  answer: "Billing → Invoices."\n',
                    encoding="utf-8")
    code, out = kb("import", str(path), "--db", str(tmp_path / "kb.db"))
    assert code == 0, out
    assert "2 new, 0 new versions, 0 unchanged, 1 skipped" in out
    assert "skipped faq.yaml item 2 (line 4): `status` must be one of live, pending, retired" in out
    code, out = kb("list", "--db", str(tmp_path / "kb.db"))
    assert "2 entries" in out


def test_a_markdown_file_without_headings_says_why_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text("Only prose here.\n", encoding="utf-8")
    code, out = kb("import", str(path), "--db", str(tmp_path / "kb.db"))
    assert code == 1
    assert "skipped notes.md: no headings, so nothing to import" in out


def test_a_page_without_headings_in_a_docs_folder_is_named_not_dropped_unseen(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "install.md").write_text("# Install\n\nRun the installer, then sign in.\n", encoding="utf-8")
    (docs / "notes.md").write_text("Only prose here, no heading.\n", encoding="utf-8")
    (docs / "_partial.md").write_text("A snippet other pages include.\n", encoding="utf-8")
    code, out = kb("import", str(docs), "--db", str(tmp_path / "kb.db"))
    assert code == 0, out
    assert "1 page(s) gave no sections (no headings" in out and "docs/notes.md" in out
    assert "install.md" not in out.split("gave no sections")[1].splitlines()[0]


def test_importing_a_subfolder_of_docs_imported_before_says_its_pages_would_be_added_twice(tmp_path: Path) -> None:
    guide = tmp_path / "docs" / "guide"
    guide.mkdir(parents=True)
    (guide / "errors.md").write_text("# Errors\n\nRestart the sync service.\n", encoding="utf-8")
    (tmp_path / "docs" / "index.md").write_text("# Welcome\n\nStart here.\n", encoding="utf-8")
    db = str(tmp_path / "kb.db")
    code, out = kb("import", str(tmp_path / "docs"), "--db", db)
    assert code == 0 and "imported before" not in out, out
    code, out = kb("import", str(guide), "--root", str(tmp_path), "--db", db)  # named as before
    assert "imported before" not in out and "0 new, 0 new versions, 1 unchanged" in out, out
    code, out = kb("import", str(guide), "--db", db)
    assert code == 0
    assert "1 of these pages were imported before under another folder's name (e.g. docs/guide/errors.md)" in out


def test_an_empty_file_says_there_was_nothing_to_import(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    code, out = kb("import", str(path), "--db", str(tmp_path / "kb.db"))
    assert code == 0 and "empty.yaml: nothing to import (no entries in it)" in out


def test_malformed_yaml_is_one_line_naming_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    path.write_text('- id: a\n  questions: ["q?"]\n  answer: "a"\n- id: [oops\n', encoding="utf-8")
    code, out = kb("import", str(path), "--db", str(tmp_path / "kb.db"))
    assert code == 2
    assert out.strip().startswith("journeybot: faq.yaml: not valid YAML (line ")
    assert len(out.strip().splitlines()) == 1


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_off_a_terminal_is_a_line_every_few_seconds() -> None:
    out, clock = io.StringIO(), Clock()
    with ImportProgress("big.jsonl", stream=out, every=5.0, clock=clock) as progress:
        clock.now = 1.0
        progress(FileProgress(100, 1000, 10, 10))  # too soon: a quick import says nothing
        clock.now = 6.0
        progress(FileProgress(420, 1000, 2_048, 2_000))
        clock.now = 7.0
        progress(FileProgress(500, 1000, 4_096, 4_000))
        clock.now = 12.5
        progress(FileProgress(1000, 1000, 250_000, 249_000))
    assert out.getvalue().splitlines() == [
        "importing big.jsonl: 42% of the file, 2,048 entries read, 2,000 new or changed",
        "importing big.jsonl: 100% of the file, 250,000 entries read, 249,000 new or changed",
    ]


def test_a_real_import_off_a_terminal_reports_progress(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.cli.progress.EVERY", 0.0)
    monkeypatch.setattr("knowledge.importer.CHUNK", 100)  # several parts from a small file
    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"id": f"e{n}", "questions": [f"How do I configure widget {n}?"],
                                        "answer": f"Open widget {n} settings."}) + "\n" for n in range(250)),
                    encoding="utf-8")
    result = runner.invoke(app, ["kb", "import", str(path), "--db", str(tmp_path / "kb.db")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("importing many.jsonl:")]
    assert len(lines) == 3
    assert lines[0].endswith("100 entries read, 100 new or changed")
    assert lines[-1] == "importing many.jsonl: 100% of the file, 250 entries read, 250 new or changed"
    assert "250 new" in result.output


def test_a_docs_folder_imports_its_sections_and_a_removed_page_stops_answering(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    monkeypatch.setenv("JOURNEYBOT_LEARNING__DOCS_STEPS", "4")  # the model adapts to the docs, briefly

    docs = tmp_path / "docs"
    shutil.copytree(Path(__file__).parent.parent / "knowledge" / "docs" / "site" / "docs", docs)
    db = str(tmp_path / "kb.db")
    code, out = kb("import", str(docs), "--base-url", "https://tidepool.example.org/", "--db", db)
    assert code == 0, out
    first = int(out.strip().splitlines()[-1].split(": ")[1].split(" new")[0])
    assert first > 3 and "retired" not in out
    code, out = kb("show", "docs:docs/troubleshooting.md#why-does-the-tray-icon-stay-grey", "--db", db)
    assert "https://tidepool.example.org/troubleshooting/#why-does-the-tray-icon-stay-grey" in out

    (docs / "troubleshooting.md").unlink()
    code, out = kb("import", str(docs), "--base-url", "https://tidepool.example.org/", "--db", db)
    assert code == 0, out
    assert f"0 new, 0 new versions, {first - 3} unchanged, 3 retired, 0 skipped" in out


def test_kb_show_finds_a_docs_entry_by_the_section_its_answers_cite(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A citation names `<file>#<heading path>` (README); pasting it into `kb show` finds the entry.
    import shutil

    monkeypatch.setenv("JOURNEYBOT_LEARNING__DOCS_STEPS", "0")
    docs = tmp_path / "docs"
    shutil.copytree(Path(__file__).parent.parent / "knowledge" / "docs" / "site" / "docs", docs)
    db = str(tmp_path / "kb.db")
    assert kb("import", str(docs), "--db", db)[0] == 0
    by_id = kb("show", "docs:docs/troubleshooting.md#why-does-the-tray-icon-stay-grey", "--db", db)
    section = json.loads(by_id[1].split("\nhistory:")[0])["section"]
    assert section.startswith("docs/troubleshooting.md#") and " > " in section
    code, out = kb("show", section, "--db", db)
    assert code == 0, out
    assert out == by_id[1]
    assert kb("show", "docs/troubleshooting.md#Nowhere", "--db", db)[0] == 1


def test_when_adapting_the_model_fails_the_docs_are_in_and_the_old_model_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    import shutil

    async def no_room(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("learning.docs.adapt_to_docs", no_room)
    docs = tmp_path / "docs"
    shutil.copytree(Path(__file__).parent.parent / "knowledge" / "docs" / "site" / "docs", docs)
    db = str(tmp_path / "kb.db")
    result = CliRunner().invoke(app, ["kb", "import", str(docs), "--base-url", "https://tidepool.example.org/",
                                      "--db", db])
    assert result.exit_code == 0, result.output
    assert "adapting the model to them failed ([Errno 28] No space left on device)" in result.output
    assert " new, 0 new versions" in result.output  # the import itself is reported as done
    assert "adapting the model to the docs failed" in caplog.text
    code, out = kb("show", "docs:docs/troubleshooting.md#why-does-the-tray-icon-stay-grey", "--db", db)
    assert code == 0 and "https://tidepool.example.org/troubleshooting/#why-does-the-tray-icon-stay-grey" in out


def test_docs_too_small_to_adapt_the_model_to_say_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOURNEYBOT_LEARNING__DOCS_STEPS", "4")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "setup.md").write_text("# Setup\n\n## Install\n\nRun the installer.\n\n## Upgrade\n\nRun it again.\n",
                                   encoding="utf-8")
    result = CliRunner().invoke(app, ["kb", "import", str(docs), "--db", str(tmp_path / "kb.db")])
    assert result.exit_code == 0, result.output
    assert "the model was not adapted to the docs: fewer than 8 sections to learn from" in result.output
