"""Questions edited before an answer, and questions deleted."""

from __future__ import annotations

import logging
from dataclasses import replace

from bot.events import Delete, Edit
from bot.handling import Handling

logger = logging.getLogger(__name__)


async def on_edit(handling: Handling, edit: Edit) -> None:
    """An edit before anyone answered updates the question (and its card)."""
    case = await handling.services.cases.get(handling.space, edit.about)
    if case is None or case.user != edit.user or not edit.text.strip():
        return
    if case.status not in ("open", "routed"):
        logger.info("edit of %s after it was answered: kept in the thread history only", edit.about)
        return
    vector = (await handling.services.embedder.embed([edit.text]))[0]
    case = replace(case, question=edit.text, updated_at=handling.now)
    await handling.transition(case, "edited")
    if case.status == "routed":
        await handling.update_card(case, f"The asker edited the question: “{edit.text[:300]}”")
    await handling.save(case, vector)


async def on_delete(handling: Handling, delete: Delete) -> None:
    """A deleted question closes its case; staff stop working on it."""
    case = await handling.services.cases.get(handling.space, delete.about)
    if case is None or case.status == "closed":
        return
    case = replace(case, status="closed", next_step="none: the question was deleted")
    await handling.transition(case, "closed", why="the question was deleted")
    await handling.update_card(case, "The asker deleted the question; nothing more to do.")
    journey = await handling.journey(case.user)
    handling.keep_journey(journey.update_case(case.key, status="closed", stuck=None, outcome="deleted"))
    await handling.save(case)
