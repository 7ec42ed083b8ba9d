"""Routed questions become cards in the staff channel; staff take them, send
the suggested answer or reply in the card's thread."""

from __future__ import annotations

import json

from tests.adapters.slack.conftest import ANSWERABLE, UNANSWERABLE, Workspace
from tests.adapters.slack.fake import HELP, STAFF, WORKSPACE_URL

PLAUSIBLE = "can I print a notebook?"  # export-notebook comes close enough to suggest, not to answer


async def route(slack: Workspace, text: str = UNANSWERABLE, user: str = "UANN") -> str:
    ts = await slack.say(text, user=user)
    assert slack.fake.posts(channel=STAFF), "expected the question to be routed"
    return ts


async def test_a_routed_question_gets_a_card_with_the_whole_context(slack: Workspace) -> None:
    ts = await route(slack)

    (handoff,) = slack.fake.posts(channel=HELP, thread_ts=ts)
    assert "Who has it now" in handoff.params["text"]
    card = slack.card()
    shown = card.everything()
    assert "question from Ann" in shown
    assert UNANSWERABLE in shown
    assert "Why it's here" in shown
    assert "no entry was close enough" in shown
    assert "*Journey*" in shown
    assert "First" in shown
    assert "score 0." in shown  # candidates with their scores
    assert f"<{WORKSPACE_URL}archives/{HELP}/p{ts.replace('.', '')}|Open the thread>" in shown
    assert slack.fake.of("chat.getPermalink", channel=HELP, message_ts=ts)
    buttons = card.buttons()
    assert buttons["journeybot_claim"] == f"{HELP}:{ts}"
    assert "journeybot_send_suggested" not in buttons, "nothing close enough to suggest"
    case = await slack.case_of(ts)
    assert case.card_ref == f"{STAFF}:{card.ts}"  # what a reply in the card's thread will carry


async def test_a_cards_plain_text_and_its_blocks_name_the_same_owner(slack: Workspace) -> None:
    await route(slack)
    card = slack.card()
    (owner,) = [line.removeprefix("Owner: ") for line in card.params["text"].splitlines()
                if line.startswith("Owner: ")]
    assert owner == "nobody yet (staff queue)"
    assert f"*Owner*\\n{owner}" in card.everything()  # (the blocks as JSON)


async def test_ill_take_it_names_the_owner_in_the_thread_and_updates_the_card(slack: Workspace) -> None:
    ts = await route(slack)
    card = slack.card()

    await slack.click("journeybot_claim", f"{HELP}:{ts}", user="UALICE", on=card)

    notice = slack.fake.posts(channel=HELP, thread_ts=ts)[-1]
    assert "Alice" in notice.params["text"]
    assert "picked up your question" in notice.params["text"]
    (update,) = slack.fake.of("chat.update", channel=STAFF, ts=card.ts)
    assert "*Owner*\\nAlice" in update.everything()
    assert "Alice took this question." in slack.fake.posts(channel=STAFF, thread_ts=card.ts)[-1].params["text"]


async def test_only_staff_can_take_a_question(slack: Workspace) -> None:
    ts = await route(slack)
    card = slack.card()

    await slack.click("journeybot_claim", f"{HELP}:{ts}", user="UBOB", on=card)

    (refusal,) = slack.fake.of("chat.postEphemeral")
    assert refusal.params["user"] == "UBOB"
    assert refusal.params["channel"] == STAFF
    assert refusal.params["thread_ts"] == card.ts
    assert "Only staff" in refusal.params["text"]
    assert not slack.fake.of("chat.update")
    assert len(slack.fake.posts(channel=HELP, thread_ts=ts)) == 1  # just the hand-off


async def test_send_suggested_answer_answers_the_asker(slack: Workspace) -> None:
    ts = await route(slack, PLAUSIBLE)
    card = slack.card()
    suggestion = json.loads(card.buttons()["journeybot_send_suggested"])
    assert suggestion == {"case": f"{HELP}:{ts}", "entry": "export-notebook"}
    assert "*Suggested answer* (export-notebook, score 0." in card.everything()

    await slack.click("journeybot_send_suggested", json.dumps(suggestion), user="USTAN", on=card)

    answer = slack.fake.posts(channel=HELP, thread_ts=ts)[-1]
    entry = await slack.core.kb.get(suggestion["entry"])
    assert entry is not None
    assert entry.answer.split(".")[0] in answer.params["text"]
    assert "journeybot_solved" in answer.buttons()
    (update,) = slack.fake.of("chat.update", channel=STAFF, ts=card.ts)
    assert f"Stan sent the suggested answer {entry.id}" in update.everything()
    assert "journeybot_claim" not in update.buttons()  # answered: no more card buttons


async def test_a_staff_reply_in_the_card_thread_is_relayed_learned_and_shown_on_the_card(
        slack: Workspace) -> None:
    ts = await route(slack)
    card = slack.card()

    await slack.say("Not yet: use the Timeline view for now (Views → Timeline).", user="UALICE",
                    channel=STAFF, thread=card.ts)

    relay = slack.fake.posts(channel=HELP, thread_ts=ts)[-1]
    assert relay.params["text"].startswith("Alice")
    assert "Timeline view" in relay.params["text"]
    (update,) = slack.fake.of("chat.update", channel=STAFF, ts=card.ts)
    assert "Answered by Alice" in update.everything()
    assert "Answered: question from Ann" in update.everything()
    # Learned: the next person asking the same thing is answered at once, not routed.
    cards = len(slack.fake.posts(channel=STAFF))
    again = await slack.say(UNANSWERABLE, user="UBOB")
    answer = slack.fake.posts(channel=HELP, thread_ts=again)[-1]
    assert "Timeline view" in answer.params["text"]
    assert "answered by Alice" in answer.params["text"], "cited by her Slack name …"
    assert "UALICE" not in answer.params["text"], "… never by her user id"
    assert "journeybot_solved" in answer.buttons()
    assert len(slack.fake.posts(channel=STAFF)) == cards


async def test_a_reply_in_the_card_thread_starting_noteach_is_relayed_but_not_learned(slack: Workspace) -> None:
    ts = await route(slack)
    card = slack.card()
    assert "noteach:" in card.everything(), "the card says how"
    before = len(await slack.core.kb.store.entries(space="default"))

    await slack.say("noteach: I've switched Gantt on for your workspace as a trial.", user="UALICE",
                    channel=STAFF, thread=card.ts)

    relay = slack.fake.posts(channel=HELP, thread_ts=ts)[-1].params["text"]
    assert relay.endswith(": I've switched Gantt on for your workspace as a trial.") and "noteach" not in relay
    assert len(await slack.core.kb.store.entries(space="default")) == before
    (update,) = slack.fake.of("chat.update", channel=STAFF, ts=card.ts)
    assert "not learned (sent with noteach:)" in update.everything()


async def test_a_member_of_the_staff_user_group_counts_as_staff(slack: Workspace) -> None:
    ts = await route(slack)
    card = slack.card()

    await slack.say("Gantt charts are on the roadmap; Timeline covers most of it today.",
                    user="USTAN", channel=STAFF, thread=card.ts)

    assert "Timeline" in slack.fake.posts(channel=HELP, thread_ts=ts)[-1].params["text"]
    assert slack.fake.of("usergroups.users.list", usergroup="SSUPPORT")


async def test_a_reply_in_the_card_thread_from_a_non_staff_user_is_not_relayed_or_learned(
        slack: Workspace) -> None:
    ts = await route(slack)
    card = slack.card()
    before = len(slack.fake.posts(channel=HELP))

    await slack.say("just use excel lol", user="UBOB", channel=STAFF, thread=card.ts)

    assert len(slack.fake.posts(channel=HELP)) == before  # nothing relayed
    assert not slack.fake.of("chat.update")
    assert (await slack.case_of(ts)).status == "routed"
    entries = await slack.core.kb.store.entries(space="default")
    assert not any("excel" in e.answer for e in entries)


async def test_staff_lookups_are_cached(slack: Workspace) -> None:
    await slack.say(ANSWERABLE, user="UANN")
    await slack.say("how do I reset my password?", user="UBOB")

    assert len(slack.fake.of("usergroups.list")) == 1
    assert len(slack.fake.of("usergroups.users.list", usergroup="SSUPPORT")) == 1
    assert len(slack.fake.of("conversations.list")) == 1
