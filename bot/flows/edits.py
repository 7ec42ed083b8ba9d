"""Questions edited before an answer, and questions deleted."""

from __future__ import annotations

import logging

from bot import casework
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
    case = await casework.edit_question(handling, case, edit.text)
    await handling.save(case, vector)


async def on_delete(handling: Handling, delete: Delete) -> None:
    """A deleted question closes its case; staff stop working on it."""
    case = await handling.services.cases.get(handling.space, delete.about)
    if case is None or case.status == "closed":
        return
    await handling.save(await casework.close(handling, case))
