"""The core loop as conversations: ask, answer or hand over, staff answer,
the bot relays and learns, the next person is answered at once."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from bot.events import Message
from tests.chat import Chat


def states_owner_and_next_step(text: str) -> bool:
    return "Who has it now:" in text and "Next step:" in text


async def test_a_known_question_is_answered_with_its_source(chat: Chat) -> None:
    said = await chat.ask("how do I rotate my API key?", id="m1")

    reply = said.reply
    assert reply.kind == "answer"
    assert reply.sources == ("api-key-rotate",)
    assert "Settings → API → Rotate key" in reply.text
    assert "https://docs.tidepool.example/api/keys#rotate" in reply.text
    assert reply.confidence >= 0.8
    assert reply.buttons == ("solved", "not_solved", "human")
    assert reply.address.thread == "m1"
    assert not said.routed


async def test_an_unknown_question_is_handed_over_with_owner_and_next_step(chat: Chat) -> None:
    said = await chat.ask("does the mobile app support apple pencil handwriting?", id="m1",
                          user_name="Uma")

    route = said.route
    assert route.reason == "low_confidence"
    assert route.card == "card:m1"
    assert "apple pencil" in route.text
    assert route.content is not None and route.content.journey_summary
    handoff = said.reply
    assert handoff.kind == "handoff"
    assert states_owner_and_next_step(handoff.text)
    assert handoff.owner == "staff" and handoff.next_step


async def test_staff_answer_is_relayed_learned_and_answers_the_next_person(chat: Chat) -> None:
    await chat.ask("does the mobile app support apple pencil handwriting?", id="m1")
    answer = "Yes: on iPad, tap the pen icon in any page to write with Apple Pencil."

    said = await chat.staff(answer, card="card:m1", user="alice")

    relay = said.to("m1")[0]
    assert relay.kind == "relay" and relay.by == "alice"
    assert answer in relay.text
    learned = said.learned
    assert learned.answer == answer and learned.from_user == "alice" and learned.supersedes is None
    assert said.kinds()[:2] == ["relay", "Learned"]

    next_one = await chat.ask("can I handwrite with an apple pencil in the mobile app?", user="u2")
    assert next_one.reply.kind == "answer"
    assert next_one.reply.sources == (learned.entry,)


async def test_a_learned_answer_cites_who_taught_it_by_name_not_by_user_id(chat: Chat) -> None:
    await chat.ask("does the mobile app support apple pencil handwriting?", id="m1")
    await chat.send(Message(id="s1", at=chat.now, user="U0STAFF01", user_name="Priya", roles=("staff",),
                            channel="staff", thread="card:m1",
                            text="Yes: on iPad, tap the pen icon in any page to write with Apple Pencil."))

    next_one = await chat.ask("can I handwrite with an apple pencil in the mobile app?", user="u2", id="m2")
    assert next_one.reply.kind == "answer"
    assert "answered by Priya" in next_one.reply.text and "U0STAFF01" not in next_one.reply.text

    # A correction in the thread is cited by the name of whoever corrected it.
    await chat.send(Message(id="s2", at=chat.now, user="1576824052360806421", user_name="Sam", roles=("staff",),
                            channel="help", thread=next_one.reply.case,
                            text="On Android too: tap the pen icon, then draw with a stylus or your finger."))
    third = await chat.ask("can I handwrite with an apple pencil in the mobile app?", user="u3", id="m3")
    assert "answered by Sam" in third.reply.text and "1576824052360806421" not in third.reply.text


async def test_the_same_answer_twice_makes_no_duplicate_entry(chat: Chat) -> None:
    await chat.ask("my api token got leaked what now", id="m1")
    first = await chat.staff("Settings → API → Rotate key. The old key keeps working for 24 hours "
                             "so you can switch over without downtime.", card="card:m1")
    assert first.learned.entry == "api-key-rotate"
    entries = await chat.core.kb.store.entries()
    assert len([e for e in entries if "Rotate key" in e.answer]) == 1


async def test_one_staff_answer_also_answers_other_waiting_cases(chat: Chat) -> None:
    await chat.ask("is there a dark theme in the app?", id="m1", user="u1")
    await chat.ask("how can I switch the app to a dark theme", id="m2", user="u2")

    said = await chat.staff("Yes: Settings → Appearance → Theme → Dark.", card="card:m1")

    other = said.to("m2")
    assert [r.kind for r in other] == ["answer"]
    assert other[0].sources == (said.learned.entry,)
    assert any(u.card == "card:m2" and "Answered automatically" in u.text for u in said.card_updates)


async def test_thanks_resolves_and_not_solved_reopens_and_routes(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1")
    thanks = await chat.say("thanks, that worked!", thread="m1")
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "resolved" and case.resolution == "confirmed"
    assert thanks.reply.kind == "notice"

    await chat.ask("how do I enable 2FA?", id="m2", user="u2")
    said = await chat.press("m2", "not_solved", user="u2")
    assert said.route.reason == "reopened"
    assert states_owner_and_next_step(said.reply.text)
    case = await chat.core.cases.get("default", "m2")
    assert case is not None and case.status == "routed"


async def test_asking_for_a_person_routes_at_once(chat: Chat) -> None:
    said = await chat.ask("can I talk to a human please", id="m1")
    assert said.route.reason == "human_requested"
    assert said.reply.kind == "handoff"

    await chat.ask("how do I rotate my API key?", id="m2", user="u2")
    pressed = await chat.press("m2", "human", user="u2")
    assert pressed.route.reason == "human_requested"


async def test_only_the_asker_can_mark_their_question(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1")
    said = await chat.press("m1", "solved", user="someone-else")
    assert said.replies[0].private_to == "someone-else"
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "answered"


async def test_a_returning_person_is_not_started_from_zero(chat: Chat) -> None:
    await chat.ask("I'm on Windows 11 and the tidepool widget shows a blank square. I already "
                   "reinstalled the app.", id="m1", user="u7")
    await chat.press("m1", "human", user="u7")  # whatever the bot did, it is now with staff
    chat.later(hours=20)
    said = await chat.ask("the tidepool widget is still a blank square on my windows 11 pc", id="m2",
                          user="u7")

    assert not said.routed, "no second card for the same issue"
    reply = said.reply
    assert "asked on" in reply.text and states_owner_and_next_step(reply.text)
    update = said.card_updates[0]
    assert update.card == "card:m1" and "asked again" in update.text
    case = await chat.core.cases.get("default", "m2")
    assert case is not None and case.linked_to == "m1"

    answered = await chat.staff("Turn off 'Hardware acceleration' in Settings → Advanced.", card="card:m1")
    assert {r.case for r in answered.replies if r.kind == "relay"} == {"m1", "m2"}


async def test_staff_cards_carry_the_journey(chat: Chat) -> None:
    await chat.ask("Sync fails with error E42 on my laptop. I already tried signing out and in.",
                   id="m1", user="u3")
    await chat.staff("E42 means the local cache is full: clear it under Settings → Storage.", card="card:m1")
    chat.later(days=5)
    said = await chat.ask("can I pay with an invoice instead of a credit card for the wholesale tier?",
                          id="m2", user="u3")
    summary = said.route.content.journey_summary  # type: ignore[union-attr]
    assert "Sync fails with error E42" in summary
    assert "signing out and in" in summary


def clarifying_always() -> Callable[..., Any]:
    """Make the policy clarify whatever it finds, to test the conversation itself."""
    from bot.flows import deciding
    from bot.policy import Decision

    real = deciding.decide

    def clarify_always(options, signals, t, answer_at=None):  # type: ignore[no-untyped-def]
        if signals.clarifications:
            return real(options, signals, t, answer_at)
        return Decision("clarify", options=tuple(o.entry for o in options[:2]), confidence=options[0].score)

    return clarify_always


async def test_clarify_offers_close_entries_and_a_pick_answers(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.flows.deciding.decide", clarifying_always())
    said = await chat.ask("webhooks", id="m1")
    reply = said.reply
    assert reply.kind == "clarify" and len(reply.options) == 2
    assert "1." in reply.text and "2." in reply.text and states_owner_and_next_step(reply.text)

    picked = await chat.say("2", thread="m1")
    assert picked.reply.kind == "answer" and picked.reply.sources == (reply.options[1],)
    # the asker corrected the bot's ranking: their words are another way to ask what they picked
    meant, other = [await chat.core.kb.get(e) for e in (reply.options[1], reply.options[0])]
    assert meant is not None and "webhooks" in meant.questions
    assert other is not None and "webhooks" not in other.questions

    offered = (await chat.ask("webhooks again", id="m2", user="u2")).reply.options
    refused = await chat.say("none", thread="m2", user="u2")
    assert refused.route.reason == "low_confidence"
    for entry_id in offered:
        entry = await chat.core.kb.get(entry_id)
        assert entry is not None and "webhooks again" not in entry.questions


async def test_a_pick_teaches_only_a_public_correction_of_the_ranking(
        chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.flows.deciding.decide", clarifying_always())

    async def taught(question: str) -> bool:
        return any(question in e.questions for e in await chat.core.kb.store.entries(space="default"))

    await chat.ask("webhook delivery logs", id="m1")
    await chat.say("1", thread="m1")  # the bot's first option: nothing to correct
    assert not await taught("webhook delivery logs")
    await chat.ask("webhook retries", id="m2", user="u3", channel="dm:u3")
    await chat.say("2", thread="m2", user="u3", channel="dm:u3")  # a private thread teaches nothing public
    assert not await taught("webhook retries")
    core = chat.core
    core.services = replace(core.services, policy=core.services.policy.model_copy(update={"pick_teaches": False}))
    await chat.ask("webhook signing secret", id="m3", user="u4")
    await chat.say("2", thread="m3", user="u4")
    assert not await taught("webhook signing secret")


async def test_a_stale_entry_is_not_served_and_staff_refresh_it(chat: Chat) -> None:
    said = await chat.ask("which languages can code cells run?", id="m1")
    assert said.route.reason == "stale"
    assert said.route.candidates[0].entry == "embed-code"

    fixed = await chat.staff("Code cells run Python 3.13 and JavaScript; press Shift+Enter to run.",
                             card="card:m1")
    learned = fixed.learned
    assert learned.entry == "embed-code" and learned.version == 2 and learned.supersedes == "embed-code"
    again = await chat.ask("what languages do code cells run", user="u2")
    assert again.reply.kind == "answer" and "Python 3.13" in again.reply.text


async def test_a_staff_correction_in_the_thread_makes_a_new_version(chat: Chat) -> None:
    await chat.ask("how do I rotate my API key?", id="m1")
    said = await chat.say("Correction: it's Settings → Developer → Rotate key now; the old key works "
                          "for 24 hours.", thread="m1", user="bob", roles=("staff",))
    learned = said.learned
    assert learned.entry == "api-key-rotate" and learned.version == 2
    entry = await chat.core.kb.get("api-key-rotate")
    assert entry is not None and "Developer" in entry.answer
    history = await chat.core.kb.store.history("api-key-rotate")
    assert [h["version"] for h in history] == [1, 2], "the old version is kept"


async def test_a_non_staff_reply_on_a_card_is_not_relayed_or_learned(chat: Chat) -> None:
    await chat.ask("does tidepool have a gantt chart view?", id="m1")
    said = await chat.staff("lol no", card="card:m1", user="mallory", roles=())
    assert list(said) == []
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "routed"


async def test_a_staff_reply_to_an_unknown_card_gets_a_clear_message(chat: Chat) -> None:
    said = await chat.staff("here you go", card="card:nope")
    assert "can't find" in said.replies[0].text and said.replies[0].private_to == "alice"


async def test_taking_a_card_names_the_owner_to_the_asker(chat: Chat) -> None:
    await chat.ask("does tidepool have a gantt chart view?", id="m1")
    said = await chat.command("claim", user="alice", roles=("staff",), about="card:m1")
    assert "Alice" in said.reply.text or "alice" in said.reply.text
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.owner == "alice"
    refused = await chat.command("claim", user="u9", about="card:m1")
    assert refused.replies[0].private_to == "u9"


async def test_send_suggested_answer_sends_and_learns_the_form(chat: Chat) -> None:
    await chat.ask("my teammate needs access to the workspace, what should I do", id="m1")
    case = await chat.core.cases.get("default", "m1")
    assert case is not None
    if case.status != "routed":
        return  # answered directly: nothing to suggest (covered elsewhere)
    said = await chat.command("send_suggested", user="alice", roles=("staff",), about="card:m1",
                              args="invite-members")
    assert said.reply.kind == "relay" and said.reply.sources == ("invite-members",)
    assert said.learned.entry == "invite-members"


async def test_edits_update_the_question_and_deletes_close_the_case(chat: Chat) -> None:
    await chat.ask("does tidepool have a gantt chart view?", id="m1")
    edited = await chat.edit("m1", "does tidepool have a kanban board view?")
    assert edited.card_updates and "kanban" in edited.card_updates[0].text
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and "kanban" in case.question

    await chat.delete("m1")
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "closed"
    late = await chat.staff("yes, under Views", card="card:m1")
    assert all(r.private_to == "alice" for r in late.replies)


async def test_moderators_move_a_thread_to_a_dm_and_it_continues_there(chat: Chat) -> None:
    await chat.ask("someone charged my card twice this month", id="m1", user="u5", user_name="Una")
    refused = await chat.command("private", user="u6", thread="m1")
    assert refused.replies[0].private_to == "u6"

    moved = await chat.command("private", user="mod1", roles=("moderator",), thread="m1")
    private = moved.private
    assert private.user == "u5" and "charged my card twice" in private.text
    assert "Who has it now" in private.text
    notice = moved.reply
    assert notice.address.thread == "m1" and "private" in notice.text

    follow = await chat.say("it was on March 1st", thread=None, channel=private.channel, user="u5")  # type: ignore[arg-type]
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.private
    assert "it was on March 1st" in [t.text for t in case.turns if t.who == "asker"]
    assert all(r.address.channel == private.channel for r in follow.replies)


async def test_recap_is_shown_only_to_the_caller(chat: Chat) -> None:
    await chat.ask("I'm on macOS 14. how do I export a notebook?", id="m1", user="u4")
    said = await chat.command("recap", user="u4")
    reply = said.replies[0]
    assert reply.private_to == "u4"
    assert "export a notebook" in reply.text and "macOS 14" in reply.text


async def test_recap_speaks_to_the_member_not_about_them(chat: Chat) -> None:
    await chat.ask("I'm on macOS 14. how do I export a notebook?", id="m1", user="u4")
    await chat.ask("I tried reinstalling. does the mobile app support apple pencil handwriting?", id="m2",
                   user="u4")
    text = (await chat.command("recap", user="u4")).replies[0].text

    assert "Your setup: I'm on macOS 14." in text
    assert "What you tried: I tried reinstalling." in text
    assert re.search(r"What we told you: the answer to “[^”]*export a notebook", text), text
    assert "apple pencil" in text and "waiting for the staff team" in text
    assert not re.search(r"\b(they|them|their|the asker)\b", text, re.IGNORECASE), text
    assert "low_confidence" not in text and "First contact" not in text, "staff codes and staff words"


async def test_one_space_never_answers_from_another(chat: Chat) -> None:
    said = await chat.ask("how do I rotate my API key?", space="other-guild")
    assert said.route.reason == "low_confidence"
    await chat.staff("Ask your admin.", card=said.route.card, space="other-guild")
    home = await chat.ask("how do I rotate my API key?", user="u2")
    assert home.reply.sources == ("api-key-rotate",)


async def test_staff_cannot_send_another_spaces_entry(chat: Chat) -> None:
    await chat.ask("does tidepool have a gantt chart view?", id="m1", space="other-guild")
    said = await chat.send_command_in("other-guild", "send_suggested", user="alice", roles=("staff",),
                                      about="card:m1", args="api-key-rotate")
    assert [r.kind for r in said.replies] == ["notice"] and said.replies[0].private_to == "alice"
    case = await chat.core.cases.get("other-guild", "m1")
    assert case is not None and case.status == "routed"


async def test_the_bot_never_promises_what_no_policy_entry_says(chat: Chat) -> None:
    from datetime import timedelta

    from knowledge.entries import Draft

    await chat.core.kb.create(
        Draft(("When will the Android app get offline mode?",),
              "We will ship offline mode for Android by March 31, and you'll get a free month for waiting."),
        author="op", origin="import", at=chat.now - timedelta(days=1))
    said = await chat.ask("when will the android app get offline mode?", id="m1")
    assert said.route.reason == "promise"
    assert "free month" not in " ".join(r.text for r in said.replies)
    blocked = [r async for r in chat.core.log.records(kinds=("promise_blocked",))]
    assert blocked and set(blocked[0].body["kinds"]) >= {"date", "compensation"}

    sent = await chat.command("send_suggested", user="alice", roles=("staff",), about="card:m1")
    assert sent.reply.kind == "relay" and "free month" in sent.reply.text, "staff may say it"

    # Staff said it word for word in public: the bot may repeat it, and only it.
    again = await chat.ask("is offline mode coming to the android app?", id="m2", user="u2")
    assert again.reply.kind == "answer" and "free month" in again.reply.text


async def test_an_entrys_promise_staff_did_not_repeat_stays_held_back(chat: Chat) -> None:
    from datetime import timedelta

    from knowledge.entries import Draft

    held = await chat.core.kb.create(
        Draft(("When will the Android app get offline mode?",),
              "We will ship offline mode for Android by March 31, and you'll get a free month for waiting."),
        author="op", origin="import", at=chat.now - timedelta(days=1))
    await chat.ask("when will the android app get offline mode?", id="m1")
    await chat.staff("Offline mode for Android is planned; we'll post in #announcements when it ships.",
                     card="card:m1")
    entry = await chat.core.kb.get(held.id)
    assert entry is not None and not entry.vouched
    again = await chat.ask("is offline mode coming to the android app?", id="m2", user="u2")
    assert "free month" not in " ".join(r.text for r in again.replies)


async def test_a_card_shows_the_answer_send_suggested_would_send(chat: Chat) -> None:
    said = await chat.ask("which languages can code cells run?", id="m1")  # routed: the entry is stale
    card = said.route.content
    assert card is not None and card.candidates[0].entry == "embed-code"
    assert card.suggested is not None and "Python 3.12" in card.suggested
    assert (card.suggested_entry, card.suggested_score) == ("embed-code", card.candidates[0].score)
    nothing = await chat.ask("does tidepool have a gantt chart view?", id="m2", user="u2")
    close = nothing.route.content
    assert close is not None and close.candidates, "candidates are listed, with their scores …"
    assert close.suggested is None and close.suggested_entry is None, "… but none is close enough to send"


async def test_a_linked_case_is_answered_like_its_first_when_staff_answer(chat: Chat) -> None:
    await chat.ask("does the mobile app support apple pencil handwriting?", id="m1", user="u7")
    chat.later(hours=2)
    again = await chat.ask("does the mobile app support apple pencil handwriting?", id="m2", user="u7")
    assert "original thread" in again.reply.text and not again.routed
    answer = "Yes: on iPad, tap the pen icon in any page to write with Apple Pencil."

    said = await chat.staff(answer, card="card:m1", user="alice")

    assert [r.kind for r in said.to("m2")] == ["relay"]
    first = await chat.core.cases.get("default", "m1")
    linked = await chat.core.cases.get("default", "m2")
    assert first is not None and linked is not None and linked.linked_to == "m1"
    assert linked.status == "answered" and linked.answered_by == "alice"
    assert linked.next_step == first.next_step, "the member is told what happens now, not to wait"
    assert [t.text for t in linked.turns if t.who == "staff"] == [answer]
    journey = await chat.core.journeys.get("default", "u7")
    assert {t.case for t in journey.told} == {"m1", "m2"}


async def test_a_private_answer_to_a_stale_entrys_card_waits_for_approval_before_anyone_sees_it(chat: Chat) -> None:
    said = await chat.ask("which languages can code cells run?", id="m1")
    assert said.route.reason == "stale"
    await chat.command("private", user="mod1", roles=("moderator",), thread="m1")
    fixed = await chat.staff("For your account: code cells run Python 3.13 (ticket 4411).", card="card:m1")
    assert fixed.learned.entry == "embed-code" and fixed.learned.version == 2
    entry = await chat.core.kb.get("embed-code")
    assert entry is not None and entry.status == "pending"

    again = await chat.ask("what languages do code cells run", user="u2")
    assert again.reply.kind == "handoff" and "4411" not in again.reply.text

    await chat.command("approve", user="alice", roles=("staff",), args="embed-code", channel="staff")
    later = await chat.ask("which languages can code cells run", user="u3")
    assert later.reply.kind == "answer" and "Python 3.13" in later.reply.text


async def test_rejecting_a_private_correction_keeps_the_entry_it_would_have_replaced(chat: Chat) -> None:
    entry = await chat.core.kb.get("embed-code")
    assert entry is not None  # a way of asking it learned since its last version (a pick, a staff answer)
    await chat.core.kb.add_question(entry, "can notebooks execute julia code", author="bob", at=chat.now)
    said = await chat.ask("which languages can code cells run?", id="m1")
    assert said.route.reason == "stale"
    before = await chat.core.kb.get("embed-code")
    assert before is not None and "can notebooks execute julia code" in before.questions
    await chat.command("private", user="mod1", roles=("moderator",), thread="m1")
    await chat.staff("For your account: code cells run Python 3.13 (ticket 4411).", card="card:m1")

    told = await chat.command("reject", user="alice", roles=("staff",), args="embed-code only for that account",
                              channel="staff")
    (reply,) = [r for r in told.replies if r.private_to == "alice"]
    assert "Rejected the change to embed-code: it is back to what version 1 said (now version 3)." in reply.text
    entry = await chat.core.kb.get("embed-code")
    assert entry is not None and entry.status == "live", "the public entry stays; only the private answer goes"
    assert (entry.answer, entry.questions, entry.review_after) == (before.answer, before.questions,
                                                                   before.review_after)
    again = await chat.ask("what languages do code cells run", user="u2")
    assert "4411" not in again.reply.text and again.route.reason == "stale", "still due for review, as before"
