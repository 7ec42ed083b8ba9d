"""The replay contract (spec/replay.md): JSON lines in, JSON lines out."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from adapters.replay import ReplayAdapter
from bot.runtime import Runtime
from knowledge.embedder import CachedEmbedder
from tests.chat import make_core
from tests.conftest import DEMO_KB, ROOT

SPEC_EXAMPLE = [
    {"type": "message", "id": "m1", "at": "2026-01-05T10:00:00Z", "channel": "help", "user": "u1",
     "text": "how do I rotate my API key?"},
    {"type": "message", "id": "s1", "at": "2026-01-05T10:20:00Z", "channel": "staff", "thread": "card:m1",
     "user": "alice", "roles": ["staff"],
     "text": "Settings → API → Rotate. The old key keeps working for 24 hours."},
    {"type": "message", "id": "m2", "at": "2026-01-06T09:00:00Z", "channel": "help", "user": "u2",
     "text": "how to rotate my api key"},
]


async def lines_of(items: list[object]) -> AsyncIterator[bytes | str]:
    for item in items:
        yield item if isinstance(item, str | bytes) else json.dumps(item)


async def replay(embedder: CachedEmbedder, items: list[object], *, kb: Path | None = None,
                 db: str = ":memory:") -> list[dict]:  # type: ignore[type-arg]
    core = await make_core(embedder, kb=kb, db=db)
    out = io.StringIO()
    try:
        await Runtime(core, [ReplayAdapter(lines_of(items), out)]).start()
    finally:
        await core.close()
    return [json.loads(line) for line in out.getvalue().splitlines()]


def shape(lines: list[dict]) -> list[tuple]:  # type: ignore[type-arg]
    return [(o["type"], o.get("event"), o.get("kind") or o.get("reason") or o.get("entry")) for o in lines]


async def test_the_spec_example_produces_the_spec_actions(embedder: CachedEmbedder) -> None:
    out = await replay(embedder, SPEC_EXAMPLE)
    assert shape(out) == [
        ("route", "m1", "low_confidence"), ("reply", "m1", "handoff"), ("done", "m1", None),
        ("reply", "s1", "relay"), ("learned", "s1", "k1"), ("done", "s1", None),
        ("reply", "m2", "answer"), ("done", "m2", None),
    ]
    route, handoff, _, relay, learned, _, answer, _ = out
    assert route == {**route, "case": "m1", "channel": "staff", "card": "card:m1", "candidates": [],
                     "space": "default"}
    assert handoff["thread"] == "m1" and handoff["channel"] == "help" and handoff["sources"] == []
    assert relay["by"] == "alice" and relay["sources"] == ["k1"] and relay["confidence"] == 1.0
    assert learned == {"type": "learned", "event": "s1", "case": "m1", "space": "default", "entry": "k1",
                       "version": 1, "from": "alice", "question": "how do I rotate my API key?",
                       "answer": "Settings → API → Rotate. The old key keeps working for 24 hours.",
                       "supersedes": None}
    assert answer["sources"] == ["k1"] and answer["case"] == "m2" and answer["confidence"] > 0.8


async def test_bad_lines_get_errors_and_the_run_goes_on(embedder: CachedEmbedder) -> None:
    out = await replay(embedder, [
        "this is not json",
        {"type": "bogus", "id": "x1"},
        {"type": "message", "channel": "help", "text": "no id"},
        {"type": "feedback", "id": "f1", "value": "solved"},
        {"type": "message", "id": "m1", "at": "not a time", "channel": "help", "user": "u", "text": "hi"},
        "[1, 2]",
        {"type": "message", "id": "ok", "at": "2026-01-05T10:00:00Z", "channel": "help", "user": "u",
         "text": "how do I rotate my API key?"},
    ], kb=DEMO_KB)
    errors = [o for o in out if o["type"] == "error"]
    assert [e["line"] for e in errors] == [1, 2, 3, 4, 5, 6]
    assert "not valid JSON" in errors[0]["error"] and "unknown event type" in errors[1]["error"]
    assert "`id`" in errors[2]["error"] and "about" in errors[3]["error"] and "ISO" in errors[4]["error"]
    dones = [o["event"] for o in out if o["type"] == "done"]
    assert dones == [None, "x1", None, "f1", "m1", None, "ok"]
    assert any(o["type"] == "reply" and o["kind"] == "answer" for o in out)


async def test_an_invalid_byte_costs_its_line_not_the_run(embedder: CachedEmbedder) -> None:
    good = {"type": "message", "id": "ok", "at": "2026-01-05T10:00:00Z", "channel": "help", "user": "u",
            "text": "how do I rotate my API key?"}
    out = await replay(embedder, [b'{"type": "message", "id": "bad", "text": "caf\xe9"}\n',
                                  json.dumps(good).encode() + b"\n"], kb=DEMO_KB)
    assert out[0] == {"type": "error", "line": 1, "error": "not valid UTF-8: byte 0xe9 at column 46"}
    assert out[1] == {"type": "done", "event": None}
    assert any(o["type"] == "reply" and o["kind"] == "answer" and o["event"] == "ok" for o in out)


async def test_a_lone_surrogate_is_replaced_not_a_lost_question(embedder: CachedEmbedder,
                                                                tmp_path: Path) -> None:
    line = ('{"type": "message", "id": "m1", "at": "2026-01-05T10:00:00Z", "channel": "help", '
            '"user": "u", "text": "how do I rotate my API key? \\ud800"}')
    out = await replay(embedder, [line], kb=DEMO_KB, db=str(tmp_path / "s.db"))
    assert [o["type"] for o in out][-1] == "done" and out[-1]["event"] == "m1"
    assert any(o["type"] == "reply" and o["kind"] == "answer" for o in out)


async def test_same_input_same_output(embedder: CachedEmbedder) -> None:
    first = await replay(embedder, SPEC_EXAMPLE, kb=DEMO_KB)
    second = await replay(embedder, SPEC_EXAMPLE, kb=DEMO_KB)
    assert first == second


async def test_options_are_answered_by_number(embedder: CachedEmbedder) -> None:
    """A clarify's options can be picked with the asker's `1`, `2` … in the thread."""
    kb = ROOT / "tests" / "adapters" / "close_entries.yaml"
    out = await replay(embedder, [
        {"type": "message", "id": "m1", "at": "2026-01-05T10:00:00Z", "channel": "help", "user": "u1",
         "text": "how do I export my data?"},
        {"type": "message", "id": "m1-2", "channel": "help", "thread": "m1", "user": "u1", "text": "2"},
    ], kb=kb)
    clarify = next(o for o in out if o.get("kind") == "clarify")
    assert len(clarify["options"]) >= 2
    answer = next(o for o in out if o.get("kind") == "answer")
    assert answer["event"] == "m1-2" and answer["sources"] == [clarify["options"][1]]


async def test_state_survives_between_runs_with_a_db(embedder: CachedEmbedder, tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")
    await replay(embedder, SPEC_EXAMPLE[:2], db=db)
    out = await replay(embedder, [SPEC_EXAMPLE[2]], db=db)
    assert [o["type"] for o in out] == ["reply", "done"] and out[0]["sources"] == ["k1"]


async def test_a_lone_surrogate_in_an_id_or_a_name_is_replaced_too(embedder: CachedEmbedder) -> None:
    line = ('{"type": "message", "id": "m1\\ud800", "at": "2026-01-05T10:00:00Z", "channel": "help", '
            '"user": "u\\udc80", "user_name": "Bo\\ud800b", "text": "how do I rotate my API key?"}')
    out = await replay(embedder, [line, SPEC_EXAMPLE[2]], kb=DEMO_KB)
    assert [(o["type"], o.get("event")) for o in out] == [
        ("reply", "m1\ufffd"), ("done", "m1\ufffd"), ("reply", "m2"), ("done", "m2")]


class Killed(BaseException):
    """The process dies here (SIGKILL): nothing after this line runs."""


async def test_a_rerun_after_a_kill_between_print_and_record_prints_nothing_twice(
        embedder: CachedEmbedder, tmp_path: Path) -> None:
    db = str(tmp_path / "state.db")
    core = await make_core(embedder, db=db)
    first_run = io.StringIO()

    async def killed(*args: object, **kwargs: object) -> None:
        raise Killed  # the route was printed; the kill comes before it is recorded as sent

    core.performed = killed  # type: ignore[method-assign]
    try:
        await Runtime(core, [ReplayAdapter(lines_of(SPEC_EXAMPLE), first_run)]).start()
    except Killed:
        pass
    finally:
        await core.close()
    again = await replay(embedder, SPEC_EXAMPLE, db=db)  # the same input, the same store

    printed = [json.loads(line) for line in first_run.getvalue().splitlines()] + again
    assert shape(printed) == [
        ("route", "m1", "low_confidence"),  # printed once, before the kill
        ("reply", "m1", "handoff"),  # stored, never sent before the kill: sent now
        ("done", "m1", None),  # m1 was handled before; the rerun only says so
        ("reply", "s1", "relay"), ("learned", "s1", "k1"), ("done", "s1", None),
        ("reply", "m2", "answer"), ("done", "m2", None),
    ]


def test_the_command_line_speaks_the_contract(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_bytes(("".join(json.dumps(e) + "\n" for e in SPEC_EXAMPLE) + "{oops\n").encode()
                       + b'{"type": "tick", "id": "t\xff"}\n')
    run = subprocess.run([sys.executable, "-m", "bot", "replay", str(events)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o["type"] for o in out] == ["route", "reply", "done", "reply", "learned", "done", "reply",
                                        "done", "error", "done", "error", "done"]
    assert out[-4]["line"] == 4 and out[-2]["line"] == 5 and "UTF-8" in out[-2]["error"]
    assert "INFO" in run.stderr and "INFO" not in run.stdout


def test_the_command_line_fails_clearly_when_it_cannot_start(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "bot", "replay", str(tmp_path / "missing.jsonl")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "no such file" in run.stderr


def test_help_says_that_without_db_the_store_is_thrown_away_whatever_the_settings_name() -> None:
    # Contract: without --db, state lives in a throw-away store; `db:` in --config does not count.
    from typer.testing import CliRunner

    from bot.cli import app

    text = " ".join(CliRunner().invoke(app, ["replay", "--help"], env={"COLUMNS": "300"}).output.split())
    assert "throw-away store for this run" in text, text
    assert "journeybot.db" not in text, "replay never falls back to the settings' store"



def test_a_journeybot_yaml_in_the_folder_does_not_change_what_replay_does(tmp_path: Path) -> None:
    """The operator's commands read ./journeybot.yaml; replay reads only what it is given."""
    import os

    event = {"type": "message", "id": "m1", "at": "2026-01-05T10:00:00Z", "channel": "help", "user": "u1",
             "text": "how do I rotate my API key?"}

    def replay_in(folder: Path) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "bot", "replay", "-", "--kb", str(DEMO_KB)], cwd=folder,
                              input=json.dumps(event) + "\n", capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0, done.stderr[-2000:]
        return [json.loads(line)["type"] for line in done.stdout.splitlines()]

    (tmp_path / "journeybot.yaml").write_text("help_channels: [questions]\nstaf_channel: typo\n")
    assert "reply" in replay_in(tmp_path), "neither its channels nor its typo reached replay"
