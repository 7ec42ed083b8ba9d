"""The words on a staff card: the core's vocabulary, said for people.

Cases carry codes (``routed``, ``low_confidence``, the staff queue's owner
id); a card carries what those codes mean, so every adapter draws the same
card without importing the core's constants.
"""

from __future__ import annotations

from dataclasses import replace

from bot.actions import Card
from bot.cases import BOT, STAFF_QUEUE
from bot.compose import CARD_REASONS
from bot.social import NO_TEACH_PREFIX

# Owners that are not a person (a case "owned by the asker" waits on them).
OWNER_LABELS = {STAFF_QUEUE: "nobody yet (staff queue)", BOT: "the bot", "asker": "the asker"}
HEADLINES = {"answered": "Answered", "resolved": "Solved", "closed": "Closed"}
NEEDS_A_PERSON = "Needs a person"
# While a case is in one of these, staff may take it or send the suggested answer.
AWAITING_STAFF = frozenset({"open", "routed", "reopened"})
REPLY_LABEL = (f"your reply goes to the asker and becomes knowledge; start it with {NO_TEACH_PREFIX} "
               "to reply without teaching")


def labelled(card: Card, *, detail: str | None = None) -> Card:
    """``card`` with its labels filled in from its reason, owner and status;
    ``detail`` says why it is with staff more precisely than its reason does."""
    person = card.owner not in OWNER_LABELS
    return replace(
        card,
        reason_label=detail or CARD_REASONS.get(card.reason, card.reason),
        owner_label=(card.owner_name or card.owner) if person else OWNER_LABELS[card.owner],
        owner_user=card.owner if person else None,
        status_label=card.status,
        headline=HEADLINES.get(card.status, NEEDS_A_PERSON),
        awaiting_staff=card.status in AWAITING_STAFF,
        reply_label=REPLY_LABEL,
    )
