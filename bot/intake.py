"""How an event comes into the core, before any flow sees it.

``Core.accept`` prepares each event (every text made storable, the message
cleaned and redacted before anything stores it), keeps only what concerns the
bot, and stores it; ``Core.waiting`` reads stored events back for a later
turn. What ``accept`` found, and the notes kept with the event, are spelled
out here, so that both ways in give ``Core.process`` the same ``Accepted``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

from bot.cases import CaseStore
from bot.events import Edit, Event, Message
from bot.services import Community
from bot.storeless import storable
from bot.text import clean
from bot.trust.redact import redact
from bot.wire import event_from_json
from storage.mailroom import Inbox

logger = logging.getLogger(__name__)

# What ``accept`` found: new and stored, stored before (a redelivery), or not for the bot.
Acceptance = Literal["stored", "seen", "ignored"]
# What ``prepare`` noted about a message, stored with the event.
NOTES = ("truncated", "original_length", "redactions", "secrets")


@dataclass(frozen=True, slots=True)
class Accepted:
    """An event as the core took it in: cleaned, redacted, and whether it was stored."""

    event: Event
    notes: dict[str, Any]
    verdict: Acceptance


def prepare(event: Event, *, limit: int) -> tuple[Event, dict[str, Any]]:
    """Make every text storable, clean the message (at most ``limit`` characters)
    and redact personal data before anything stores it."""
    event = storable(event)
    notes: dict[str, Any] = {}
    if isinstance(event, Message | Edit):
        cleaned = clean(event.text, limit=limit)
        red = redact(cleaned.text)
        notes = {"truncated": cleaned.truncated, "original_length": cleaned.original_length,
                 "redactions": len(red.spans),
                 "secrets": sorted({s.kind for s in red.secrets})}
        event = replace(event, text=red.text)
    return event, notes


async def concerns_bot(event: Event, *, community: Community, cases: CaseStore, inbox: Inbox) -> bool:
    """Only messages the bot acts on are stored: help and staff channels,
    direct messages and mentions, and threads of known cases (or of a question
    stored and still waiting its turn). Chatter in other channels the bot can
    read never enters its store."""
    if not isinstance(event, Message) or event.direct:
        return True
    if community.channel_kind(event) != "other":
        return True
    if event.thread is None:
        return False
    return (await cases.get(event.space, event.thread) is not None
            or await cases.by_ref(event.space, event.thread) is not None
            or await inbox.known(event.space, event.thread))


async def stored_unhandled(inbox: Inbox, worker: str) -> list[Accepted]:
    """The oldest events stored but not handled yet that ``worker`` may take, as
    ``accept`` stored them; one that cannot be read back is marked failed."""
    accepted: list[Accepted] = []
    for item in await inbox.unhandled(worker=worker):
        try:
            event = event_from_json(item.body)
        except ValueError:
            logger.exception("stored event %s cannot be read back; marked failed", item.id)
            await inbox.mark(item.space, item.id, "failed")
            continue
        event = replace(event, platform=item.body.get("platform", event.platform))
        notes = {k: item.body[k] for k in NOTES if k in item.body}
        accepted.append(Accepted(event, notes, "stored"))
    return accepted
