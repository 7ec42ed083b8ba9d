"""adapters/slack/render.py: a staff card is drawn from the card's own labels
(the core's words), never from core constants."""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.render import CLAIM, SEND_SUGGESTED, card_blocks
from bot.actions import Candidate, Card
from bot.events import Address
from tests.adapters.slack.fake import HELP


def make_card(**overrides: Any) -> Card:
    fields: dict[str, Any] = {
        "question": "gantt?", "asker": "UANN", "asker_name": "Ann", "reason": "low_confidence",
        "journey_summary": "First question on record.", "candidates": (Candidate("k1", 0.4, "Timeline"),),
        "case_address": Address("slack", "default", HELP, f"{HELP}:1.1"), "owner": "staff",
        "status": "routed", "reason_label": "words the core chose", "owner_label": "the queue, in words",
        "status_label": "waiting", "headline": "Over to you", "awaiting_staff": True, **overrides}
    return Card(**fields)


def drawn(card: Card, owner_name: str = "the queue, in words") -> tuple[str, list[str]]:
    """(every text on the card, the action ids of its buttons)."""
    blocks = card_blocks(card, case=f"{HELP}:1.1", owner_name=owner_name, asker_name="Ann", thread_link=None)
    texts: list[str] = []
    actions: list[str] = []
    for block in blocks:
        texts += [t["text"] for t in [block.get("text") or {}, *block.get("fields", []), *block.get("elements", [])]
                  if isinstance(t, dict) and "text" in t and isinstance(t["text"], str)]
        actions += [e["action_id"] for e in block.get("elements", []) if e.get("type") == "button"]
    return "\n".join(texts), actions


def test_the_card_shows_the_cores_words_for_reason_owner_status_and_headline() -> None:
    shown, actions = drawn(make_card())
    assert "Over to you: question from Ann" in shown
    assert "*Why it's here*\nwords the core chose" in shown
    assert "*Owner*\nthe queue, in words" in shown
    assert "*Status*\nwaiting" in shown
    assert actions[0] == CLAIM


def test_a_card_no_longer_awaiting_staff_has_no_staff_buttons() -> None:
    _, actions = drawn(make_card(status="routed", awaiting_staff=False))
    assert actions == []


def test_a_card_stored_before_labels_shows_its_raw_codes() -> None:
    shown, _ = drawn(make_card(reason_label="", owner_label="", status_label="", headline=""), owner_name="staff")
    assert "*Why it's here*\nlow_confidence" in shown
    assert "*Status*\nrouted" in shown
    assert "routed: question from Ann" in shown


def test_send_suggested_answer_is_offered_only_for_the_cores_plausible_suggestion_with_its_score() -> None:
    # Candidates alone (k1 at 0.40) are no suggestion: the core left suggested_entry empty.
    shown, actions = drawn(make_card(suggested=None))
    assert SEND_SUGGESTED not in actions and "Suggested answer" not in shown

    card = make_card(candidates=(Candidate("k7", 0.62, "Rotate"),), suggested="Settings → API → Rotate.",
                     suggested_entry="k7", suggested_score=0.62)
    blocks = card_blocks(card, case=f"{HELP}:1.1", owner_name="q", asker_name="Ann", thread_link=None)
    (button,) = [e for b in blocks for e in b.get("elements", []) if e.get("action_id") == SEND_SUGGESTED]
    assert button["text"]["text"] == "Send suggested answer (0.62)"
    assert json.loads(button["value"])["entry"] == "k7"
    shown, _ = drawn(card)
    assert "*Suggested answer* (k7, score 0.62)\nSettings → API → Rotate." in shown
