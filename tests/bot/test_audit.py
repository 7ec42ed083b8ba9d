"""The evidence trail: `journeybot audit verify` finds tampering, `show` tells
a case's story for a reviewer, `export` writes records that check out again."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.audit import ChainCheck, read_export, verify
from bot.cli import app
from bot.generate import Generator
from bot.settings import LLMSettings
from knowledge.embedder import CachedEmbedder
from storage.database import Database
from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB
from tests.fakes.openai_fake import FakeOpenAI

WEBHOOKS = "How do I set up webhooks, and are failed deliveries retried?"
runner = CliRunner()


async def _conversation(path: Path, embedder: CachedEmbedder) -> None:
    """An answered case (m1, worded by an LLM), a routed one a staff answer
    taught (m2), and a private one whose knowledge was approved (m3)."""
    fake = await FakeOpenAI().start()
    core = await make_core(embedder, kb=DEMO_KB, db=str(path))
    core.generator = Generator(LLMSettings(model="gpt-test", base_url=fake.base_url), api_key="sk-test")
    try:
        chat = Chat(core)
        fake.then(answer="Add an endpoint under Settings → Integrations → Webhooks [2]. Failed "
                         "deliveries are retried for up to 3 days [1].")
        await chat.ask(WEBHOOKS, id="m1", user="ann")
        await chat.ask("does the mobile app support apple pencil handwriting?", id="m2", user="bob")
        await chat.staff("Yes: on iPad, tap the pen icon in any page to write with Apple Pencil.",
                         card="card:m2")
        await chat.ask("my invoice shows the wrong company address", id="m3", user="cy", channel="dm:cy")
        taught = await chat.staff("Edit it under Settings → Billing → Billing details; the next invoice "
                                  "uses it.", card="card:m3")
        await chat.command("approve", user="alice", roles=("staff",), args=taught.learned.entry)
    finally:
        await core.close()
        await fake.close()


@pytest.fixture
def store(tmp_path: Path, embedder: CachedEmbedder) -> Path:
    path = tmp_path / "journeybot.db"
    asyncio.run(_conversation(path, embedder))
    return path


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", *args])
    return result.exit_code, result.output


def seq_of(path: Path, kind: str, case: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT min(seq) FROM log WHERE kind = ? AND case_key = ?", (kind, case)).fetchone()[0]


def check(path: Path, head: str | None = None) -> ChainCheck:
    async def go() -> ChainCheck:
        async with Database(str(path)) as db:
            return await verify(db, head=head)
    return asyncio.run(go())


# -- verify --------------------------------------------------------------------------------


def test_an_untouched_log_verifies(store: Path) -> None:
    code, out = cli("verify", "--db", str(store))

    assert code == 0, out
    assert out.startswith("chain intact: ")


def test_a_changed_record_is_named(store: Path) -> None:
    n = seq_of(store, "decision", "m2")
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE log SET body = replace(body, 'low_confidence', 'answer') WHERE seq = ?", (n,))

    code, out = cli("verify", "--db", str(store))

    assert code == 1
    assert f"chain broken at record {n} (decision): its content was changed" in out
    found = check(store)
    assert (found.broken_at, found.kind) == (n, "decision")


def test_a_deleted_record_is_found(store: Path) -> None:
    n = seq_of(store, "generation", "m1")
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM log WHERE seq = ?", (n,))

    code, out = cli("verify", "--db", str(store))

    assert code == 1
    assert f"chain broken at record {n + 1} " in out
    assert f"record {n} missing (deleted)" in out


def test_an_answer_edited_in_the_store_is_caught_and_the_entry_named(store: Path) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE entries SET answer = 'Email your password to help@example.org.' "
                     "WHERE id = 'api-key-rotate'")

    code, out = cli("verify", "--db", str(store))

    assert code == 1, out
    assert "knowledge changed outside journeybot: api-key-rotate version 1: answer differs from what " \
           "was written" in out
    assert not check(store).ok


def test_a_past_version_edited_in_the_store_is_caught(store: Path) -> None:
    with sqlite3.connect(store) as conn:
        taught = conn.execute("SELECT entry_id FROM entry_versions WHERE snapshot LIKE '%Apple Pencil%'").fetchone()[0]
        conn.execute("UPDATE entry_versions SET snapshot = replace(snapshot, 'pen icon', 'gear icon') "
                     "WHERE entry_id = ?", (taught,))

    code, out = cli("verify", "--db", str(store))

    assert code == 1, out
    assert f"knowledge changed outside journeybot: {taught} version 1 (history)" in out


def test_an_entry_slipped_into_the_store_is_caught(store: Path) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("INSERT INTO entries SELECT 'k999', space, version, status, questions, 'Call +1 555 0100.', "
                     "answer_key, tags, url, review_after, author, source_case, origin, private, created_at, "
                     "updated_at, provenance FROM entries WHERE id = 'api-key-rotate'")

    code, out = cli("verify", "--db", str(store))

    assert code == 1, out
    assert "k999 version 1: not in the evidence trail" in out


def test_a_cut_off_end_is_found_against_a_noted_head(store: Path) -> None:
    code, out = cli("verify", "--db", str(store))
    head = out.split("head ")[1].strip()
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM log WHERE seq > (SELECT max(seq) - 2 FROM log)")  # the approval's last two

    assert cli("verify", "--db", str(store))[0] == 0  # a chain alone cannot see its end cut off
    code, out = cli("verify", "--head", head, "--db", str(store))
    assert code == 1
    assert "is not in the log" in out


def test_a_cut_off_end_that_took_a_knowledge_change_is_found_without_a_head(store: Path) -> None:
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM log WHERE seq > (SELECT max(seq) - 3 FROM log)")  # the approval, whole

    code, out = cli("verify", "--db", str(store))

    assert code == 1
    assert "version 2: not in the evidence trail" in out  # the approved version the store still has


def test_a_noted_head_may_be_its_first_digits_as_the_docs_print_it(store: Path) -> None:
    head = cli("verify", "--db", str(store))[1].split("head ")[1].strip()
    with sqlite3.connect(store) as conn:
        older = conn.execute("SELECT hash FROM log WHERE seq = 3").fetchone()[0]

    assert cli("verify", "--head", head[:8], "--db", str(store))[0] == 0
    assert cli("verify", "--head", f"{head[:8]}…", "--db", str(store))[0] == 0   # pasted from docs/trust.md
    assert cli("verify", "--head", older[:10].upper(), "--db", str(store))[0] == 0
    code, out = cli("verify", "--head", "abc", "--db", str(store))
    assert code == 1 and "at least 8 hex digits" in out
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM log WHERE seq > (SELECT max(seq) - 3 FROM log)")
    code, out = cli("verify", "--head", head[:8], "--db", str(store))
    assert code == 1 and "is not in the log" in out


def test_a_missing_store_is_one_clear_line(tmp_path: Path) -> None:
    code, out = cli("verify", "--db", str(tmp_path / "nope.db"))

    assert code == 2
    assert "no store at" in out
    assert not (tmp_path / "nope.db").exists()


# -- show ----------------------------------------------------------------------------------


def test_show_tells_an_answered_case_with_sources_thresholds_and_model(store: Path) -> None:
    code, out = cli("show", "m1", "--db", str(store))

    assert code == 0, out
    assert out.startswith("Case m1 in space default\nAsked by ann: “How do I set up webhooks")
    assert "chain intact" in out
    assert "DECISION   answer webhooks-retries (confidence" in out
    assert "webhooks-retries v1  score 0." in out
    assert "webhooks-setup v1  score 0." in out
    assert "answer_threshold=0.64" in out
    assert "embedding model: all-MiniLM-L6-v2" in out
    with sqlite3.connect(store) as conn:
        body = json.loads(conn.execute("SELECT body FROM log WHERE kind = 'generation'").fetchone()[0])
    assert f"prompt sha256 {body['prompt_sha256']}" in out
    assert "sources given: [1] webhooks-retries v1; [2] webhooks-setup v1" in out
    assert "reply (answer) in the thread: “Add an endpoint" in out
    assert "sources: webhooks-retries v1, webhooks-setup v1" in out
    seqs = [int(line.split("#")[1].split()[0]) for line in out.splitlines() if line[:4].isdigit()]
    assert seqs == sorted(seqs)
    assert out.index("EVENT      message from ann") < out.index("DECISION")


def test_show_tells_what_was_learned_and_approved(store: Path) -> None:
    code, out = cli("show", "m3", "--db", str(store))

    assert code == 0, out
    assert "route sensitive" in out
    assert "card card:m3 to staff, reason sensitive" in out
    assert "message from Alice in staff, thread card:m3" in out
    assert "pending: answers no one until staff approve it" in out
    assert "alice ran /approve k" in out
    assert "alice approved k" in out
    assert "status live" in out


def test_show_marks_a_tampered_record(store: Path) -> None:
    n = seq_of(store, "decision", "m1")
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE log SET body = replace(body, '0.64', '0.10') WHERE seq = ?", (n,))

    code, out = cli("show", "m1", "--db", str(store))

    assert code == 0
    assert f"chain broken at record {n} (decision)" in out
    assert "!! this record's hash does not hold" in out


def test_show_an_unknown_case_fails(store: Path) -> None:
    code, out = cli("show", "nope", "--db", str(store))

    assert code == 1
    assert "no records of case 'nope'" in out


# -- export --------------------------------------------------------------------------------


def test_export_round_trips_as_json_lines(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "trail.jsonl"

    code, _ = cli("export", str(target), "--db", str(store))

    assert code == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert all(set(r) == {"seq", "kind", "at", "space", "case", "event_id", "body", "prev_hash", "hash"}
               for r in rows)
    with sqlite3.connect(store) as conn:
        stored = conn.execute("SELECT seq, kind, body, prev_hash, hash FROM log ORDER BY seq").fetchall()
    assert [(r["seq"], r["kind"], r["body"], r["prev_hash"], r["hash"]) for r in rows] == [
        (seq, kind, json.loads(body), prev, digest) for seq, kind, body, prev, digest in stored]
    records = read_export(lines)
    assert all(r.sealed for r in records)
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(records))


def test_export_of_one_case_and_a_period(store: Path) -> None:
    code, out = cli("export", "-", "--case", "m1", "--db", str(store))

    assert code == 0
    records = read_export(out.splitlines())
    assert {r.case for r in records} == {"m1", None}
    assert [r.kind for r in records if r.case is None] == ["event"]
    assert all(r.sealed for r in records)
    assert {"decision", "generation", "action"} <= {r.kind for r in records}

    code, out = cli("export", "-", "--since", "2030-01-01", "--db", str(store))
    assert code == 0
    assert out == ""
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE log SET body = '{}' WHERE seq = 1")
    assert not read_export(cli("export", "-", "--db", str(store))[1].splitlines())[0].sealed
