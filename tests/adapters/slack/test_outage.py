"""Slack's Web API goes quiet while members keep asking: a question whose asker's name
cannot be looked up is still stored and answered; one whose roles cannot be known is
refused with a plain warning (no error, no traceback) so that Slack delivers it again,
and the second delivery is handled once."""

from __future__ import annotations

import json
import logging

import pytest

from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import ANSWERABLE, Workspace
from tests.adapters.slack.fake import HELP


async def test_a_question_is_answered_while_names_cannot_be_looked_up(
        slack: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    slack.fake.cut("users.info")

    ts = await slack.say(ANSWERABLE, user="UNEW")

    (answer,) = slack.fake.posts(channel=HELP, thread_ts=ts)
    assert "Settings → API → Rotate key" in answer.params["text"]
    assert (await slack.case_of(ts)).status == "answered"
    assert any("names unknown while Slack is unreachable" in r.getMessage() for r in caplog.records)


async def test_a_question_whose_roles_cannot_be_known_is_delivered_again_and_handled_once(
        slack: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    slack.fake.cut("usergroups.list")  # is the asker in the @support group? nobody can say
    ts = slack.fake.next_ts()
    body = json.dumps(payloads.envelope(payloads.message(ANSWERABLE, ts=ts, user="UANN", channel=HELP),
                                        event_id="EvOUTAGE"))

    status, _ = await slack.send(body, "application/json")
    await slack.settle()

    assert status == 503
    assert slack.fake.posts(channel=HELP, thread_ts=ts) == []
    (warning,) = [r for r in caplog.records if "Slack is unreachable" in r.getMessage()]
    assert warning.levelno == logging.WARNING and warning.exc_info is None

    slack.fake.cut("usergroups.list", times=0)  # Slack is back; it delivers the event again
    status, _ = await slack.send(body, "application/json", headers={"X-Slack-Retry-Num": "1",
                                                                    "X-Slack-Retry-Reason": "http_error"})
    await slack.settle()
    status_again, _ = await slack.send(body, "application/json", headers={"X-Slack-Retry-Num": "2",
                                                                          "X-Slack-Retry-Reason": "http_error"})
    await slack.settle()

    assert (status, status_again) == (200, 200)
    assert len(slack.fake.posts(channel=HELP, thread_ts=ts)) == 1
