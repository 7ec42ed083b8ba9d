"""What staff write that is not knowledge: only-social replies, and replies
sent with the no-teaching prefix."""

from __future__ import annotations

import pytest

from bot.social import read_staff_reply

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
