"""A staff card says in words what the case's codes mean, so adapters need no
core constants to draw it (issue 8: one adapter plan)."""

from __future__ import annotations

from bot.actions import Candidate, Card, Learned
from bot.cards import labelled
from bot.events import Address, Tick
from bot.handling import Handling
from tests.chat import Chat


def make_card(**overrides: object) -> Card:
    fields: dict[str, object] = {
        "question": "can I export to gantt?", "asker": "u1", "asker_name": "Uma", "reason": "low_confidence",
        "journey_summary": "", "candidates": (), "case_address": Address("replay", "help", "m1"),
        "owner": "staff", "status": "routed", **overrides}
    return Card(**fields)  # type: ignore[arg-type]


def test_a_routed_card_waiting_in_the_queue() -> None:
    card = labelled(make_card())
    assert card.reason_label == "no entry was close enough to answer with confidence"
    assert (card.owner_label, card.owner_user) == ("nobody yet (staff queue)", None)
    assert (card.status_label, card.headline, card.awaiting_staff) == ("routed", "Needs a person", True)


def test_a_card_a_person_answered_names_them_and_takes_no_more_clicks() -> None:
    card = labelled(make_card(owner="U123", status="answered", reason="human_requested"))
    assert card.reason_label == "the asker asked for a person"
    assert (card.owner_label, card.owner_user) == ("U123", "U123")
    assert (card.headline, card.awaiting_staff) == ("Answered", False)


def test_the_bot_and_the_asker_are_not_people_to_look_up() -> None:
    assert labelled(make_card(owner="bot", status="resolved")).owner_user is None
    assert labelled(make_card(owner="bot", status="resolved")).headline == "Solved"
    assert labelled(make_card(owner="asker", status="open")).owner_label == "the asker"


def test_an_unknown_reason_is_shown_as_it_is() -> None:
    assert labelled(make_card(reason="weather")).reason_label == "weather"


async def test_cards_the_core_emits_carry_their_labels(chat: Chat) -> None:
    said = await chat.ask("does the mobile app support apple pencil handwriting?", id="m1")
    routed = said.route.content
    assert routed is not None
    assert routed.reason_label == "no entry was close enough to answer with confidence"
    assert routed.owner_label == "nobody yet (staff queue)" and routed.awaiting_staff

    said = await chat.staff("Yes: tap the pen icon.", card="card:m1", user="alice")
    (update,) = said.card_updates
    assert update.content is not None
    assert (update.content.owner_user, update.content.headline) == ("alice", "Answered")
    assert not update.content.awaiting_staff


async def card_for(chat: Chat, candidates: tuple[Candidate, ...]) -> Card:
    """The card the core draws for a routed case with these candidates."""
    case = await chat.core.cases.get("default", "m1")
    if case is None:
        assert (await chat.ask("does the mobile app support apple pencil handwriting?", id="m1")).routed
        case = await chat.core.cases.get("default", "m1")
    assert case is not None
    handling = Handling(chat.core.services, Tick(id="t", at=chat.now))
    return await handling.card(case, reason="low_confidence", candidates=candidates)


async def test_a_card_suggests_only_a_candidate_the_policy_finds_plausible_and_shows_its_score(chat: Chat) -> None:
    """Below the policy's own floor for "close enough" (``clarify_floor``) the best
    entry is no answer to suggest: one click would send it and teach it."""
    floor = chat.core.settings.policy.clarify_floor
    for score in (0.28, 0.44, round(floor - 0.01, 2)):
        card = await card_for(chat, (Candidate("api-key-rotate", score, "How do I rotate my API key?"),))
        assert (card.suggested, card.suggested_entry, card.suggested_score) == (None, None, None), score
    card = await card_for(chat, (Candidate("api-key-rotate", round(floor + 0.01, 2), "How do I rotate my API key?"),
                                 Candidate("api-rate-limit", 0.3, "What is the API rate limit?")))
    assert (card.suggested_entry, card.suggested_score) == ("api-key-rotate", round(floor + 0.01, 2))
    assert card.suggested is not None and card.suggested.startswith("Settings → API → Rotate key")


async def test_send_suggested_refuses_a_candidate_that_is_not_plausible(chat: Chat) -> None:
    """A named entry may be sent if the policy would offer it as an option at all
    (``option_floor``), as staff may choose the second candidate; lower, never."""
    said = await chat.ask("can guests comment on boards?", id="m1")
    best = said.route.candidates[0]
    assert best.score < chat.core.settings.policy.option_floor
    assert said.route.content is not None and said.route.content.suggested_entry is None

    said = await chat.command("send_suggested", user="alice", roles=("staff",), about="m1", args=best.entry)

    (refusal,) = said.replies
    assert refusal.private_to == "alice" and f"{best.score:.2f}" in refusal.text
    assert [a for a in said if isinstance(a, Learned)] == []
    case = await chat.core.cases.get("default", "m1")
    assert case is not None and case.status == "routed"


def owner_line(text: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith("Owner: ")]
    return line.removeprefix("Owner: ")


async def test_a_cards_text_and_its_content_name_the_same_owner(chat: Chat) -> None:
    said = await chat.ask("does the mobile app support apple pencil handwriting?", id="m1")
    assert said.route.content is not None
    assert owner_line(said.route.text) == said.route.content.owner_label == "nobody yet (staff queue)"

    await chat.command("claim", user="alice", roles=("staff",), about="m1")
    await chat.staff("Yes: tap the pen icon.", card="card:m1", user="alice")
    again = await chat.say("that didn't work, the pen icon is greyed out", thread="m1")
    content = again.route.content
    assert content is not None and again.route.reason == "reopened"
    assert owner_line(again.route.text) == content.owner_label == "Alice", "her name, not her user id"
    assert content.owner_user == "alice"


async def test_asking_again_in_a_new_thread_is_not_said_to_be_a_failed_answer(chat: Chat) -> None:
    first = await chat.ask("how do I rotate my API key?", id="m1")
    assert first.reply.kind == "answer"
    chat.later(hours=1)
    again = await chat.ask("how do I rotate my API key?", id="m2")
    content = again.route.content
    assert content is not None and again.route.reason == "reopened"
    assert "did not solve" not in content.reason_label and "did not solve" not in again.route.text
    assert "asked the same again in a new thread" in content.reason_label
    assert f"Why it's here: {content.reason_label}" in again.route.text
