"""Slash commands and staff buttons: private, recap, claim, send_suggested; knowledge review
(approve, reject, edit, settle, renew, retire) is in ``bot.flows.review``."""

from __future__ import annotations

import logging

from bot import casework
from bot.cases import Case
from bot.events import Address, Command
from bot.flows import review
from bot.flows.deciding import answer_with
from bot.flows.staff import case_of_card, clearances, question_vector
from bot.flows.wording import generate_recap
from bot.handling import Handling
from learning.teach import Lesson

logger = logging.getLogger(__name__)


async def on_command(handling: Handling, command: Command) -> None:
    name = command.name.strip().lower().lstrip("/")
    handler = {
        "private": on_private,
        "recap": on_recap,
        "claim": on_claim,
        "take": on_claim,
        "send_suggested": on_send_suggested,
        **dict.fromkeys(review.COMMANDS, review.on_review_command),
    }.get(name)
    if handler is None:
        refuse(handling, command, f"I don't know the command “{name}”. I know: private, recap.")
        return
    await handler(handling, command)


def reply_address(handling: Handling, command: Command) -> Address:
    return Address(command.platform, handling.space, command.channel or "", command.thread)


def refuse(handling: Handling, command: Command, text: str) -> None:
    words = handling.services.composer.notice(text, "you", "nothing changed; ask a moderator or staff if you need this")
    handling.reply(None, words, address=reply_address(handling, command), private_to=command.user)
    logger.info("refused command %s from %s: %s", command.name, command.user, text)


async def case_for(handling: Handling, command: Command) -> Case | None:
    for key in (command.about, command.thread):
        if not key:
            continue
        case = await handling.services.cases.get(handling.space, key)
        if case is None:
            case = await case_of_card(handling, key)
        if case is not None:
            return case
    return None


async def on_private(handling: Handling, command: Command) -> None:
    """Moderators move a case to a DM with the asker; its context moves with it."""
    if not handling.services.community.is_moderator(command):
        refuse(handling, command, "Only moderators can move a conversation to private messages.")
        return
    case = await case_for(handling, command)
    if case is None:
        refuse(handling, command, "I couldn't tell which member's question you mean: run this on "
                                  "their question's thread (or name it).")
        return
    if case.private:
        refuse(handling, command, "This conversation is already private.")
        return
    moved = await casework.move_private(handling, case, by=command.user,
                                        by_name=command.user_name or command.user)
    await handling.save(moved)


async def on_recap(handling: Handling, command: Command) -> None:
    """The caller's own journey, shown only to them."""
    journey = await handling.journey(command.user)
    text = handling.services.composer.recap(journey)
    generator = handling.services.generator
    if generator is not None and journey.cases:  # worded by the LLM when it can, else the summary
        text = await generate_recap(handling, generator, journey) or text
    open_cases = [n for n in journey.cases if n.status in ("open", "routed", "answered", "reopened")]
    if open_cases:
        latest = open_cases[-1]
        next_step = ("a staff member replies in your thread" if latest.status == "routed"
                     else "tell me in your thread whether it worked")
        owner = "staff" if latest.status == "routed" else "me (the bot)"
    else:
        owner, next_step = "you", "ask in the help channel whenever you need something"
    words = handling.services.composer.notice(text, owner, next_step)
    handling.reply(None, words, address=reply_address(handling, command), private_to=command.user)
    await handling.log("recap", {"user": command.user})


async def on_claim(handling: Handling, command: Command) -> None:
    """"I'll take it": a named staff member owns the case from now on."""
    if not handling.services.community.is_staff(command):
        refuse(handling, command, "Only staff can take a question.")
        return
    case = await case_for(handling, command)
    if case is None:
        refuse(handling, command, "I can't find the question this card belongs to.")
        return
    name = command.user_name or command.user
    await handling.save(await casework.claim(handling, case, staff=command.user, name=name))


async def on_send_suggested(handling: Handling, command: Command) -> None:
    """Staff approve the best candidate as the answer: sent, and learned as
    another way to ask that entry."""
    if not handling.services.community.is_staff(command):
        refuse(handling, command, "Only staff can send an answer.")
        return
    case = await case_for(handling, command)
    entry_id = (command.args or "").strip() or (case.candidates[0].entry if case and case.candidates else "")
    entry = await handling.services.kb.get(entry_id) if entry_id else None
    if case is None or entry is None or entry.status != "live" or entry.space != handling.space:
        refuse(handling, command, "There is no suggested answer to send for this card.")
        return
    weighed = next((c for c in case.candidates if c.entry == entry.id), None)
    if weighed is not None and weighed.score < handling.services.policy.option_floor:
        # Lower than the policy would ever offer a member (a card drawn before cards suggested
        # only plausible entries may still have the button): staff answer in their own words.
        refuse(handling, command, f"{entry.id} (score {weighed.score:.2f}) is not close enough to this "
                                  "question to send; reply to the card with the answer instead.")
        return
    vector = await question_vector(handling, case)
    updated = await handling.services.kb.add_question(entry, case.question, author=command.user,
                                                       at=handling.now, case=case.key, vector=vector)
    lesson = await clearances(handling, case, Lesson(updated, "form", None), updated.answer)
    await casework.record_lesson(handling, case, lesson, command.user)
    case = await answer_with(handling, case, lesson.entry, confidence=1.0, by=command.user)
    name = command.user_name or command.user
    await handling.update_card(case, f"{name} sent the suggested answer {entry.id}.")
    await handling.save(case)
