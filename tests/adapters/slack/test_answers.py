"""Members ask in a help channel, the bot answers in the thread with Block Kit."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.render import reply_blocks
from bot.actions import Reply
from bot.events import Address
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import ANSWERABLE, UNANSWERABLE, Workspace
from tests.adapters.slack.fake import BOT_ID, BOT_USER, HELP, RANDOM, STAFF, Call


async def test_a_question_is_answered_in_its_thread_with_sources_and_buttons(slack: Workspace) -> None:
    ts = await slack.say(ANSWERABLE)

    (answer,) = slack.fake.posts(channel=HELP, thread_ts=ts)
    assert "Settings → API → Rotate key" in answer.params["text"]
    assert answer.params["parse"] == "none"
    assert answer.params.get("link_names") in (False, 0, "0", "false")
    sources = [b for b in answer.blocks() if b.get("block_id") == "journeybot_sources"]
    assert "<https://docs.tidepool.example/api/keys#rotate|" in sources[0]["elements"][0]["text"]
    assert answer.buttons() == {"journeybot_solved": f"{HELP}:{ts}", "journeybot_not_solved": f"{HELP}:{ts}",
                                "journeybot_human": f"{HELP}:{ts}"}
    labels = [e["text"]["text"] for b in answer.blocks() if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Solved", "Not solved", "Talk to a person"]


async def answered(slack: Workspace, user: str = "UANN") -> tuple[str, Call]:
    ts = await slack.say(ANSWERABLE, user=user)
    (answer,) = slack.fake.posts(channel=HELP, thread_ts=ts)
    return ts, answer


async def test_solved_marks_the_case_solved(slack: Workspace) -> None:
    ts, answer = await answered(slack)

    status, _ = await slack.click("journeybot_solved", f"{HELP}:{ts}", user="UANN", on=answer)

    assert status == 200
    assert "marked it solved" in slack.fake.posts(channel=HELP, thread_ts=ts)[-1].params["text"]
    assert (await slack.case_of(ts)).status == "resolved"


async def test_not_solved_hands_the_question_to_staff(slack: Workspace) -> None:
    ts, answer = await answered(slack)

    await slack.click("journeybot_not_solved", f"{HELP}:{ts}", user="UANN", on=answer)

    assert "Sorry that didn't solve it" in slack.fake.posts(channel=HELP, thread_ts=ts)[-1].params["text"]
    assert "the asker said the answer did not solve it" in slack.card().everything()


async def test_talk_to_a_person_hands_the_question_to_staff(slack: Workspace) -> None:
    ts, answer = await answered(slack)

    await slack.click("journeybot_human", f"{HELP}:{ts}", user="UANN", on=answer)

    assert "Of course" in slack.fake.posts(channel=HELP, thread_ts=ts)[-1].params["text"]
    assert "the asker asked for a person" in slack.card().everything()


async def test_someone_elses_button_press_gets_a_private_note(slack: Workspace) -> None:
    ts, answer = await answered(slack)

    await slack.click("journeybot_solved", f"{HELP}:{ts}", user="UBOB", on=answer)

    (note,) = slack.fake.of("chat.postEphemeral")
    assert (note.params["user"], note.params["channel"], note.params["thread_ts"]) == ("UBOB", HELP, ts)
    assert "Only the person who asked" in note.params["text"]
    assert (await slack.case_of(ts)).status == "answered"


async def test_a_follow_up_in_the_thread_continues_the_case(slack: Workspace) -> None:
    ts, _ = await answered(slack)

    await slack.say("thanks, that worked!", thread=ts)

    assert "marked it solved" in slack.fake.posts(channel=HELP, thread_ts=ts)[-1].params["text"]
    assert (await slack.case_of(ts)).status == "resolved"


async def test_a_mention_anywhere_asks_the_bot(slack: Workspace) -> None:
    ts = slack.fake.next_ts()
    # Slack sends both a message and an app_mention for one mention; the mention is the one that counts.
    await slack.event(payloads.message(f"<@{BOT_USER}> {ANSWERABLE}", ts=ts, channel=RANDOM))
    await slack.event(payloads.mention(ANSWERABLE, ts=ts, channel=RANDOM))
    await slack.settle()

    (answer,) = slack.fake.posts(channel=RANDOM, thread_ts=ts)
    assert "Rotate key" in answer.params["text"]
    case = await slack.case_of(ts, channel=RANDOM)
    assert case.question == ANSWERABLE  # the bot's own mention is not part of the question


async def test_a_plain_message_outside_help_channels_is_left_alone(slack: Workspace) -> None:
    await slack.say(ANSWERABLE, channel=RANDOM)

    assert not slack.fake.posts()


async def test_the_bots_own_and_other_bots_messages_are_ignored(slack: Workspace) -> None:
    ts = slack.fake.next_ts()
    await slack.event(payloads.message(ANSWERABLE, ts=ts, user=BOT_USER, bot_id=BOT_ID))
    other = slack.fake.next_ts()
    await slack.event(payloads.message(ANSWERABLE, ts=other, user="UOTHERBOT", bot_id="BOTHER",
                                       subtype="bot_message", username="deploybot"))
    await slack.settle()

    assert not slack.fake.posts()
    assert await slack.case_of(ts) is None
    assert await slack.case_of(other) is None


async def test_mass_mentions_in_a_question_never_ping(slack: Workspace) -> None:
    ts = await slack.say(f"<!channel> <!here|here> @everyone <!subteam^SSUPPORT|@support> {UNANSWERABLE}")
    await slack.say("<!everyone> hello?? @here", thread=ts)  # added to the card and the thread

    posted = [*slack.fake.posts(), *slack.fake.of("chat.update"), *slack.fake.of("chat.postEphemeral")]
    assert len(posted) >= 3
    for call in posted:
        shown = call.everything()
        for live in ("<!channel", "<!here", "<!everyone", "<!subteam", "@channel", "@here", "@everyone"):
            assert live not in shown, (live, call.method, shown)
        assert call.params["parse"] == "none"
    assert "@\u200bchannel" in slack.card().everything()  # still readable, just inert


async def test_an_edit_before_the_answer_updates_the_question(slack: Workspace) -> None:
    ts = await slack.say(UNANSWERABLE)
    card = slack.card()

    await slack.event(payloads.edited(ts, UNANSWERABLE, "does tidepool have a gantt or timeline view?"))
    await slack.settle()

    assert (await slack.case_of(ts)).question == "does tidepool have a gantt or timeline view?"
    (update,) = slack.fake.of("chat.update", channel=STAFF, ts=card.ts)
    assert "The asker edited the question" in update.everything()
    assert "gantt or timeline view" in update.everything()


async def test_a_deleted_question_closes_its_case(slack: Workspace) -> None:
    ts = await slack.say(UNANSWERABLE)
    card = slack.card()

    await slack.event(payloads.deleted(ts, UNANSWERABLE))
    await slack.settle()

    assert (await slack.case_of(ts)).status == "closed"
    (update,) = slack.fake.of("chat.update", channel=STAFF, ts=card.ts)
    assert "Closed: question from Ann" in update.everything()
    assert update.buttons() == {}


async def test_a_deleted_thread_root_with_replies_closes_its_case(slack: Workspace) -> None:
    ts = await slack.say(UNANSWERABLE)
    tombstone = payloads.edited(ts, UNANSWERABLE, "This message was deleted.")
    tombstone["message"]["subtype"] = "tombstone"

    await slack.event(tombstone)
    await slack.settle()

    assert (await slack.case_of(ts)).status == "closed"


async def heard(slack: Workspace, kind: str) -> list[dict[str, Any]]:
    """The events the core stored, as it logged them."""
    rows = await slack.core.db.fetchall("SELECT body FROM log WHERE kind = 'event'")
    return [body for body in (json.loads(r["body"]) for r in rows) if body["type"] == kind]


def test_a_clarifying_question_offers_numbered_choices() -> None:
    address = Address("slack", "default", HELP, f"{HELP}:1.1")
    reply = Reply(event="e", case=f"{HELP}:1.1", space="default", address=address, kind="clarify",
                  text="Did you mean:\n1. A\n2. B", options=("k1", "k2"))

    (choices,) = [b for b in reply_blocks(reply) if b.get("block_id") == "journeybot_options"]

    assert [e["text"]["text"] for e in choices["elements"]] == ["1", "2", "None of these"]
    assert [json.loads(e["value"]) for e in choices["elements"]][-1] == {"thread": f"{HELP}:1.1", "pick": "none"}


async def test_a_numbered_choice_is_the_asker_answering_in_the_thread(slack: Workspace) -> None:
    ts, answer = await answered(slack)

    await slack.click("journeybot_pick_2", json.dumps({"thread": f"{HELP}:{ts}", "pick": "2"}),
                      user="UANN", on=answer)

    assert len(slack.fake.posts(channel=HELP, thread_ts=ts)) == 2  # the bot reacted in the thread
    (pick,) = [m for m in await heard(slack, "message") if m["text"] == "2"]
    assert (pick["user"], pick["thread"], pick["channel"], pick["platform"]) == ("UANN", f"{HELP}:{ts}", HELP, "slack")
