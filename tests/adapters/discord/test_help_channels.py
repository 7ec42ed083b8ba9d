"""Members ask in a help text channel or a help forum; the bot answers in the thread."""

from __future__ import annotations

from tests.adapters.discord import payloads as p
from tests.adapters.discord.conftest import Bot
from tests.adapters.discord.fake import FakeDiscord

ANSWERED = "how do I rotate my API key?"
ROUTED = "does tidepool have a gantt chart view?"


def buttons(body: dict) -> list[tuple[str, str]]:
    return [(b["label"], b["custom_id"]) for row in body.get("components", []) for b in row["components"]]


async def test_identify_asks_for_exactly_the_intents_it_needs(fake: FakeDiscord, bot: Bot) -> None:
    assert fake.identify is not None
    intents = fake.identify["intents"]
    # guilds (0), guild messages (9), direct messages (12), message content (15): nothing else
    assert intents == (1 << 0) | (1 << 9) | (1 << 12) | (1 << 15)


async def test_question_in_help_channel_gets_a_thread_and_an_answer_with_sources_and_buttons(
        fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await bot.handled(1)
    (_, path, body), = fake.matching("POST", lambda path: path.endswith("/threads"))
    assert path == f"/channels/{p.HELP_ID}/messages/{question['id']}/threads"
    assert body["name"] == ANSWERED
    (answer,) = fake.posts(question["id"])  # the thread has the question's id
    assert "Rotate key" in answer["content"]
    assert answer["embeds"][0]["title"] == "Sources"
    assert "https://docs.tidepool.example/api/keys#rotate" in answer["embeds"][0]["description"]
    assert buttons(answer) == [("Solved", f"jb:solved:{question['id']}"),
                               ("Not solved", f"jb:not_solved:{question['id']}"),
                               ("Talk to a person", f"jb:human:{question['id']}")]
    assert answer["allowed_mentions"] == {"parse": []}


async def test_a_thread_title_never_shows_a_secret_from_the_question(fake: FakeDiscord, bot: Bot) -> None:
    """A title stays after the message is deleted, and anyone who sees the channel sees it."""
    question = await fake.say(p.HELP_ID, p.ASKER, "AKIAIOSFODNN7EXAMPLE stopped working, write to ann@example.org")
    await bot.handled(1)
    (_, _, body), = fake.matching("POST", lambda path: path.endswith(f"/messages/{question['id']}/threads"))
    assert body["name"] == "[aws key id] stopped working, write to [email]"


async def test_follow_up_in_the_thread_continues_the_case(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, ANSWERED)
    await bot.handled(1)
    await fake.say(question["id"], p.ASKER, "thanks, that worked!")
    await bot.handled(2)
    thread_posts = fake.posts(question["id"])
    assert len(thread_posts) == 2  # the answer, then the "glad it's solved" notice, in the same thread
    assert len(fake.matching("POST", lambda path: path.endswith("/threads"))) == 1
    case = await bot.core.cases.get("default", question["id"])
    assert case is not None
    assert case.status == "resolved"


async def test_forum_post_is_answered_in_its_own_thread(fake: FakeDiscord, bot: Bot) -> None:
    post = await fake.forum_post(p.ASKER, "API keys", ANSWERED)
    await bot.handled(1)
    assert fake.matching("POST", lambda path: path.endswith("/threads")) == []  # the post is the thread
    (answer,) = fake.posts(post["id"])
    assert "Rotate key" in answer["content"]
    assert buttons(answer)[0] == ("Solved", f"jb:solved:{post['id']}")


async def test_messages_elsewhere_are_not_questions(fake: FakeDiscord, bot: Bot) -> None:
    await fake.say(p.GENERAL_ID, p.ASKER, ANSWERED)  # not a help channel, no mention
    await fake.say(p.HELP_ID, p.OTHER_BOT, ANSWERED)  # another bot
    await fake.say(p.HELP_ID, p.BOT, ANSWERED)  # ourselves
    marker = await fake.say(p.HELP_ID, p.OTHER, "How do I reset my password?")
    events = await bot.handled(1)
    assert [e.id for e in events] == [marker["id"]]
    assert {path.split("/")[2] for m, path, _ in fake.calls if m == "POST" and path.startswith("/channels/")} \
        <= {p.HELP_ID, marker["id"]}


async def test_a_mention_outside_help_channels_is_a_question(fake: FakeDiscord, bot: Bot) -> None:
    msg = await fake.say(p.GENERAL_ID, p.ASKER, f"<@{p.BOT_ID}> {ANSWERED}",
                         mentions=[p.BOT])
    await bot.handled(1)
    (_, _, body), = await fake.wait_for("POST", f"/channels/{p.GENERAL_ID}/messages/{msg['id']}/threads")
    assert body["name"] == ANSWERED  # the mention itself is not part of the question
    assert "Rotate key" in fake.posts(msg["id"])[0]["content"]


async def test_everyone_in_a_question_never_pings(fake: FakeDiscord, bot: Bot) -> None:
    question = await fake.say(p.HELP_ID, p.ASKER, f"@everyone @here <@&{p.STAFF_ROLE}> {ANSWERED}",
                              mention_everyone=True, mention_roles=[p.STAFF_ROLE])
    await bot.handled(1)
    posted = fake.posts(question["id"])
    assert posted
    assert all(body["allowed_mentions"] == {"parse": []} for body in posted)


async def test_a_direct_message_is_answered_in_the_dm(fake: FakeDiscord, bot: Bot) -> None:
    await fake.dm(p.ASKER, ANSWERED)
    await bot.handled(1)
    (answer,) = fake.posts(fake.dm_channel_id(p.ASKER["id"]))
    assert "Rotate key" in answer["content"]
