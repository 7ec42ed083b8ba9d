"""``/journeybot private`` and ``recap``, and the "Move to private" shortcut.

Slack does not tell a slash command which thread it was typed in, so a
moderator names the thread with its link, or uses the message shortcut on
any message of the thread.
"""

from __future__ import annotations

from tests.adapters.slack.conftest import ANSWERABLE, UNANSWERABLE, Workspace
from tests.adapters.slack.fake import HELP, STAFF, WORKSPACE_URL


def link(ts: str, channel: str = HELP) -> str:
    return f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"


async def test_a_moderator_moves_a_thread_to_a_dm_and_the_case_continues_there(slack: Workspace) -> None:
    ts = await slack.say(UNANSWERABLE)
    card = slack.card()

    status, _ = await slack.shortcut(user="UMOD", channel=HELP, ts=ts)

    assert status == 200
    (opened,) = slack.fake.of("conversations.open")
    assert opened.params["users"] == "UANN"
    (context,) = slack.fake.posts(channel="DUANN")
    assert "a moderator moved your question here" in context.params["text"]
    assert UNANSWERABLE in context.params["text"]
    assert "thread_ts" not in context.params
    notice = slack.fake.posts(channel=HELP, thread_ts=ts)[-1]
    assert "moved this conversation to a private message" in notice.params["text"]
    assert "Moved to a private conversation" in slack.fake.of("chat.update", ts=card.ts)[-1].everything()

    # The asker writes in the DM: same case, no need to repeat anything.
    await slack.say("I also tried the board view, no luck", channel="DUANN")
    assert "added to your case" in slack.fake.posts(channel="DUANN")[-1].params["text"]
    assert "The asker added" in slack.fake.of("chat.update", ts=card.ts)[-1].everything()
    # Staff answer on the card; the answer goes to the DM, not the public thread.
    public = len(slack.fake.posts(channel=HELP))
    await slack.say("We don't have Gantt charts yet; Timeline is the closest.", user="UALICE",
                    channel=STAFF, thread=card.ts)
    assert "Timeline is the closest" in slack.fake.posts(channel="DUANN")[-1].params["text"]
    assert len(slack.fake.posts(channel=HELP)) == public
    assert (await slack.case_of(ts)).private


async def test_private_takes_a_link_to_the_thread(slack: Workspace) -> None:
    ts = await slack.say(UNANSWERABLE)
    reply = await slack.say("it's for a client project", thread=ts)

    status, body = await slack.command(f"private {link(reply)}?thread_ts={ts}&cid={HELP}", user="UMOD")

    assert (status, body) == (200, "")
    assert slack.fake.of("conversations.open", users="UANN")
    assert "a moderator moved your question here" in slack.fake.posts(channel="DUANN")[0].params["text"]


async def test_private_is_refused_to_anyone_but_a_moderator(slack: Workspace) -> None:
    ts = await slack.say(UNANSWERABLE)
    posts = len(slack.fake.posts())

    await slack.command(f"private {link(ts)}", user="UBOB")

    (refusal,) = slack.fake.of("chat.postEphemeral")
    assert (refusal.params["user"], refusal.params["channel"], refusal.params["thread_ts"]) == ("UBOB", HELP, ts)
    assert "Only moderators" in refusal.params["text"]
    assert not slack.fake.of("conversations.open")
    assert len(slack.fake.posts()) == posts
    assert not (await slack.case_of(ts)).private


async def test_recap_is_shown_only_to_the_caller(slack: Workspace) -> None:
    await slack.say(ANSWERABLE)
    posts = len(slack.fake.posts())

    status, _ = await slack.command("recap", user="UANN")

    assert status == 200
    (recap,) = slack.fake.of("chat.postEphemeral")
    assert recap.params["user"] == "UANN"
    assert recap.params["channel"] == HELP
    assert "Here's what I have on record for you" in recap.params["text"]
    assert "rotate my API key" in recap.params["text"]
    assert len(slack.fake.posts()) == posts


async def test_recap_reaches_the_caller_where_the_bot_is_not_a_member(slack: Workspace) -> None:
    slack.fake.fail("chat.postEphemeral", error="not_in_channel")

    await slack.command("recap", user="UBOB", channel="CELSEWHERE", response_url=slack.fake.response_url("r1"))

    (response,) = await slack.fake.wait_for("response_url")
    assert response.params["response_type"] == "ephemeral"
    assert "Here's what I have on record for you" in response.params["text"]


async def test_the_bare_command_explains_itself_without_bothering_the_core(slack: Workspace) -> None:
    status, body = await slack.command("", user="UANN")

    assert status == 200
    assert "Move to private" in body
    assert "recap" in body
    assert not slack.fake.of("chat.postEphemeral")
    assert not slack.fake.posts()
