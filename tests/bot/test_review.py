"""Staff review knowledge through the core: past threads wait until approved;
edits name the version they change; conflicts are settled, stale entries
renewed, and nobody but staff changes anything."""

from __future__ import annotations

import json

from bot.core import Core
from knowledge.entries import Draft
from knowledge.threads.importer import import_threads, read_export
from tests.chat import START, Chat
from tests.knowledge.threads.conftest import SLACK, SLACK_STAFF, redacted

EXPORT_CSV = "slack-C0HELP0001-1714640400000100"
GUESTS = "slack-C0GENERAL1-1714644000000100"
LIMITS = "slack-C0HELP0001-1714689600000100"
CALENDAR = "slack-C0HELP0001-1714665600000100"


async def import_slack(core: Core) -> None:
    reading = read_export(SLACK, staff=SLACK_STAFF, redact=redacted, workspace_url="https://tidepool.slack.com")
    report = await import_threads(core.kb, reading.drafts, author="import", at=START)
    assert len(report.created) == 4


async def review(chat: Chat, name: str, args: str, *, user: str = "dana", staff: bool = True):  # type: ignore[no-untyped-def]
    said = await chat.command(name, user=user, roles=("staff",) if staff else (), args=args, channel="")
    (reply,) = said.replies
    assert reply.private_to == user
    return reply


async def status(chat: Chat, entry: str) -> str:
    return (await chat.core.kb.get(entry)).status  # type: ignore[union-attr]


async def test_a_past_thread_answers_no_one_until_staff_approve_it(chat: Chat) -> None:
    await import_slack(chat.core)
    before = await chat.ask("How can I export my boards to a CSV file?", user="eve")
    assert EXPORT_CSV not in before.reply.sources and before.reply.kind != "answer"

    reply = await review(chat, "approve", EXPORT_CSV)
    assert reply.sources == (EXPORT_CSV,)
    assert reply.text.startswith(f"Approved {EXPORT_CSV}: it answers from now on.")
    after = await chat.ask("How can I export my boards to a CSV file?", user="fay")
    assert after.reply.kind == "answer" and after.reply.sources == (EXPORT_CSV,)
    assert "Settings → Data → Export boards" in after.reply.text


async def test_only_staff_review_and_a_refusal_changes_nothing(chat: Chat) -> None:
    await import_slack(chat.core)
    reply = await review(chat, "approve", "--all", user="mallory", staff=False)
    assert reply.sources == () and "Only staff can review knowledge." in reply.text
    assert await status(chat, EXPORT_CSV) == "pending"
    for args, why in (("k999", "There is no entry 'k999'."),
                      (f"{EXPORT_CSV} k999", "There is no entry 'k999'."),
                      ("--everything", "I don't know '--everything'"),
                      ("", "Name the entries to approve")):
        reply = await review(chat, "approve", args)
        assert reply.sources == () and why in reply.text, reply.text
        assert "Next step: nothing changed" in reply.text
    assert await status(chat, EXPORT_CSV) == "pending"


async def test_bulk_approval_by_channel_or_source(chat: Chat) -> None:
    await import_slack(chat.core)
    reply = await review(chat, "approve", "--channel general")
    assert reply.sources == (GUESTS,)
    assert await status(chat, EXPORT_CSV) == "pending"
    reply = await review(chat, "approve", "--source slack --channel #help")
    assert set(reply.sources) == {EXPORT_CSV, LIMITS, CALENDAR}
    reply = await review(chat, "approve", "--all")
    assert reply.sources == () and "No pending entries match all yes" in reply.text
    reply = await review(chat, "approve", GUESTS)
    assert reply.sources == () and f"{GUESTS} is live already, not waiting for approval." in reply.text


async def test_a_rejection_needs_a_reason_and_sticks(chat: Chat) -> None:
    await import_slack(chat.core)
    reply = await review(chat, "reject", LIMITS)
    assert reply.sources == () and "Say which entry and why" in reply.text
    reply = await review(chat, "reject", f"{LIMITS} limits changed in 2025, see the pricing page")
    assert reply.sources == (LIMITS,) and await status(chat, LIMITS) == "retired"
    logged = await chat.core.db.fetchone("SELECT body FROM log WHERE kind = 'review' ORDER BY seq DESC LIMIT 1")
    assert json.loads(logged["body"]) == {"what": "rejected", "by": "dana", "entry": LIMITS, "version": 2,  # type: ignore[index]
                                          "why": "limits changed in 2025, see the pricing page"}
    await import_slack_again(chat.core)
    assert await status(chat, LIMITS) == "retired"


async def import_slack_again(core: Core) -> None:
    reading = read_export(SLACK, staff=SLACK_STAFF, redact=redacted, workspace_url="https://tidepool.slack.com")
    report = await import_threads(core.kb, reading.drafts, author="import", at=START)
    assert report.created == [] and report.versioned == []


async def test_an_edit_names_the_version_it_changes(chat: Chat) -> None:
    await import_slack(chat.core)
    edit = {"entry": CALENDAR, "version": 1, "answer": "Remove Tidepool at https://myaccount.google.com/permissions, "
                                                        "then reconnect under Settings → Integrations.",
            "questions": ["Why did my Google calendar stop syncing?", "calendar_sync_failed 403"]}
    reply = await review(chat, "edit", json.dumps(edit))
    assert reply.sources == (CALENDAR,) and "Edited" in reply.text and "still waits for approval" in reply.text
    stale = await review(chat, "edit", json.dumps({**edit, "answer": "Something else."}))
    assert stale.sources == ()
    assert f"{CALENDAR} has moved on to version 2 since you read version 1" in stale.text
    assert (await chat.core.kb.get(CALENDAR)).answer.startswith("Remove Tidepool")  # type: ignore[union-attr]
    missing = await review(chat, "edit", json.dumps({"entry": CALENDAR, "answer": "x"}))
    assert "names the version it edits" in missing.text

    approved = await review(chat, "edit", json.dumps({"entry": CALENDAR, "version": 2, "approve": True,
                                                      "answer": "Reconnect it. Questions? mail dana@tidepool.example"}))
    assert CALENDAR in approved.sources and "Approved" in approved.text
    entry = await chat.core.kb.get(CALENDAR)
    assert entry.status == "live" and entry.version == 4  # type: ignore[union-attr]
    assert entry.answer == "Reconnect it. Questions? mail [email]"  # type: ignore[union-attr]
    assert entry.questions == ("Why did my Google calendar stop syncing?", "calendar_sync_failed 403")  # type: ignore[union-attr]
    answered = await chat.ask("my google calendar stopped syncing, why?", user="gus")
    assert answered.reply.sources == (CALENDAR,)


async def test_approving_an_answer_that_is_already_live_joins_the_live_entry(chat: Chat) -> None:
    kb = chat.core.kb
    live = await kb.create(Draft(("Can guests be invited?",), "Yes: Settings → Members → Invite, then choose "
                                 "Guest. Guests see only the boards you share."), author="op", origin="import",
                           at=START)
    await import_slack(chat.core)
    reply = await review(chat, "approve", GUESTS)
    assert f"{GUESTS} gives the same answer as {live.id}" in reply.text
    assert await status(chat, GUESTS) == "retired"
    assert "Can I invite a client as a guest?" in (await kb.get(live.id)).questions  # type: ignore[union-attr]


async def test_a_conflict_is_settled_by_keeping_one_or_both(chat: Chat) -> None:
    kb = chat.core.kb
    a = await kb.create(Draft(("How long is the free trial?",), "14 days."), author="op", origin="import", at=START)
    b = await kb.create(Draft(("How long is the free trial?",), "30 days, no card needed."), author="op",
                        origin="import", at=START)
    c = await kb.create(Draft(("How long is the trial period?",), "A month."), author="op", origin="import", at=START)
    async with chat.core.db.transaction():
        await kb.store.flag_conflict(a.id, b.id, "default", START)
        await kb.store.flag_conflict(a.id, c.id, "default", START)
    refused = await review(chat, "settle", f"{b.id} {c.id} both")
    assert refused.sources == () and f"{b.id} and {c.id} have no open conflict." in refused.text
    refused = await review(chat, "settle", f"{a.id} {b.id} keep=k999")
    assert f"keep= names one of the two: {a.id} or {b.id}." in refused.text

    kept = await review(chat, "settle", f"{a.id} {b.id} keep={b.id}")
    assert kept.sources == (b.id, a.id) and await status(chat, a.id) == "retired"
    both = await review(chat, "settle", f"{b.id} {c.id} both")
    assert both.sources == ()  # a's retirement settled a/c; b and c never conflicted
    async with chat.core.db.transaction():
        await kb.store.flag_conflict(b.id, c.id, "default", START)
    both = await review(chat, "settle", f"{c.id} {b.id} both")
    assert both.sources == (c.id, b.id) and await kb.store.open_conflicts("default") == []
    async with chat.core.db.transaction():
        assert not await kb.store.flag_conflict(b.id, c.id, "default", START)  # never flagged again


async def test_a_stale_entry_is_renewed_and_answers_again(chat: Chat) -> None:
    stale = await chat.ask("How do I run code cells?", user="hal")
    assert stale.routed and stale.route.reason == "stale"
    refused = await review(chat, "renew", "embed-code 2026-01-01")
    assert refused.sources == () and "2026-01-01 is not in the future." in refused.text
    reply = await review(chat, "renew", "embed-code@1")
    assert reply.sources == ("embed-code",) and "embed-code is current until 2026-08-29" in reply.text
    fresh = await chat.ask("how do I run a code cell?", user="ivy")
    assert fresh.reply.kind == "answer" and fresh.reply.sources == ("embed-code",)


async def test_retiring_through_review_is_logged_with_who_and_why(chat: Chat) -> None:
    reply = await review(chat, "retire", "status-page moved to the new help centre")
    assert reply.sources == ("status-page",) and await status(chat, "status-page") == "retired"
    again = await review(chat, "retire", "status-page")
    assert again.sources == () and "status-page is retired already." in again.text
    logged = await chat.core.db.fetchone("SELECT body FROM log WHERE kind = 'review' ORDER BY seq DESC LIMIT 1")
    assert json.loads(logged["body"])["why"] == "moved to the new help centre"  # type: ignore[index]


async def test_a_discord_thread_answers_once_approved(chat: Chat) -> None:
    from tests.knowledge.threads.conftest import DISCORD, DISCORD_STAFF

    reading = read_export(DISCORD, staff=DISCORD_STAFF, redact=redacted)
    await import_threads(chat.core.kb, reading.drafts, author="import", at=START)
    upload = "discord-1400000000000000001-1400000000000000001"
    before = await chat.ask("My video upload is stuck at 99%, is there a size limit?", user="jo")
    assert upload not in before.reply.sources
    await review(chat, "approve", "--source discord --channel help")
    after = await chat.ask("My video upload is stuck at 99%, is there a size limit?", user="kim")
    assert after.reply.kind == "answer" and after.reply.sources == (upload,)
    assert "capped at 2 GB per file" in after.reply.text
