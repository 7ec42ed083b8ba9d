"""`journeybot demo` and `journeybot chat`: the terminal plays the community."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


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
    assert "card card:k2" in out and "learned k1" in out
    assert out.count("Board view") >= 2, "relayed, then answered to the next member from what was learned"


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
