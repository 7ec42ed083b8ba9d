"""`journeybot demo` and `journeybot chat`: the terminal plays the community."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

ENV = {"COLUMNS": "200", "PATH": "/usr/bin:/bin"}


def chat(*options: str, typed: list[str]) -> str:
    run = subprocess.run([sys.executable, "-m", "bot", "chat", *options], cwd=ROOT,
                         input="\n".join(typed) + "\n", capture_output=True, text=True, timeout=300, env=ENV)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


def test_chat_answers_a_member_and_takes_a_staff_answer() -> None:
    typed = "\n".join([
        "how do I rotate my API key?",
        "/new does tidepool have a gantt chart view?",
        "/staff Not yet: use the Board view; a Timeline view is planned.",
        "/as u2",
        "/new is there a gantt chart view in tidepool?",
        "/quit",
    ]) + "\n"
    run = subprocess.run([sys.executable, "-m", "bot", "chat"], cwd=ROOT, input=typed, capture_output=True,
                         text=True, timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    assert "answer 1.00 from api-key-rotate" in out
    assert re.search(r"card card:m2\S* ", out) and "learned k1" in out, "case ids start with m, entries with k"
    assert not re.search(r"card:k\d", out)
    assert out.count("Board view") >= 2, "relayed, then answered to the next member from what was learned"


def test_a_command_that_cannot_be_sent_now_is_said_at_the_prompt_and_posts_nothing() -> None:
    out = chat(typed=["/solved", "/bogus", "/staff hello", "/new", "/quit"])
    assert "/solved: there is no question yet; ask one first" in out
    assert "/bogus: no such command; type one of /as, /claim" in out
    assert "/staff: there is no question yet" in out and "/new needs text after it" in out
    assert "card" not in out.split("/quit")[-1] and "Who has it now" not in out, "nothing reached the bot"
    asked = chat(typed=["/api/v2/keys returns 404 since yesterday, why?", "/quit"])
    assert "no such command" not in asked, "a question that starts with a path is a question"


def test_the_demo_plays_every_moment_and_ends_with_the_scorecard() -> None:
    run = subprocess.run([sys.executable, "-m", "bot", "demo"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert run.returncode == 0, run.stderr[-2000:]
    out = run.stdout
    for moment in ("answer 0.", "(reason: low_confidence)", "picked up your question", "learned k1",
                   "from k1", "(reason: stale)", "asked again", "new version of embed-code",
                   "(reason: sensitive)", "moved to a private message", "(clarify)", "from refund-policy",
                   "(reason: human_requested)", "Here's what I have on record", "task_success"):
        assert moment in out, f"the demo no longer shows {moment!r}"


def test_chat_help_lists_the_commands_you_can_type_in_the_chat() -> None:
    run = subprocess.run([sys.executable, "-m", "bot", "chat", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env=ENV)
    assert run.returncode == 0, run.stderr[-2000:]
    for typed in ("/new <question>", "/staff <answer>", "/as <user>", "/solved", "/notsolved", "/human",
                  "/recap", "/private", "/claim", "/quit"):
        assert typed in run.stdout, f"chat --help does not mention {typed}"


@pytest.mark.parametrize("command", [["demo"], ["chat"]])
def test_a_misspelt_setting_in_the_environment_is_one_line_not_a_traceback(command: list[str]) -> None:
    run = subprocess.run([sys.executable, "-m", "bot", *command], cwd=ROOT, input="/quit\n", capture_output=True,
                         text=True, timeout=120, env={**ENV, "JOURNEYBOT_STAFF_TEAM_NAM": "the Tidepool team"})
    assert run.returncode == 2
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.stderr.strip() == ("journeybot: environment variable JOURNEYBOT_STAFF_TEAM_NAM: no such setting "
                                  "(did you mean 'JOURNEYBOT_STAFF_TEAM_NAME'?)")
    assert "journeybot demo" not in run.stdout, "refused before it starts playing"


KB = """- id: office-cat
  questions: ["How do I feed the office cat?", "what does the office cat eat"]
  answer: "Half a scoop of the blue tin at 8 and at 17; never milk."
"""


def test_a_kept_database_answers_again_in_a_second_session_without_the_demo_mixed_in(tmp_path: Path) -> None:
    db, kb = tmp_path / "mine.db", tmp_path / "office.yaml"
    kb.write_text(KB, encoding="utf-8")
    first = chat("--db", str(db), "--kb", str(kb), typed=["how do I feed the office cat?", "/quit"])
    assert "from office-cat" in first
    # A second session on the same store (same as two at once): its message ids are new ones, and
    # a store of your own gets no demo knowledge unless asked for.
    second = chat("--db", str(db), typed=["what does the office cat eat", "/new how do I rotate my API key?",
                                           "/quit"])
    assert "from office-cat" in second, "the second session was ignored as a redelivery"
    assert "api-key-rotate" not in second and "(reason: low_confidence)" in second
