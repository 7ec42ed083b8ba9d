"""adapters/discord/render.py: a staff card is drawn from the card's own labels
(the core's words), never from core constants."""

from __future__ import annotations

from typing import Any

from adapters.discord.render import card_embed, card_is_open
from adapters.discord.views import card_view
from bot.actions import Candidate, Card
from bot.events import Address


def make_card(**overrides: Any) -> Card:
    fields: dict[str, Any] = {
        "question": "gantt?", "asker": "111", "asker_name": "Ann", "reason": "low_confidence",
        "journey_summary": "First question on record.", "candidates": (Candidate("k1", 0.4, "Timeline"),),
        "case_address": Address("discord", "default", "222", "333"), "owner": "staff",
        "status": "routed", "reason_label": "words the core chose", "owner_label": "the queue, in words",
        "status_label": "waiting", "headline": "Over to you", "awaiting_staff": True, **overrides}
    return Card(**fields)


def fields(card: Card) -> dict[str, str]:
    embed = card_embed(card, fallback_text="", case="333", link=None)
    return {f.name or "": f.value or "" for f in embed.fields}


def test_the_card_shows_the_cores_words_for_reason_owner_and_status() -> None:
    shown = fields(make_card())
    assert shown["Why it's here"] == "words the core chose"
    assert shown["Owner"] == "the queue, in words"
    assert shown["Status"] == "waiting"


def test_a_staff_member_who_owns_the_case_is_shown_by_mention() -> None:
    shown = fields(make_card(owner="444", owner_user="444", owner_label="444"))
    assert shown["Owner"] == "<@444>"


def test_the_staff_buttons_follow_awaiting_staff_not_the_status_code() -> None:
    assert card_is_open(make_card(status="routed", awaiting_staff=True))
    assert not card_is_open(make_card(status="routed", awaiting_staff=False))
    assert card_is_open(None)  # the core's bare fallback card


def test_a_card_stored_before_labels_shows_its_raw_codes() -> None:
    shown = fields(make_card(reason_label="", owner_label="", status_label=""))
    assert (shown["Why it's here"], shown["Owner"], shown["Status"]) == ("low_confidence", "staff", "routed")


def test_send_suggested_answer_is_offered_only_for_the_cores_plausible_suggestion_with_its_score() -> None:
    assert [item.item.label for item in card_view("333", make_card(suggested=None)).children] == [  # type: ignore[attr-defined]
        "I'll take it"]
    assert "Suggested answer" not in " ".join(fields(make_card(suggested=None)))

    card = make_card(candidates=(Candidate("k7", 0.62, "Rotate"),), suggested="Settings → API → Rotate.",
                     suggested_entry="k7", suggested_score=0.62)
    items = card_view("333", card).children
    assert [(item.item.label, item.item.custom_id) for item in items] == [  # type: ignore[attr-defined]
        ("I'll take it", "jb:claim:333"), ("Send suggested answer (0.62)", "jb:suggest:333:k7")]
    assert fields(card)["Suggested answer (k7, score 0.62)"] == "Settings → API → Rotate."
