"""Staff answer by replying to a card (or in the member's thread); the bot
relays the answer, learns it, and answers every other waiting case it fits."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bot import casework, learned
from bot.cases import STAFF_QUEUE, Case
from bot.events import Message
from bot.flows.deciding import answer_with, record_decision, retrieve
from bot.handling import Handling
from bot.policy import Signals, decide
from bot.social import NO_TEACH_PREFIX, StaffReply, read_staff_reply
from bot.trust.promises import find_commitments
from bot.trust.sensitive import CLEARED_TAG
from knowledge.entries import PROMISE_OK, Entry
from learning.teach import Lesson, learn

logger = logging.getLogger(__name__)

FAN_OUT_DAYS = 30


async def case_of_card(handling: Handling, card: str) -> Case | None:
    cases = handling.services.cases
    ref = await cases.by_ref(handling.space, card)
    if ref is not None:
        return await cases.get(handling.space, ref[0])
    if card.startswith("card:"):
        return await cases.get(handling.space, card.removeprefix("card:"))
    return None


async def question_vector(handling: Handling, case: Case) -> np.ndarray:
    stored = await handling.services.cases.vector(case.space, case.key)
    if stored is not None:
        return stored
    vector: np.ndarray = (await handling.services.embedder.embed([case.question]))[0]
    return vector


async def on_card_reply(handling: Handling, message: Message) -> None:
    """A message in a card's thread: from staff, it is the answer."""
    assert message.thread is not None
    case = await case_of_card(handling, message.thread)
    if case is None:
        logger.info("staff message %s replies to %s, which is no card we know", message.id, message.thread)
        words = handling.services.composer.notice(
            "I can't find the question this card belongs to, so I haven't passed your reply on.",
            "you", "reply to the card of an open question (or answer the member in their thread)")
        handling.reply(None, words, address=handling.staff_address(message.thread),
                       private_to=message.user)
        await handling.log("error", {"what": "reply to an unknown card", "card": message.thread})
        return
    if not handling.services.community.is_staff(message):
        logger.info("ignored a reply on card %s from %s: not staff, so not relayed or learned",
                    message.thread, message.user)
        await handling.log("ignored", {"why": "not staff", "user": message.user}, case=case.key)
        return
    reply = read_staff_reply(message.text)
    if not reply.text.strip():
        if message.text.strip():  # the prefix alone
            handling.reply(None, handling.services.composer.notice(
                f"There was nothing after {NO_TEACH_PREFIX} to send.", "you",
                f"reply again with your answer after {NO_TEACH_PREFIX}"),
                address=handling.staff_address(message.thread), private_to=message.user)
        return
    if case.status == "closed":
        words = handling.services.composer.notice(
            "This question was deleted by the asker, so I haven't relayed your reply.", "no one",
            "nothing to do")
        handling.reply(case, words, address=handling.staff_address(message.thread),
                       private_to=message.user)
        return
    await answer_case(handling, case, message, relay=True, reply=reply)


async def answer_case(handling: Handling, case: Case, message: Message, *, relay: bool,
                      reply: StaffReply) -> Case:
    """Relay (when the answer was given on the card), learn unless ``reply``
    is not to be taught (``bot.social``), and fan out what was learned."""
    services = handling.services
    staff = message.user
    name = message.user_name or staff
    lesson = None
    if reply.learn:
        correcting = None
        if case.route_reason in ("stale", "conflict") and case.candidates:
            correcting = await services.kb.get(case.candidates[0].entry)
        elif case.route_reason == "low_confidence" and case.held_entry:  # held back: its answers failed
            correcting = await services.kb.get(case.held_entry)
        lesson = await learn_from(handling, case, message, correcting=correcting)
        if correcting is not None and case.route_reason == "low_confidence" and not case.private:
            await learned.vouched(handling, case, correcting.id, by=staff)
        lesson = await clearances(handling, case, lesson, reply.text)
    else:
        logger.info("staff %s answered case %s without teaching it (%s)", staff, case.key, reply.why_not)
    case = await casework.staff_answered(handling, case, lesson, staff=staff, name=name, text=reply.text,
                                         relay=relay, why_not=reply.why_not)
    await handling.save(case)
    for linked in await services.cases.waiting_on(handling.space, case.key):
        linked = await casework.linked_answered(handling, linked, lesson, staff=staff, name=name,
                                                text=reply.text)
        await handling.save(linked)
    if lesson is not None:
        await answer_waiting_cases(handling, lesson, taught_on=case)
    return case


async def learn_from(handling: Handling, case: Case, message: Message, *,
                     correcting: Entry | None) -> Lesson:
    """What staff wrote on ``case`` becomes knowledge (``learning.teach``)."""
    return await learn(handling.services.kb, space=handling.space, question=case.question,
                       question_vector=await question_vector(handling, case), answer=message.text,
                       staff=message.user, case=case.key, at=handling.now, correcting=correcting,
                       private=case.private, staff_name=message.user_name)


async def clearances(handling: Handling, case: Case, lesson: Lesson, text: str) -> Lesson:
    """What staff vouched for by answering in public a question the bot held back:
    a question that only resembled a sensitive category (the entry may answer
    such questions now), or an entry's own promise, which staff said themselves
    (the bot may repeat it word for word)."""
    entry = lesson.entry
    if case.private or entry.status != "live":
        return lesson
    tag = why = None
    if case.route_reason == "sensitive" and case.clearable:
        tag, why = CLEARED_TAG + case.clearable, f"questions that resemble {case.clearable}"
    elif case.route_reason == "promise" and case.held_entry == entry.id and _says_the_same(entry.answer, text):
        tag, why = PROMISE_OK, "with its promise word for word"
    if tag is None or tag in entry.tags:
        return lesson
    entry = await handling.services.kb.add_tag(entry, tag)
    logger.info("staff answered case %s in public: %s may answer %s", case.key, entry.id, why)
    await handling.log("cleared", {"entry": entry.id, "tag": tag}, case=case.key)
    return replace(lesson, entry=entry)


def _says_the_same(answer: str, text: str) -> bool:
    """Every commitment ``answer`` makes is in what staff wrote, phrase for phrase."""
    said = " ".join(text.lower().split())
    made = find_commitments(answer)
    return bool(made) and all(" ".join(c.text.lower().split()) in said for c in made)


async def answer_waiting_cases(handling: Handling, lesson: Lesson, *, taught_on: Case) -> None:
    """Every other waiting case the new knowledge now answers with confidence
    gets the answer too, and its card says where the answer came from."""
    services = handling.services
    entry = lesson.entry
    if entry.status != "live":
        return
    since = handling.now - timedelta(days=FAN_OUT_DAYS)
    waiting = await services.cases.waiting_vectors(handling.space, since=since, excluding=taught_on.key)
    if not waiting:
        return
    forms = await services.kb.store.live_forms(entry.id)
    entry_vectors = await services.kb.store.form_vectors([fid for fid, _ in forms])
    closeness = (np.stack([vector for _, vector in waiting]) @ entry_vectors.T).max(axis=1)
    for (key, vector), score in sorted(zip(waiting, closeness, strict=True), key=lambda p: -p[1]):
        if score < services.policy.clarify_floor:
            continue
        case = await services.cases.get(handling.space, key)
        if (case is None or case.private or case.route_reason != "low_confidence"
                or case.owner != STAFF_QUEUE or case.linked_to == taught_on.key):
            continue
        hits, options = await retrieve(handling, vector)
        options, answer_at, _ = await learned.calibrate(handling, case.question, hits, options)
        decision = decide(options, Signals(), services.policy, answer_at=answer_at)
        if decision.kind != "answer" or decision.entry != entry.id:
            continue
        why = f"answered by knowledge taught on {taught_on.card}"
        await record_decision(handling, case, replace(decision, why=why), hits, may_generate=False)
        case = await answer_with(handling, case, entry, confidence=decision.confidence, generate=False)
        await handling.update_card(case, f"Answered automatically from {entry.id}, which staff taught "
                                         f"on {taught_on.card}.")
        await handling.save(case)
        logger.info("case %s answered from newly taught %s", case.key, entry.id)


async def on_staff_in_thread(handling: Handling, message: Message, case: Case) -> None:
    """Staff writing in a member's thread: a correction of the bot's answer,
    or the answer itself when the case was waiting for staff. What is not to
    be taught (only social, or ``noteach:``) corrects nothing."""
    reply = read_staff_reply(message.text)
    if not reply.text.strip() or case.status in ("closed",):
        await handling.save(case.said("staff", message.user, message.text, handling.now))
        return
    if case.status in ("routed", "open"):
        await answer_case(handling, case, message, relay=False, reply=reply)
        return
    bot_answered = case.status in ("answered", "reopened") and case.entry and case.answered_by is None
    if bot_answered and reply.learn:
        entry = await handling.services.kb.get(case.entry or "")
        lesson = await learn_from(handling, case, message, correcting=entry)
        case = await casework.correct(handling, case, lesson, staff=message.user, text=message.text)
        await handling.save(case)
        return
    if bot_answered:
        logger.info("staff %s wrote in case %s's thread (%s): no correction", message.user, case.key,
                    reply.why_not)
    await handling.save(case.said("staff", message.user, message.text, handling.now))
