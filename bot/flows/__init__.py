"""What happens for each kind of event. ``route_event`` picks the flow."""

from __future__ import annotations

import logging

from bot.events import Command, Delete, Edit, Feedback, Message, Tick
from bot.flows import commands, edits, questions, staff, timers
from bot.handling import Handling

logger = logging.getLogger(__name__)


async def route_event(handling: Handling) -> None:
    event = handling.event
    if isinstance(event, Message):
        await on_message(handling, event)
    elif isinstance(event, Feedback):
        await questions.on_feedback(handling, event)
    elif isinstance(event, Command):
        await commands.on_command(handling, event)
    elif isinstance(event, Edit):
        await edits.on_edit(handling, event)
    elif isinstance(event, Delete):
        await edits.on_delete(handling, event)
    elif isinstance(event, Tick):
        await timers.on_tick(handling, event)


async def on_message(handling: Handling, message: Message) -> None:
    if message.is_bot:
        logger.debug("ignoring a bot's message %s", message.id)
        return
    kind = handling.services.community.channel_kind(message)
    if kind == "staff":
        if message.thread:
            await staff.on_card_reply(handling, message)
        return
    case = await questions.case_of(handling, message, kind)
    if case is not None:
        if handling.services.community.is_staff(message) and message.user != case.user:
            await staff.on_staff_in_thread(handling, message, case)
        elif message.user == case.user:
            await questions.on_follow_up(handling, message, case)
        else:
            await questions.on_bystander(handling, message, case)
        return
    if message.thread and kind != "dm":
        # A reply in a thread we don't know: not a new question of its own.
        logger.debug("message %s in unknown thread %s ignored", message.id, message.thread)
        return
    if kind in ("help", "dm") or message.direct:
        await questions.on_question(handling, message, kind)
