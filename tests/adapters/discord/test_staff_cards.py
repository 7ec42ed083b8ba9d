"""Routed questions become cards in the staff channel; staff answer on the card."""

from __future__ import annotations

from typing import Any

from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import Bot, ErrorLog
from tests.adapters.discord.fake import FakeDiscord

ROUTED = "does tidepool have a gantt chart view?"  # nothing close: no entry to suggest
PLAUSIBLE = "can I print a notebook?"  # export-notebook comes close enough to suggest, not to answer
STAFF_ANSWER = "Not yet: Gantt charts are on the roadmap for the autumn release; use the timeline view until then."


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["label"], b["custom_id"]) for row in message.get("components", []) for b in row["components"]]


def fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}


async def live_entries(bot: Bot) -> list[Any]:
    return await bot.core.kb.store.entries(space="default")


async def route_one(fake: FakeDiscord, bot: Bot, *, handled: int = 1,
                    text: str = ROUTED) -> tuple[dict[str, Any], dict[str, Any]]:
    """A member asks what the knowledge cannot answer: (their message, the card the bot posted)."""
    question = await fake.say(p.HELP_ID, p.ASKER, text)
    await bot.handled(handled)
    (card,) = fake.bot_messages(p.STAFF_ID)
    return question, card


async def test_a_routed_question_becomes_a_card_with_everything_staff_need(fake: FakeDiscord, bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    (embed,) = card["embeds"]
    assert ROUTED in embed["description"]
    assert embed["title"] == "Question from Alice"
    info = fields(embed)
    assert "no entry was close enough" in info["Why it's here"]
    assert "First question on record" in info["Journey"]
    first = info["Candidates"].splitlines()[0]
    assert first.startswith("`")  # the entry id …
    assert "0." in first  # … and its score
    assert info["Thread"] == f"https://discord.com/channels/{p.GUILD_ID}/{question['id']}"
    assert buttons(card) == [("I'll take it", f"jb:claim:{question['id']}")], "nothing close enough to suggest"
    (handoff,) = fake.posts(question["id"])  # the asker is told who has it, in their thread
    assert "staff" in handoff["content"]
    assert buttons(handoff) == []
    assert card["author"]["id"] == p.BOT_ID


async def test_ill_take_it_names_the_owner_in_the_thread_and_on_the_card(fake: FakeDiscord, bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    click = await fake.click(card, f"jb:claim:{question['id']}", p.STAFFER)
    await bot.handled(2)
    (_, _, ack), = fake.matching("POST", lambda path: path.startswith(f"/interactions/{click['id']}/"))
    assert ack["type"] == 6  # acknowledged at once, without a message
    notice = fake.posts(question["id"])[-1]
    assert "Sam" in notice["content"]
    (_, _, edit), = fake.matching("PATCH", lambda path: path == f"/channels/{p.STAFF_ID}/messages/{card['id']}")
    assert "Sam took this question" in fields(edit["embeds"][0])["Latest"]
    assert edit["allowed_mentions"] == {"parse": []}


async def test_only_staff_can_take_a_question(fake: FakeDiscord, bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    before = len(fake.posts(question["id"]))
    click = await fake.click(card, f"jb:claim:{question['id']}", p.OTHER)
    await bot.handled(2)
    (_, _, refusal), = fake.matching("POST", lambda path: path.startswith(f"/webhooks/{p.APP_ID}/{click['token']}"))
    assert refusal["flags"] == 64  # ephemeral: only the clicker sees it
    assert "Only staff" in refusal["content"]
    assert len(fake.posts(question["id"])) == before
    assert fake.matching("PATCH", lambda path: True) == []


async def test_send_suggested_answer_answers_the_asker(fake: FakeDiscord, bot: Bot) -> None:
    question, card = await route_one(fake, bot, text=PLAUSIBLE)
    label, custom_id = buttons(card)[1]
    assert label.startswith("Send suggested answer (0.") and custom_id.endswith(":export-notebook")
    score = label.removeprefix("Send suggested answer (").rstrip(")")
    assert f"Suggested answer (export-notebook, score {score})" in fields(card["embeds"][0])
    entry = custom_id.split(":")[3]
    await fake.click(card, custom_id, p.STAFFER)
    await bot.handled(2)
    answer = fake.posts(question["id"])[-1]
    assert answer["components"], "a sent answer carries the feedback buttons"
    entry_now = await bot.core.kb.get(entry)
    assert entry_now is not None
    assert answer["content"].startswith(entry_now.answer[:40])
    (_, _, edit), = fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))
    assert "sent the suggested answer" in fields(edit["embeds"][0])["Latest"]
    assert edit["components"] == []  # answered: nothing left to press


async def test_staff_reply_to_the_card_is_relayed_learned_and_the_card_updated(fake: FakeDiscord,
                                                                               bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    before = len(await live_entries(bot))
    await fake.say(p.STAFF_ID, p.STAFFER, STAFF_ANSWER, type=19, referenced_message=card,
                   message_reference={"message_id": card["id"], "channel_id": p.STAFF_ID, "guild_id": p.GUILD_ID})
    await bot.handled(2)
    relay = fake.posts(question["id"])[-1]
    assert STAFF_ANSWER in relay["content"]
    assert len(await live_entries(bot)) == before + 1  # learned, searchable now
    (_, _, edit), = fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))
    assert "Answered by Sam" in fields(edit["embeds"][0])["Latest"]
    assert edit["components"] == []
    # The next member asking is answered from it, citing Sam by his Discord name, not his user id.
    again = await fake.say(p.HELP_ID, p.OTHER, ROUTED)
    await bot.handled(3)
    answer = fake.posts(again["id"])[-1]["content"]
    assert "answered by Sam" in answer and f"by {p.STAFFER['id']}" not in answer


async def test_a_reply_to_the_card_starting_noteach_is_relayed_but_not_learned(fake: FakeDiscord,
                                                                              bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    assert "noteach:" in card["embeds"][0]["footer"]["text"], "the card says how"
    before = len(await live_entries(bot))
    await fake.say(p.STAFF_ID, p.STAFFER, "noteach: I've switched Gantt on for your workspace as a trial.",
                   type=19, referenced_message=card,
                   message_reference={"message_id": card["id"], "channel_id": p.STAFF_ID, "guild_id": p.GUILD_ID})
    await bot.handled(2)
    relay = fake.posts(question["id"])[-1]["content"]
    assert relay.endswith(": I've switched Gantt on for your workspace as a trial.") and "noteach" not in relay
    assert len(await live_entries(bot)) == before
    (_, _, edit), = fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))
    assert "not learned (sent with noteach:)" in fields(edit["embeds"][0])["Latest"]


async def test_staff_reply_in_a_thread_on_the_card_works_the_same(fake: FakeDiscord, bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    before = len(await live_entries(bot))
    # Staff open a thread on the card (it gets the card's id) and answer in it.
    thread = p.thread(card["id"], p.STAFF_ID, "gantt?", owner_id=p.STAFFER["id"])
    fake.threads[card["id"]] = thread
    await fake.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
    await fake.say(card["id"], p.STAFFER, STAFF_ANSWER)
    await bot.handled(2)
    relay = fake.posts(question["id"])[-1]
    assert STAFF_ANSWER in relay["content"]
    assert len(await live_entries(bot)) == before + 1
    assert fake.matching("PATCH", lambda path: path.endswith(f"/messages/{card['id']}"))


async def test_a_reply_to_the_card_from_a_non_staff_member_is_neither_relayed_nor_learned(
        fake: FakeDiscord, bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    before = len(await live_entries(bot))
    posts_before = len(fake.posts(question["id"]))
    await fake.say(p.STAFF_ID, p.OTHER, "lol no idea, try excel", type=19, referenced_message=card,
                   message_reference={"message_id": card["id"], "channel_id": p.STAFF_ID, "guild_id": p.GUILD_ID})
    await bot.handled(2)
    assert len(fake.posts(question["id"])) == posts_before  # nothing relayed to the asker
    assert len(await live_entries(bot)) == before  # nothing learned
    assert fake.matching("PATCH", lambda path: True) == []


async def test_staff_chatter_in_the_staff_channel_is_not_sent_to_the_core(fake: FakeDiscord, bot: Bot,
                                                                           error_log: ErrorLog) -> None:
    question, _ = await route_one(fake, bot)
    await fake.say(p.STAFF_ID, p.STAFFER, "anyone around for the gantt one?")  # not a reply to a card
    other = await fake.say(p.STAFF_ID, p.OTHER, "hi")
    await fake.say(p.STAFF_ID, p.STAFFER, "replying to a person", type=19, referenced_message=other,
                   message_reference={"message_id": other["id"], "channel_id": p.STAFF_ID})
    marker = await fake.say(p.HELP_ID, p.OTHER, "How do I reset my password?")
    events = await bot.handled(2)
    assert [e.id for e in events] == [question["id"], marker["id"]]
    assert fake.posts(fake.dm_channel_id(p.STAFFER["id"])) == []


async def test_talk_to_a_person_routes_the_answered_question(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, "how do I rotate my API key?")
    await bot.handled(1)
    (answer,) = fake.bot_messages(question["id"])
    await fake.click(answer, f"jb:human:{question['id']}", p.ASKER)
    await bot.handled(2)
    (card,) = fake.bot_messages(p.STAFF_ID)
    assert fields(card["embeds"][0])["Why it's here"]
    assert "staff" in fake.posts(question["id"])[-1]["content"]


async def test_a_reply_to_the_bots_reminder_under_a_card_answers_that_card(fake: FakeDiscord, bot: Bot) -> None:
    question, card = await route_one(fake, bot)
    # What the bot posts when it nudges staff: a plain message replying to the card.
    reminder = p.message(p.STAFF_ID, p.BOT, "Reminder: this has been waiting for an hour.",
                         message_reference={"message_id": card["id"], "channel_id": p.STAFF_ID})
    fake.messages[reminder["id"]] = reminder
    await fake.say(p.STAFF_ID, p.STAFFER, STAFF_ANSWER, type=19,
                   message_reference={"message_id": reminder["id"], "channel_id": p.STAFF_ID})
    await bot.handled(2)
    assert STAFF_ANSWER in fake.posts(question["id"])[-1]["content"]
    assert fake.matching("GET", lambda path: path == f"/channels/{p.STAFF_ID}/messages/{reminder['id']}")
