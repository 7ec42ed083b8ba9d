"""A staff card says in words what the case's codes mean, so adapters need no
core constants to draw it (issue 8: one adapter plan)."""

from __future__ import annotations

from bot.actions import Card
from bot.cards import labelled
from bot.events import Address
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
