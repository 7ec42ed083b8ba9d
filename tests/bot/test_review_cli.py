"""A community manager imports past threads and reviews them at the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.review import edit_in_editor, interactive
from knowledge.embedder import CachedEmbedder
from knowledge.threads.importer import import_threads, read_export
from tests.chat import START, Chat
from tests.knowledge.threads.conftest import DISCORD, SLACK, SLACK_STAFF, redacted

runner = CliRunner()
EXPORT_CSV = "slack-C0HELP0001-1714640400000100"
GUESTS = "slack-C0GENERAL1-1714644000000100"


@pytest.fixture(autouse=True)
def _bundled_model_once(monkeypatch: pytest.MonkeyPatch, embedder: CachedEmbedder) -> None:
    monkeypatch.setattr("bot.startup.load_embedder", lambda *a, **k: embedder)


def jb(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "community.db")
    code, out = jb("kb", "import", str(SLACK), "--staff", "U0STAFF001", "--staff", "mo",
                   "--workspace-url", "tidepool.slack.com", "--db", path)
    assert code == 0, out
    assert "slack_export (Slack export): 8 conversations, 4 answered by staff: 4 new pending entries" in out
    assert "passed over: 2 threads with no staff answer" in out
    assert "They answer no one until staff approve them: journeybot kb review" in out
    return path


def test_reimporting_an_export_changes_nothing(db: str) -> None:
    code, out = jb("kb", "import", str(SLACK), "--staff", "U0STAFF001", "--staff", "mo",
                   "--workspace-url", "https://tidepool.slack.com/", "--db", db)
    assert code == 0 and "0 new pending entries, 0 updated, 4 unchanged" in out


def test_staff_come_from_the_settings_file_too(tmp_path: Path) -> None:
    config = tmp_path / "journeybot.yaml"
    config.write_text("past_threads:\n  staff: ['1200000000000000001']\n  staff_roles: [Support]\n",
                      encoding="utf-8")
    code, out = jb("kb", "import", str(DISCORD), "--config", str(config), "--db", str(tmp_path / "d.db"))
    assert code == 0 and "(Discord export): 7 conversations, 4 answered by staff: 4 new pending entries" in out


def test_an_import_without_staff_or_with_strangers_says_so(tmp_path: Path) -> None:
    code, out = jb("kb", "import", str(SLACK), "--db", str(tmp_path / "x.db"))
    assert code == 2 and "name the staff whose answers count: --staff" in out
    code, out = jb("kb", "import", str(SLACK), "--staff", "U0NOBODY", "--db", str(tmp_path / "x.db"))
    assert code == 0 and "0 new pending entries" in out
    assert "warning: none of the staff you named (U0NOBODY) wrote in this export" in out


def test_a_malformed_export_is_one_line_and_imports_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "export"
    broken.mkdir()
    for file in SLACK.rglob("*.json"):
        target = broken / file.relative_to(SLACK)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(file.read_text(encoding="utf-8"), encoding="utf-8")
    day = broken / "help" / "2024-05-03.json"
    day.write_text(day.read_text(encoding="utf-8").replace('"ts": "1714719600.000100"', '"ts": 1714719600'),
                   encoding="utf-8")
    code, out = jb("kb", "import", str(broken), "--staff", "U0STAFF001", "--db", str(tmp_path / "b.db"))
    assert code == 2
    assert out.strip() == ("journeybot: help/2024-05-03.json line 2, [0].ts: must be a Slack timestamp like "
                           "\"1714640000.000100\", found int '1714719600'; nothing was imported")
    if (tmp_path / "b.db").exists():  # nothing half-imported: no store, or an empty one
        code, out = jb("kb", "list", "--status", "all", "--db", str(tmp_path / "b.db"))
        assert "0 entries" in out


def test_review_lists_approves_rejects_and_refuses(db: str) -> None:
    code, out = jb("kb", "review", "--db", db)  # not a terminal: the list
    assert code == 0 and f"{EXPORT_CSV}\tv1\tslack #help 2024-05-02\tHow do I export my boards to CSV?" in out
    assert "4 pending entries" in out
    code, out = jb("kb", "review", "show", EXPORT_CSV, "--db", db)
    assert "thread: https://tidepool.slack.com/archives/C0HELP0001/p1714640400000100" in out
    assert "answered by Dana" in out

    code, out = jb("kb", "review", "approve", f"{EXPORT_CSV}@1", "--by", "dana", "--db", db)
    assert code == 0 and f"Approved {EXPORT_CSV}: it answers from now on." in out
    code, out = jb("kb", "review", "approve", EXPORT_CSV, "--db", db)
    assert code == 1 and "is live already" in out
    code, out = jb("kb", "review", "reject", GUESTS, "--why", "guests work differently now", "--db", db)
    assert code == 0 and f"Rejected {GUESTS}" in out
    code, out = jb("kb", "review", "approve", "--source", "slack", "--db", db)
    assert code == 0 and "they answer from now on" in out
    code, out = jb("kb", "review", "list", "--db", db)
    assert "0 pending entries" in out


def test_edit_needs_the_version_and_can_approve(db: str) -> None:
    code, out = jb("kb", "review", "edit", GUESTS, "--answer", "Members → Invite → Guest.", "--db", db)
    assert code == 2 and "--version is required" in out
    code, out = jb("kb", "review", "edit", GUESTS, "--version", "1", "--question", "Can I invite a guest?",
                   "--answer", "Members → Invite → Guest.", "--approve", "--by", "mo", "--db", db)
    assert code == 0 and f"Edited {GUESTS} (now version 2). Approved {GUESTS}" in out
    code, out = jb("kb", "review", "edit", GUESTS, "--version", "1", "--answer", "Other.", "--db", db)
    assert code == 1 and "has moved on to version 3 since you read version 1" in out
    code, out = jb("kb", "show", GUESTS, "--db", db)
    item = json.loads(out[: out.index("history:")])
    assert item["questions"] == ["Can I invite a guest?"] and item["status"] == "live"
    assert item["provenance"]["link"].endswith("/archives/C0GENERAL1/p1714644000000100")


def test_kb_retire_goes_through_review(db: str) -> None:
    jb("kb", "review", "approve", "--all", "--db", db)
    code, out = jb("kb", "retire", GUESTS, "--by", "dana", "--db", db)
    assert code == 0 and f"Retired {GUESTS} (version 3); its history is kept." in out
    code, out = jb("kb", "retire", "nope", "--db", db)
    assert code == 1 and "There is no entry 'nope'." in out


def test_the_editor_template_reads_back() -> None:
    class Entry:
        id, version, questions, answer = "k1", 2, ("How?", "how so"), "Like this."

    def editor(text: str) -> str:
        assert "# Editing k1 (version 2)" in text
        return text.replace("how so\n", "how so\nwhat way\n").replace("Like this.", "Like that.\nThen save.")

    assert edit_in_editor(Entry, editor) == (("How?", "how so", "what way"), "Like that.\nThen save.")
    assert edit_in_editor(Entry, lambda text: text) is None
    assert edit_in_editor(Entry, lambda text: None) is None


async def test_on_a_terminal_each_pending_entry_in_turn(chat: Chat) -> None:
    reading = read_export(SLACK, staff=SLACK_STAFF, redact=redacted)
    await import_threads(chat.core.kb, reading.drafts, author="import", at=START)
    answers = iter(["a",                       # approve the first (general: guests)
                    "e", "y",                  # edit the second, then approve it
                    "r", "not ours to answer",  # reject the third
                    "q"])
    said: list[str] = []

    def editor(text: str) -> str:
        return text.replace("ANSWER:\n", "ANSWER:\nShort version: ") + ""

    done = await interactive(chat.core, space="default", by="dana", ask=lambda *a, **k: next(answers),
                             editor=editor, say=said.append)
    assert done == {"approved": 2, "edited": 1, "rejected": 1, "skipped": 0}
    statuses = {e.id: e.status for e in await chat.core.kb.store.entries(status=None) if e.origin == "thread"}
    assert sorted(statuses.values()) == ["live", "live", "pending", "retired"]
    edited = await chat.core.kb.get(EXPORT_CSV)
    assert edited.answer.startswith("Short version: On desktop") and edited.status == "live"  # type: ignore[union-attr]
    assert said[-1] == "Done: 2 approved, 1 edited, 1 rejected, 0 skipped."


def test_a_secret_pasted_into_an_edit_is_stored_nowhere(db: str) -> None:
    import sqlite3

    secret = "ghp_8kF3nQ2xV7bL1mZ9cR4tY6wH0jD5sA2eP8uK"
    code, out = jb("kb", "review", "edit", GUESTS, "--version", "1",
                   "--answer", f"Members → Invite → Guest. Ask mo@tidepool.example, token {secret}", "--db", db)
    assert code == 0, out
    with sqlite3.connect(db) as conn:
        stored = "\n".join(row[0] for row in conn.execute("SELECT body FROM log"))
        answer = conn.execute("SELECT answer FROM entries WHERE id = ?", (GUESTS,)).fetchone()[0]
    assert secret not in stored and "mo@tidepool.example" not in stored
    assert answer == "Members → Invite → Guest. Ask [email], token [github token]"
