"""Payloads as Slack sends them, extra fields and all, go through unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Workspace
from tests.adapters.slack.fake import HELP

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((RECORDED / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


async def test_a_recorded_question_and_solved_click(slack: Workspace) -> None:
    question = recorded("question.json")
    ts = question["event"]["ts"]

    status, _ = await slack.send(json.dumps(question), "application/json")
    await slack.settle()

    assert status == 200
    (answer,) = slack.fake.posts(channel=HELP, thread_ts=ts)
    assert "Rotate key" in answer.params["text"]
    case = await slack.case_of(ts)
    assert "@Bob said it's in settings" in case.question  # <@UBOB> read as a name, not markup

    click = recorded("solved_click.json")
    status, _ = await slack.send(payloads.interactive(click), "application/x-www-form-urlencoded")
    await slack.settle()

    assert status == 200
    assert "marked it solved" in slack.fake.posts(channel=HELP, thread_ts=ts)[-1].params["text"]
    assert (await slack.case_of(ts)).status == "resolved"
