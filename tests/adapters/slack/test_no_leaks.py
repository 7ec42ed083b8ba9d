"""Nothing private leaks on Slack: a member's secrets never reach anything the
bot sends (answers, notification texts, cards, card updates, DMs, ephemeral
replies) nor anything logged at INFO or above, and no member's words are
logged at all at INFO — a request Bolt refuses included."""

from __future__ import annotations

import logging

import pytest

from tests.adapters.leaks import MEMBER_WORDS, QUESTION, SECRETS, STAFF_ANSWER, leaked, logged
from tests.adapters.slack import payloads
from tests.adapters.slack.conftest import Workspace
from tests.adapters.slack.fake import HELP, STAFF


async def test_secrets_reach_nothing_sent_and_nothing_logged(slack: Workspace,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # A member asks (secrets and all), follows up, staff answer in the card's thread, the member
    # asks for a recap, a moderator moves it to a DM and the member carries on there; and
    # someone posts the same words with a bad signature.
    ts = await slack.say(QUESTION)
    card = slack.card()
    await slack.say(f"Also, {SECRETS['card']} was charged twice. {MEMBER_WORDS}", thread=ts)
    await slack.say(STAFF_ANSWER, user="UALICE", channel=STAFF, thread=card.ts)
    await slack.command("recap", user="UANN")
    await slack.shortcut(user="UMOD", channel=HELP, ts=ts)
    await slack.say(f"my backup email is {SECRETS['email']}, {MEMBER_WORDS}", channel="DUANN")
    status, _ = await slack.event(payloads.message(QUESTION, ts=slack.fake.next_ts()), secret="not-the-secret")
    assert status == 401

    sent = "\n".join(str(call.params) for call in slack.fake.calls)
    assert "[aws key id]" in sent and slack.fake.posts(channel="DUANN"), "the flows ran"
    assert leaked(sent) == []
    assert leaked(logged(caplog.records)) == []
    assert MEMBER_WORDS not in logged(caplog.records)
