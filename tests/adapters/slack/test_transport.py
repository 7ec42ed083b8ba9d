"""What Slack expects of an app: signed requests only, fast acks, redeliveries
skipped, rate limits respected, Socket Mode as well as HTTP."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest

from adapters.slack.adapter import SlackAdapter
from bot.runtime import Runtime
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import ANSWERABLE, Workspace, WorkspaceFactory, slack_settings
from tests.adapters.slack.fake import BOT_TOKEN, HELP, FakeSlack


async def test_url_verification_is_answered(slack: Workspace) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "legacy"})

    status, text = await slack.send(body, "application/json")

    assert (status, json.loads(text)) == (200, {"challenge": "c-123"})


async def test_a_bad_signature_is_refused(slack: Workspace) -> None:
    calls = len(slack.fake.calls)
    ts = slack.fake.next_ts()

    status, _ = await slack.event(payloads.message(ANSWERABLE, ts=ts), secret="not-the-secret")
    await slack.settle()

    assert status == 401
    assert len(slack.fake.calls) == calls
    assert await slack.case_of(ts) is None


async def test_a_refused_request_leaves_no_member_text_in_the_logs(slack: Workspace,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    said = "the zebra printer jams, my key is AKIAIOSFODNN7EXAMPLE"

    status, _ = await slack.event(payloads.message(said, ts=slack.fake.next_ts()), secret="not-the-secret")
    await slack.settle()

    assert status == 401
    logged = "\n".join(f"{r.name} {r.getMessage()}" for r in caplog.records)
    assert "signature" in logged, "the refusal itself is logged"
    assert "zebra" not in logged and "AKIAIOSFODNN7EXAMPLE" not in logged


async def test_start_up_warns_of_nothing_when_the_token_is_in_the_environment(
        workspace_with: WorkspaceFactory, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # as `journeybot run slack` is always started
    await workspace_with()
    warnings = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == []


async def test_a_stale_timestamp_is_refused(slack: Workspace) -> None:
    calls = len(slack.fake.calls)
    ts = slack.fake.next_ts()

    # Correctly signed, but ten minutes old: a replayed request.
    status, _ = await slack.event(payloads.message(ANSWERABLE, ts=ts), at=int(time.time()) - 600)
    await slack.settle()

    assert status == 401
    assert len(slack.fake.calls) == calls
    assert await slack.case_of(ts) is None


async def test_a_redelivered_event_is_answered_once(slack: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    ts = slack.fake.next_ts()
    event = payloads.message(ANSWERABLE, ts=ts)

    first = await slack.event(event, event_id="Ev0001")
    await slack.settle()
    again = await slack.event(event, event_id="Ev0001",
                              headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    await slack.settle()

    assert first[0] == again[0] == 200
    assert len(slack.fake.posts(channel=HELP, thread_ts=ts)) == 1
    assert any("redelivered event Ev0001 (retry 1, http_timeout)" in r.getMessage() for r in caplog.records)


async def test_a_retry_racing_the_first_delivery_is_answered_once(slack: Workspace) -> None:
    ts = slack.fake.next_ts()
    event = payloads.message(ANSWERABLE, ts=ts)

    await asyncio.gather(slack.event(event, event_id="Ev0002"),
                         slack.event(event, event_id="Ev0002", headers={"X-Slack-Retry-Num": "1"}))
    await slack.settle()

    assert len(slack.fake.posts(channel=HELP, thread_ts=ts)) == 1


async def test_a_rate_limited_post_still_arrives(slack: Workspace) -> None:
    slack.fake.fail("chat.postMessage", status=429, retry_after=0)
    ts = slack.fake.next_ts()

    await slack.event(payloads.message(ANSWERABLE, ts=ts))
    await slack.fake.wait_for("chat.postMessage", 2, channel=HELP, thread_ts=ts)

    refused, answer = slack.fake.posts(channel=HELP, thread_ts=ts)
    assert refused.result["error"] == "ratelimited"
    assert answer.result["ok"]
    assert "Rotate key" in answer.params["text"]


async def test_a_post_refused_beyond_retries_waits_in_the_outbox(
        workspace_with: WorkspaceFactory, caplog: pytest.LogCaptureFixture) -> None:
    slack = await workspace_with(rate_limit_retries=0)
    slack.fake.fail("chat.postMessage", status=429, retry_after=0)
    ts = slack.fake.next_ts()

    await slack.event(payloads.message(ANSWERABLE, ts=ts))
    await slack.fake.wait_for("chat.postMessage", 2, channel=HELP, thread_ts=ts)  # the runtime retries

    assert [c.result["ok"] for c in slack.fake.posts(channel=HELP, thread_ts=ts)] == [False, True]
    assert any("stays queued" in r.getMessage() for r in caplog.records)
    caplog.clear()  # that error was the point of the test


async def test_posts_to_one_channel_are_paced(workspace_with: WorkspaceFactory) -> None:
    slack = await workspace_with(post_interval_seconds=0.2)
    ts = slack.fake.next_ts()

    await slack.event(payloads.message(ANSWERABLE, ts=ts))
    await slack.event(payloads.message("thanks, that worked!", ts=slack.fake.next_ts(), thread_ts=ts))
    answer, solved = await slack.fake.wait_for("chat.postMessage", 2, channel=HELP, thread_ts=ts)

    assert "marked it solved" in solved.params["text"]
    assert solved.at - answer.at >= 0.18


async def test_the_health_check_answers(slack: Workspace) -> None:
    async with slack.http.get(slack.url.replace("/slack/events", "/healthz")) as response:
        status, text = response.status, await response.text()
    assert status == 200 and text.splitlines()[0] == "ok"
    assert text.splitlines()[1].startswith("store: ok, sqlite schema ")


async def test_socket_mode_round_trip(fake: FakeSlack, slack_core: object) -> None:
    adapter = SlackAdapter(slack_settings(fake), mode="socket")
    runtime = Runtime(slack_core, [adapter])  # type: ignore[arg-type]
    await runtime.start()
    try:
        assert fake.socket_mode_ws is not None or await _connected(fake)
        ts = fake.next_ts()
        envelope = {"envelope_id": "env-1", "type": "events_api", "accepts_response_payload": False,
                    "retry_attempt": 0, "retry_reason": "",
                    "payload": payloads.envelope(payloads.message(ANSWERABLE, ts=ts))}
        assert fake.socket_mode_ws is not None
        await fake.socket_mode_ws.send_json(envelope)

        (ack,) = await fake.wait_for("socket_mode_ack")
        (answer,) = await fake.wait_for("chat.postMessage", channel=HELP, thread_ts=ts)
        assert ack.params["envelope_id"] == "env-1"
        assert "Rotate key" in answer.params["text"]
        (opened,) = fake.of("apps.connections.open")
        assert opened.headers["Authorization"] == "Bearer xapp-test"
    finally:
        await runtime.stop()


async def _connected(fake: FakeSlack) -> bool:
    for _ in range(100):
        if fake.socket_mode_ws is not None:
            return True
        await asyncio.sleep(0.02)
    return False


async def test_slack_is_acknowledged_before_the_core_works(slack: Workspace) -> None:
    release = asyncio.Event()
    process = slack.core.process

    async def slow_process(accepted: object) -> object:
        await release.wait()  # retrieval taking its time
        return await process(accepted)  # type: ignore[arg-type]

    slack.core.process = slow_process  # type: ignore[method-assign, assignment]
    ts = slack.fake.next_ts()
    status, _ = await asyncio.wait_for(slack.event(payloads.message(ANSWERABLE, ts=ts)), timeout=1)

    assert status == 200
    try:
        assert await _task_running(f"slack-event-{HELP}:{ts}")  # the core's work runs in its own task
        assert not slack.fake.posts()
    finally:
        release.set()
    await slack.fake.wait_for("chat.postMessage", channel=HELP, thread_ts=ts)


async def _task_running(name: str) -> bool:
    for _ in range(100):
        if any(t.get_name() == name for t in asyncio.all_tasks()):
            return True
        await asyncio.sleep(0.01)
    return False


async def test_stop_finishes_the_event_in_hand_and_takes_no_new_one(slack: Workspace) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    process = slack.core.process

    async def slow_process(accepted: object) -> object:
        entered.set()
        await release.wait()
        return await process(accepted)  # type: ignore[arg-type]

    slack.core.process = slow_process  # type: ignore[method-assign, assignment]
    ts = slack.fake.next_ts()
    await slack.event(payloads.message(ANSWERABLE, ts=ts))
    await asyncio.wait_for(entered.wait(), 5)
    stopping = asyncio.create_task(slack.adapter.stop())
    await asyncio.sleep(0.05)
    with pytest.raises(aiohttp.ClientConnectionError):  # Slack will deliver it again later
        await slack.event(payloads.message("and another thing", ts=slack.fake.next_ts()))
    assert not stopping.done()  # still waiting for the question in hand

    release.set()
    await asyncio.wait_for(stopping, 5)
    (answer,) = slack.fake.posts(channel=HELP, thread_ts=ts)  # answered on the way out
    assert "Rotate key" in answer.params["text"]
