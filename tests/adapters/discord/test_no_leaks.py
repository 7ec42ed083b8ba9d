"""Nothing private leaks on Discord: a member's secrets never reach anything
the bot sends (thread titles, answers, cards, card edits, DMs, ephemeral
replies) nor anything logged at INFO or above, and no member's words are
logged at all at INFO."""

from __future__ import annotations

import json
import logging

import pytest

from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.fake import FakeDiscord
from tests.adapters.leaks import MEMBER_WORDS, QUESTION, SECRETS, STAFF_ANSWER, leaked, logged


async def test_secrets_reach_nothing_sent_and_nothing_logged(fake: FakeDiscord, bot: Bot,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # A member asks (secrets and all), follows up, staff answer on the card, the member asks for a
    # recap, a moderator moves the thread to a DM and the member carries on there.
    question = await fake.say(p.HELP_ID, p.ASKER, QUESTION)
    await bot.handled(1)
    (card,) = fake.bot_messages(p.STAFF_ID)
    await fake.say(question["id"], p.ASKER, f"Also, {SECRETS['card']} was charged twice. {MEMBER_WORDS}")
    await bot.handled(2)
    await fake.say(p.STAFF_ID, p.STAFFER, STAFF_ANSWER, type=19, referenced_message=card,
                   message_reference={"message_id": card["id"], "channel_id": p.STAFF_ID, "guild_id": p.GUILD_ID})
    await bot.handled(3)
    await fake.slash("recap", p.ASKER, question["id"])
    await bot.handled(4)
    await fake.slash("private", p.MODERATOR, question["id"])
    await bot.handled(5)
    await fake.dm(p.ASKER, f"my backup email is {SECRETS['email']}, {MEMBER_WORDS}")
    await bot.handled(6)

    sent = [json.dumps(body, ensure_ascii=False) for method, _, body in fake.calls if body is not None]
    assert any("[aws key id]" in s for s in sent), "the flows ran: the redacted question went out"
    assert fake.posts(fake.dm_channel_id(p.ASKER["id"])), "the flows ran: the DM went out"
    assert leaked("\n".join(sent)) == []
    assert leaked(logged(caplog.records)) == []
    assert MEMBER_WORDS not in logged(caplog.records)
