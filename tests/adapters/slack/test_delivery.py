"""Nothing Slack was told "got it" about is lost, and nothing is posted twice: events are
acknowledged once stored; while the store fails Slack hears 503 and delivers again (its
documented retries), the member hears at once, /healthz says why; a post made just
before a crash is found by its key after the restart, not posted again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.slack.adapter import SlackAdapter
from bot.core import Core
from bot.runtime import Runtime
from knowledge.embedder import CachedEmbedder
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import (
    ANSWERABLE,
    UNANSWERABLE,
    Workspace,
    WorkspaceFactory,
    slack_settings,
)
from tests.adapters.slack.fake import HELP, STAFF, FakeSlack
from tests.chat import make_core
from tests.conftest import DEMO_KB
from tests.fakes.disk import HeldLock


@pytest_asyncio.fixture(loop_scope="function")
async def slack_core(embedder: CachedEmbedder, tmp_path: Path,
                     monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Core]:
    """The core on a database file (another connection can lock it; a restart reopens it)."""
    import bot.runtime as runtime_module

    monkeypatch.setattr(runtime_module, "STORE_RETRY_FIRST", 0.05)
    monkeypatch.setattr(runtime_module, "STORE_RETRY_MAX", 0.2)
    core = await make_core(embedder, kb=DEMO_KB, db=str(tmp_path / "slack.db"))
    await core.db.conn.execute("PRAGMA busy_timeout = 100")  # 5 s in production
    try:
        yield core
    finally:
        await core.close()


async def health(slack: Workspace) -> tuple[int, str]:
    async with slack.http.get(slack.url.replace("/slack/events", "/healthz")) as response:
        return response.status, await response.text()


async def until(check: object, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("not within the time")


async def stored(core: Core, event_id: str) -> bool:
    """Whether the store holds the event (``event_id`` may end in ``%``)."""
    return await core.db.fetchone("SELECT 1 FROM events WHERE id LIKE ?", (event_id,)) is not None


def slow_store(slack: Workspace) -> None:
    """Storing an event takes 0.3 s (a busy disk)."""
    receive = slack.core.inbox.receive

    async def slowly(**kwargs: object) -> bool:
        await asyncio.sleep(0.3)
        return await receive(**kwargs)  # type: ignore[arg-type]

    slack.core.inbox.receive = slowly  # type: ignore[method-assign]


async def test_an_event_is_acknowledged_only_once_it_is_stored(slack: Workspace) -> None:
    slow_store(slack)
    ts = slack.fake.next_ts()

    status, _ = await slack.event(payloads.message(ANSWERABLE, ts=ts))

    assert status == 200
    assert await stored(slack.core, f"{HELP}:{ts}"), "acknowledged before it was stored"
    await slack.fake.wait_for("chat.postMessage", channel=HELP, thread_ts=ts)


async def test_while_the_store_fails_slack_gets_503_the_member_hears_and_nothing_is_lost(
        slack: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    ts = slack.fake.next_ts()
    event = payloads.message(ANSWERABLE, ts=ts)
    lock = HeldLock(slack.core.db.path).take()
    try:
        refused = await slack.event(event, event_id="Ev0100")
        (told,) = await slack.fake.wait_for("chat.postMessage", channel=HELP, thread_ts=ts)
        trouble = await health(slack)
        last_try = await slack.event(event, event_id="Ev0100", headers={"X-Slack-Retry-Num": "3",
                                                                        "X-Slack-Retry-Reason": "http_error"})
    finally:
        lock.release()

    assert refused[0] == 503, "not stored, so not acknowledged: Slack delivers it again"
    assert "isn't lost" in told.params["text"] and "Who has it now" in told.params["text"]
    assert trouble[0] == 503 and "database is locked" in trouble[1]
    assert last_try[0] == 200, "Slack's last try is acknowledged: the event is held"
    assert any("database is locked" in r.getMessage() and r.levelname == "ERROR" for r in caplog.records)

    (_, answer) = await slack.fake.wait_for("chat.postMessage", 2, channel=HELP, thread_ts=ts)
    assert "Rotate key" in answer.params["text"]
    await until(lambda: (h := slack.adapter._sink.health()).ok and not h.waiting)  # type: ignore[union-attr]
    status, text = await health(slack)
    assert (status, text.splitlines()[0]) == (200, "ok")
    again = await slack.event(event, event_id="Ev0100", headers={"X-Slack-Retry-Num": "2"})
    await slack.settle()
    assert again[0] == 200 and len(slack.fake.posts(channel=HELP, thread_ts=ts)) == 2  # answered once
    caplog.clear()  # the error line was the point


async def test_socket_mode_acknowledges_an_envelope_once_stored(fake: FakeSlack, slack_core: Core,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    runtime = Runtime(slack_core, [SlackAdapter(slack_settings(fake), mode="socket")])
    await runtime.start()
    try:
        await until(lambda: fake.socket_mode_ws is not None)
        assert fake.socket_mode_ws is not None
        ts = fake.next_ts()
        body = payloads.envelope(payloads.message(ANSWERABLE, ts=ts), event_id="Ev0200")
        lock = HeldLock(slack_core.db.path).take()
        try:
            await fake.socket_mode_ws.send_json({"envelope_id": "env-1", "type": "events_api", "payload": body,
                                                 "accepts_response_payload": False, "retry_attempt": 0})
            await fake.wait_for("chat.postMessage", channel=HELP, thread_ts=ts)  # told at once
            await asyncio.sleep(0.2)
        finally:
            lock.release()
        assert fake.of("socket_mode_ack") == [], "held in memory, not stored: Slack must try again"
        (_, answer) = await fake.wait_for("chat.postMessage", 2, channel=HELP, thread_ts=ts)  # once it works

        await fake.socket_mode_ws.send_json({"envelope_id": "env-2", "type": "events_api", "payload": body,
                                             "accepts_response_payload": False, "retry_attempt": 1,
                                             "retry_reason": "timeout"})
        (ack,) = await fake.wait_for("socket_mode_ack")  # Slack's next try: stored by now, acknowledged
        assert ack.params["envelope_id"] == "env-2" and "Rotate key" in answer.params["text"]
        await asyncio.sleep(0.1)
        assert len(fake.posts(channel=HELP, thread_ts=ts)) == 2
    finally:
        await runtime.stop()
    caplog.clear()


class Killed(BaseException):
    """The process dies here: nothing after this line runs."""


async def test_a_card_posted_just_before_a_crash_is_found_not_posted_again(
        fake: FakeSlack, embedder: CachedEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = str(tmp_path / "crash.db")
    core = await make_core(embedder, kb=DEMO_KB, db=db)
    runtime = Runtime(core, [SlackAdapter(slack_settings(fake), mode="http", host="127.0.0.1", port=0)])

    async def killed(*args: object, **kwargs: object) -> None:
        raise Killed  # posted; the process dies before it records that

    core.performed = killed  # type: ignore[method-assign]
    ts = fake.next_ts()
    await runtime.start()
    try:
        with pytest.raises(Killed):
            await runtime.deliver(await translated(runtime, payloads.message(UNANSWERABLE, ts=ts)))
    finally:
        await core.close()  # no orderly stop: the process is gone …
        await runtime.primary.stop()  # … and with it its connections
    (card,) = [c for c in fake.posts(channel=STAFF) if "thread_ts" not in c.params or not c.params["thread_ts"]]
    assert card.params["metadata"]["event_payload"]["key"]

    core = await make_core(embedder, db=db)
    restarted = Runtime(core, [SlackAdapter(slack_settings(fake), mode="http", host="127.0.0.1", port=0)])
    await restarted.start()  # sends what the first run left
    try:
        cards = [c for c in fake.posts(channel=STAFF) if not c.params.get("thread_ts")]
        assert len(cards) == 1, "the card was posted again after the restart"
        assert fake.of("conversations.history", channel=STAFF), "the resend looked for its post first"
        (handoff,) = fake.posts(channel=HELP, thread_ts=ts)  # never attempted before: sent, without a look
        assert "Who has it now" in handoff.params["text"]
        assert not fake.of("conversations.replies")
        case = await core.cases.get("default", f"{HELP}:{ts}")
        assert case is not None and case.card_ref == f"{STAFF}:{card.ts}"  # staff replies to it still land
        assert await core.pending() == []
    finally:
        await restarted.stop()
        await core.close()
    caplog.clear()


async def test_a_reply_posted_just_before_a_crash_is_found_in_its_thread(
        fake: FakeSlack, embedder: CachedEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = str(tmp_path / "crash.db")
    core = await make_core(embedder, kb=DEMO_KB, db=db)
    runtime = Runtime(core, [SlackAdapter(slack_settings(fake), mode="http", host="127.0.0.1", port=0)])
    performed = core.performed
    calls = 0

    async def killed_at_the_reply(*args: object, **kwargs: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise Killed  # the card was recorded; the hand-over in the thread was posted, not recorded
        await performed(*args, **kwargs)  # type: ignore[arg-type]

    core.performed = killed_at_the_reply  # type: ignore[method-assign]
    ts = fake.next_ts()
    await runtime.start()
    try:
        with pytest.raises(Killed):
            await runtime.deliver(await translated(runtime, payloads.message(UNANSWERABLE, ts=ts)))
    finally:
        await core.close()
        await runtime.primary.stop()

    core = await make_core(embedder, db=db)
    restarted = Runtime(core, [SlackAdapter(slack_settings(fake), mode="http", host="127.0.0.1", port=0)])
    await restarted.start()
    try:
        (handoff,) = fake.posts(channel=HELP, thread_ts=ts)  # posted once, before the crash
        assert "Who has it now" in handoff.params["text"]
        assert fake.of("conversations.replies", channel=HELP, ts=ts), "the resend looked in the thread first"
        assert len([c for c in fake.posts(channel=STAFF) if not c.params.get("thread_ts")]) == 1
        assert await core.pending() == []
    finally:
        await restarted.stop()
        await core.close()
    caplog.clear()


async def test_a_staff_answer_stored_before_a_crash_finds_its_card_after_the_restart(
        fake: FakeSlack, embedder: CachedEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = str(tmp_path / "crash.db")
    core = await make_core(embedder, kb=DEMO_KB, db=db)
    runtime = Runtime(core, [SlackAdapter(slack_settings(fake), mode="http", host="127.0.0.1", port=0)])

    async def killed(*args: object, **kwargs: object) -> None:
        raise Killed  # the card is posted; its record never written

    core.performed = killed  # type: ignore[method-assign]
    ts = fake.next_ts()
    await runtime.start()
    try:
        with pytest.raises(Killed):
            await runtime.deliver(await translated(runtime, payloads.message(UNANSWERABLE, ts=ts)))
        (card,) = fake.posts(channel=STAFF)
        answer = payloads.message("Yes: Views → Timeline.", ts=fake.next_ts(), user="UALICE", channel=STAFF,
                                  thread_ts=card.ts)
        accepted = await core.accept(await translated(runtime, answer))  # stored, acknowledged; then killed
        assert accepted.verdict == "stored"
    finally:
        await core.close()
        await runtime.primary.stop()

    core = await make_core(embedder, db=db)
    restarted = Runtime(core, [SlackAdapter(slack_settings(fake), mode="http", host="127.0.0.1", port=0)])
    await restarted.start()
    try:
        relayed = [c for c in fake.posts(channel=HELP, thread_ts=ts) if "Timeline" in c.params["text"]]
        assert len(relayed) == 1, "the staff answer was not relayed after the restart"
        entries = await core.db.fetchall("SELECT answer FROM entries WHERE origin = 'staff'")
        assert [e["answer"] for e in entries] == ["Yes: Views → Timeline."]
    finally:
        await restarted.stop()
        await core.close()
    caplog.clear()


async def translated(runtime: Runtime, event: dict[str, object]) -> object:
    """The core event the Slack adapter reads from an Events API message."""
    adapter = runtime.primary
    assert isinstance(adapter, SlackAdapter) and adapter.translator is not None
    from adapters.slack.inbound import Payload

    return await adapter.translator.payload(Payload("message", payloads.envelope(event), event))


def test_keys_fit_slack_metadata() -> None:
    from adapters.slack.outbound import KEY_EVENT

    assert json.dumps({"event_type": KEY_EVENT, "event_payload": {"key": "0123456789ab"}})
    assert KEY_EVENT.islower() and " " not in KEY_EVENT  # Slack: an event_type is a lower-case name


async def test_an_interaction_is_acknowledged_once_stored(workspace_with: WorkspaceFactory) -> None:
    slack = await workspace_with()
    ts = await slack.say(ANSWERABLE)
    (answer,) = await slack.fake.wait_for("chat.postMessage", channel=HELP, thread_ts=ts)
    slow_store(slack)
    body = payloads.block_actions("journeybot_solved", f"{HELP}:{ts}", user="UANN", channel=HELP,
                                  message_ts=answer.ts, thread_ts=ts)
    status, _ = await slack.send(payloads.interactive(body), "application/x-www-form-urlencoded")
    was_stored = await stored(slack.core, f"{HELP}:{answer.ts}:journeybot_solved:%")

    assert status == 200 and was_stored, "acknowledged before it was stored"
    await slack.settle()
    case = await slack.case_of(ts)
    assert case is not None and case.status == "resolved"
