"""What staff write that is not knowledge: only-social replies, and replies
sent with the no-teaching prefix."""

from __future__ import annotations

import pytest

from bot.actions import Learned
from bot.social import read_staff_reply
from tests.chat import Chat

SOCIAL = [
    "Ha, that is one for #off-topic",
    "haha, that's one for <#1100000000000000001>",
    "Thanks!",
    "thank you so much 🙏",
    "You're welcome, glad it helped :)",
    "No worries!",
    "lol 😂",
    "Please ask in #billing.",
    "Wrong channel, try #general",
    "Great question, thanks for asking!",
    "Cheers Ann!",
]

NOT_SOCIAL = [
    "Thanks! Go to Settings → API → Rotate key.",
    "Ha, no: exports are limited to 100 MB per notebook.",
    "Billing questions go to #billing, and refunds take 5 to 10 days: see https://example.org/refunds",
    "Yes: on iPad, tap the pen icon.",
    "No.",
    "Thanks for the report, it is fixed in version 3.2.1: update and restart the app.",
    "Not yet: use the Timeline view (Views → Timeline) until Gantt charts ship.",
    "ok, restart the sync service and clear the cache",
]


@pytest.mark.parametrize("text", SOCIAL)
def test_a_reply_that_is_only_social_is_relayed_but_not_taught(text: str) -> None:
    reply = read_staff_reply(text)
    assert (reply.text, reply.learn, reply.why_not) == (text, False, "social")


@pytest.mark.parametrize("text", NOT_SOCIAL)
def test_anything_with_substance_is_taught(text: str) -> None:
    reply = read_staff_reply(text)
    assert (reply.text, reply.learn, reply.why_not) == (text, True, None)


@pytest.mark.parametrize("typed", ["noteach: I've reset your 2FA; try again.", "NoTeach:I've reset your 2FA; try again.",
                                   "  no teach:  I've reset your 2FA; try again.",
                                   "no-teach: I've reset your 2FA; try again."])
def test_the_prefix_sends_a_reply_without_teaching_it(typed: str) -> None:
    reply = read_staff_reply(typed)
    assert (reply.text, reply.learn, reply.why_not) == ("I've reset your 2FA; try again.", False, "noteach")


def test_the_prefix_alone_is_nothing_to_send() -> None:
    assert read_staff_reply("noteach:").text == ""


# -- on a card and in a member's thread ---------------------------------------------------


async def test_only_social_staff_replies_are_relayed_but_never_learned(chat: Chat) -> None:
    await chat.ask("what's everyone's favourite pizza topping?", id="m1")
    entries = len(await chat.core.kb.store.entries(space="default"))

    said = await chat.staff("Ha, that is one for #off-topic", card="card:m1", user="alice")

    relay = said.to("m1")[0]
    assert relay.kind == "relay" and "one for #off-topic" in relay.text
    assert [a for a in said if isinstance(a, Learned)] == []
    assert len(await chat.core.kb.store.entries(space="default")) == entries
    (update,) = said.card_updates
    assert "not learned" in update.text and "only social" in update.text
    again = await chat.ask("what's everyone's favourite pizza topping?", id="m2", user="u2")
    assert again.routed, "nothing was taught to answer the next one with"


async def test_noteach_relays_a_staff_answer_without_teaching_it(chat: Chat) -> None:
    await chat.ask("I can't log in, my 2FA device is lost", id="m1")
    entries = len(await chat.core.kb.store.entries(space="default"))

    said = await chat.staff("noteach: I've reset your 2FA; log in and set it up again.", card="card:m1")

    relay = said.to("m1")[0]
    assert relay.text.endswith(": I've reset your 2FA; log in and set it up again.")
    assert "noteach" not in relay.text
    assert [a for a in said if isinstance(a, Learned)] == []
    assert len(await chat.core.kb.store.entries(space="default")) == entries
    (update,) = said.card_updates
    assert "not learned" in update.text and "noteach:" in update.text
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "answered" and case.answered_by == "alice"


async def test_staff_thanks_in_a_members_thread_is_no_correction(chat: Chat) -> None:
    answered = await chat.ask("how do I rotate my API key?", id="m1")
    assert answered.reply.kind == "answer"
    before = await chat.core.kb.get("api-key-rotate")

    said = await chat.say("Thanks for asking!", thread="m1", user="alice", roles=("staff",))

    assert [a for a in said if isinstance(a, Learned)] == []
    after = await chat.core.kb.get("api-key-rotate")
    assert before is not None and after is not None and after.version == before.version
    assert after.answer == before.answer


async def test_noteach_with_nothing_after_it_is_said_back_to_the_staff_member_only(chat: Chat) -> None:
    await chat.ask("I can't log in, my 2FA device is lost", id="m1")

    said = await chat.staff("noteach:", card="card:m1", user="alice")

    (notice,) = said.replies
    assert notice.private_to == "alice" and "nothing after noteach:" in notice.text
    assert said.to("m1") == [], "nothing reaches the asker"
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "routed"
