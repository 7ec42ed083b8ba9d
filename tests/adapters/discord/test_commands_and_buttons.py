"""Feedback buttons, /private and /recap: deferred at once, answered from the core."""

from __future__ import annotations

from typing import Any

import discord

from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.fake import FakeDiscord

ANSWERED = "how do I rotate my API key?"
ROUTED = "does tidepool have a gantt chart view?"
EPHEMERAL = 64


def callback(fake: FakeDiscord, interaction: dict[str, Any]) -> dict[str, Any]:
    (_, _, body), = fake.matching(
        "POST", lambda path: path == f"/interactions/{interaction['id']}/{interaction['token']}/callback")
    return body


def followups(fake: FakeDiscord, interaction: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for _, _, b in fake.matching("POST", lambda path: path == f"/webhooks/{p.APP_ID}/{interaction['token']}")]


async def ask(fake: FakeDiscord, bot: Bot, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    question = await fake.say(p.HELP_ID, p.ASKER, text)
    await bot.handled(len(bot.delivered) + 1)
    return question, fake.bot_messages(question["id"])[0]


async def test_commands_are_synced_to_the_configured_guild(fake: FakeDiscord, bot: Bot) -> None:
    (_, _, body), = fake.matching("PUT", lambda path: path == f"/applications/{p.APP_ID}/guilds/{p.GUILD_ID}/commands")
    assert sorted(c["name"] for c in body) == ["private", "recap"]
    assert fake.matching("PUT", lambda path: path == f"/applications/{p.APP_ID}/commands") == []


async def test_only_moderators_see_private_and_everyone_sees_recap(fake: FakeDiscord, bot: Bot) -> None:
    (_, _, body), = fake.matching("PUT", lambda path: path.endswith("/commands"))
    shown = {c["name"]: c.get("default_member_permissions") for c in body}
    # Discord shows /private only to members who can manage threads (and admins); a server can
    # grant it to its moderator role under Server Settings → Integrations.
    assert int(shown["private"]) == discord.Permissions(manage_threads=True).value  # a number or its string
    assert shown["recap"] is None


async def test_solved_closes_the_case(fake: FakeDiscord, bot: Bot) -> None:
    question, answer = await ask(fake, bot, ANSWERED)
    click = await fake.click(answer, f"jb:solved:{question['id']}", p.ASKER)
    await bot.handled(2)
    assert callback(fake, click)["type"] == 6  # deferred update: no "thinking…" for a button
    assert len(fake.posts(question["id"])) == 2  # the answer, then the core's "glad it's solved"
    case = await bot.core.cases.get("default", question["id"])
    assert case is not None
    assert case.status == "resolved"


async def test_not_solved_hands_the_question_to_staff(fake: FakeDiscord, bot: Bot) -> None:
    question, answer = await ask(fake, bot, ANSWERED)
    await fake.click(answer, f"jb:not_solved:{question['id']}", p.ASKER)
    await bot.handled(2)
    (card,) = fake.bot_messages(p.STAFF_ID)
    assert ANSWERED in card["embeds"][0]["description"]
    assert "staff" in fake.posts(question["id"])[-1]["content"]


async def test_someone_elses_click_gets_an_ephemeral_refusal(fake: FakeDiscord, bot: Bot) -> None:
    question, answer = await ask(fake, bot, ANSWERED)
    click = await fake.click(answer, f"jb:solved:{question['id']}", p.OTHER)
    await bot.handled(2)
    (refusal,) = followups(fake, click)
    assert refusal["flags"] == EPHEMERAL
    assert "Only the person who asked" in refusal["content"]
    assert refusal["allowed_mentions"] == {"parse": []}
    assert len(fake.posts(question["id"])) == 1  # nothing public
    case = await bot.core.cases.get("default", question["id"])
    assert case is not None
    assert case.status == "answered"


async def test_private_by_a_moderator_moves_the_case_to_a_dm(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, ROUTED)
    await bot.handled(1)
    (card,) = fake.bot_messages(p.STAFF_ID)
    command = await fake.slash("private", p.MODERATOR, question["id"])  # run in the case's thread
    await bot.handled(2)
    ack = callback(fake, command)
    assert ack["type"] == 5  # deferred, "thinking…", only the moderator sees it
    assert ack["data"]["flags"] == EPHEMERAL
    (_, _, opened), = fake.matching("POST", lambda path: path == "/users/@me/channels")
    assert opened == {"recipient_id": int(p.ASKER["id"])}
    dm = fake.dm_channel_id(p.ASKER["id"])
    (context,) = fake.posts(dm)
    assert ROUTED in context["content"]  # the case's context moved with it
    assert "moved this conversation to a private message" in fake.posts(question["id"])[-1]["content"]
    (_, removed, _), = await fake.wait_for("DELETE", "/webhooks/")  # "thinking…" removed: nothing private to say
    assert removed == f"/webhooks/{p.APP_ID}/{command['token']}/messages/@original"
    # The asker carries on in the DM: same case, and staff see it on the card.
    await fake.dm(p.ASKER, "it's for a client project due next week")
    await bot.handled(3)
    assert len(fake.posts(dm)) == 2
    edits = [b for _, _, b in fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))]
    assert "due next week" in edits[-1]["embeds"][0]["fields"][-1]["value"]
    assert await bot.core.cases.by_ref("default", dm) == (question["id"], "dm")


async def test_manage_threads_counts_as_moderator(fake: FakeDiscord, bot: Bot) -> None:
    question, _ = await ask(fake, bot, ANSWERED)
    await fake.slash("private", p.KEEPER, question["id"])
    await bot.handled(2)
    assert fake.posts(fake.dm_channel_id(p.ASKER["id"]))


async def test_private_is_refused_ephemerally_for_members(fake: FakeDiscord, bot: Bot) -> None:
    question, _ = await ask(fake, bot, ANSWERED)
    command = await fake.slash("private", p.OTHER, question["id"])
    await bot.handled(2)
    (refusal,) = followups(fake, command)
    assert refusal["flags"] == EPHEMERAL
    assert "Only moderators" in refusal["content"]
    assert fake.matching("POST", lambda path: path == "/users/@me/channels") == []
    assert len(fake.posts(question["id"])) == 1


async def test_recap_is_ephemeral(fake: FakeDiscord, bot: Bot) -> None:
    await ask(fake, bot, ROUTED)
    command = await fake.slash("recap", p.ASKER, p.HELP_ID)
    await bot.handled(2)
    assert callback(fake, command)["data"]["flags"] == EPHEMERAL
    (recap,) = followups(fake, command)
    assert recap["flags"] == EPHEMERAL
    assert "gantt chart" in recap["content"]
    assert fake.matching("DELETE", lambda path: True) == []  # the recap replaced "thinking…"


async def test_a_private_reply_whose_interaction_expired_goes_by_dm(fake: FakeDiscord, bot: Bot) -> None:
    await ask(fake, bot, ANSWERED)
    fake.fail_next[("POST", "/webhooks/")] = (404, {"message": "Unknown Webhook", "code": 10015})
    command = await fake.slash("recap", p.OTHER, p.HELP_ID)
    await bot.handled(2)
    assert fake.matching("POST", lambda path: path == f"/webhooks/{p.APP_ID}/{command['token']}")  # tried
    (recap,) = fake.posts(fake.dm_channel_id(p.OTHER["id"]))
    assert "Here's what I have on record" in recap["content"]
