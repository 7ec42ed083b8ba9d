"""Staff answer by replying to a card (or in the member's thread); the bot
relays the answer, learns it, and answers every other waiting case it fits."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bot.actions import Learned
from bot.cases import STAFF_QUEUE, Case
from bot.events import Event, Message
from bot.flows import learned
from bot.flows.deciding import answer_with, retrieve
from bot.handling import Handling
from bot.policy import Signals, decide
from learning.teach import Lesson, learn

logger = logging.getLogger(__name__)

FAN_OUT_DAYS = 30


def is_staff(handling: Handling, event: Event) -> bool:
    return handling.core.settings.staff_role in event.roles


def is_moderator(handling: Handling, event: Event) -> bool:
    return handling.core.settings.moderator_role in event.roles


async def case_of_card(handling: Handling, card: str) -> Case | None:
    cases = handling.core.cases
    ref = await cases.by_ref(handling.space, card)
    if ref is not None:
        return await cases.get(handling.space, ref[0])
    if card.startswith("card:"):
        return await cases.get(handling.space, card.removeprefix("card:"))
    return None


async def question_vector(handling: Handling, case: Case) -> np.ndarray:
    row = await handling.core.db.fetchone(
        "SELECT vector FROM cases WHERE space = ? AND key = ?", (case.space, case.key))
    if row is not None and row["vector"] is not None:
        return np.frombuffer(row["vector"], dtype=np.float32)
    return (await handling.core.embedder.embed([case.question]))[0]


async def on_card_reply(handling: Handling, message: Message) -> None:
    """A message in a card's thread: from staff, it is the answer."""
    assert message.thread is not None
    case = await case_of_card(handling, message.thread)
    if case is None:
        logger.info("staff message %s replies to %s, which is no card we know", message.id, message.thread)
        words = handling.core.composer.notice(
            "I can't find the question this card belongs to, so I haven't passed your reply on.",
            "you", "reply to the card of an open question (or answer the member in their thread)")
        handling.reply(None, words, address=handling.staff_address(message.thread),
                       private_to=message.user)
        await handling.log("error", {"what": "reply to an unknown card", "card": message.thread})
        return
    if not is_staff(handling, message):
        logger.info("ignored a reply on card %s from %s: not staff, so not relayed or learned",
                    message.thread, message.user)
        await handling.log("ignored", {"why": "not staff", "user": message.user}, case=case.key)
        return
    if not message.text.strip():
        return
    if case.status == "closed":
        words = handling.core.composer.notice(
            "This question was deleted by the asker, so I haven't relayed your reply.", "no one",
            "nothing to do")
        handling.reply(case, words, address=handling.staff_address(message.thread),
                       private_to=message.user)
        return
    await answer_case(handling, case, message, relay=True)


async def answer_case(handling: Handling, case: Case, message: Message, *, relay: bool) -> Case:
    """Relay (when the answer was given on the card), learn, and fan out."""
    core = handling.core
    staff = message.user
    name = message.user_name or staff
    correcting = None
    if case.route_reason in ("stale", "conflict") and case.candidates:
        correcting = await core.kb.get(case.candidates[0].entry)
    vector = await question_vector(handling, case)
    lesson = await learn(core.kb, space=handling.space, question=case.question,
                         question_vector=vector, answer=message.text, staff=staff, case=case.key,
                         at=handling.now, correcting=correcting, private=case.private)
    if relay:
        handling.reply(case, core.composer.relay(name, message.text), kind="relay", by=staff,
                       sources=(lesson.entry.id,), confidence=1.0)
    await record_lesson(handling, case, lesson, staff)
    await learned.settled(handling, case, right=lesson.entry.id)
    case = replace(case, status="answered", owner=staff, answered_by=staff, entry=lesson.entry.id,
                   entry_version=lesson.entry.version, options=(),
                   next_step="the asker tries it and tells us if it worked")
    case = case.said("staff", staff, message.text, handling.now)
    await handling.transition(case, "answered", by=staff, entry=lesson.entry.id,
                              version=lesson.entry.version, staff=True)
    journey = (await handling.journey(case.user)).tell(case.key, message.text[:200], handling.now,
                                                      lesson.entry.id)
    handling.keep_journey(journey.update_case(case.key, status="answered", stuck=None,
                                              outcome=f"answered by staff ({name})"))
    await handling.update_card(case, f"Answered by {name}; learned as {lesson.entry.id} "
                                     f"(version {lesson.entry.version}, {lesson.how}).")
    await handling.save(case)
    for linked in await handling.core.cases.with_status(handling.space, "routed"):
        if linked.linked_to == case.key and linked.key != case.key:
            await relay_to_linked(handling, linked, lesson, message)
    await answer_waiting_cases(handling, lesson, taught_on=case)
    return case


async def record_lesson(handling: Handling, case: Case, lesson: Lesson, staff: str) -> None:
    """Say what was learned (the ``learned`` action) and keep it as evidence."""
    handling.emit(Learned(event=handling.event.id, case=case.key, space=handling.space,
                          entry=lesson.entry.id, version=lesson.entry.version, from_user=staff,
                          question=case.question, answer=lesson.entry.answer,
                          supersedes=lesson.supersedes))
    await handling.log("learn", {"entry": lesson.entry.id, "version": lesson.entry.version,
                                 "how": lesson.how, "from": staff, "supersedes": lesson.supersedes,
                                 "status": lesson.entry.status}, case=case.key)


async def relay_to_linked(handling: Handling, linked: Case, lesson: Lesson, message: Message) -> None:
    core = handling.core
    name = message.user_name or message.user
    handling.reply(linked, core.composer.relay(name, message.text), kind="relay", by=message.user,
                   sources=(lesson.entry.id,), confidence=1.0)
    linked = replace(linked, status="answered", owner=message.user, answered_by=message.user,
                     entry=lesson.entry.id, entry_version=lesson.entry.version)
    await handling.transition(linked, "answered", by=message.user, entry=lesson.entry.id,
                              version=lesson.entry.version, staff=True, linked=True)
    journey = await handling.journey(linked.user)
    handling.keep_journey(journey.update_case(linked.key, status="answered", stuck=None,
                                              outcome=f"answered by staff ({name}) on {linked.linked_to}"))
    await handling.save(linked)


async def answer_waiting_cases(handling: Handling, lesson: Lesson, *, taught_on: Case) -> None:
    """Every other waiting case the new knowledge now answers with confidence
    gets the answer too, and its card says where the answer came from."""
    core = handling.core
    entry = lesson.entry
    if entry.status != "live":
        return
    since = (handling.now - timedelta(days=FAN_OUT_DAYS)).isoformat()
    rows = await core.db.fetchall(
        "SELECT key, vector FROM cases WHERE space = ? AND status = 'routed' AND key != ? "
        "AND vector IS NOT NULL AND opened_at >= ?", (handling.space, taught_on.key, since))
    if not rows:
        return
    forms = await core.kb.store.live_forms(entry.id)
    entry_vectors = await core.kb.store.form_vectors([fid for fid, _ in forms])
    case_vectors = np.stack([np.frombuffer(r["vector"], dtype=np.float32) for r in rows])
    closeness = (case_vectors @ entry_vectors.T).max(axis=1)
    floor = core.settings.policy.clarify_floor
    for row, score in sorted(zip(rows, closeness, strict=True), key=lambda p: -p[1]):
        if score < floor:
            continue
        case = await core.cases.get(handling.space, row["key"])
        if (case is None or case.private or case.route_reason != "low_confidence"
                or case.owner != STAFF_QUEUE or case.linked_to == taught_on.key):
            continue
        vector = np.frombuffer(row["vector"], dtype=np.float32)
        hits, options = await retrieve(handling, vector)
        options, answer_at, _ = await learned.calibrate(handling, case.question, hits, options)
        decision = decide(options, Signals(), core.settings.policy, answer_at)
        if decision.kind != "answer" or decision.entry != entry.id:
            continue
        await handling.log("decision", {**decision.evidence(core.settings.policy),
                                        "why": f"answered by knowledge taught on {taught_on.card}",
                                        "candidates": [{"entry": h.entry.id, "version": h.entry.version,
                                                        "score": round(h.score, 4)} for h in hits[:5]],
                                        "model": core.embedder.name}, case=case.key)
        case = await answer_with(handling, case, entry, confidence=decision.confidence, generate=False)
        await handling.update_card(case, f"Answered automatically from {entry.id}, which staff taught "
                                         f"on {taught_on.card}.")
        await handling.save(case)
        logger.info("case %s answered from newly taught %s", case.key, entry.id)


async def on_staff_in_thread(handling: Handling, message: Message, case: Case) -> None:
    """Staff writing in a member's thread: a correction of the bot's answer,
    or the answer itself when the case was waiting for staff."""
    core = handling.core
    if not message.text.strip() or case.status in ("closed",):
        await handling.save(case.said("staff", message.user, message.text, handling.now))
        return
    if case.status in ("answered", "reopened") and case.entry and case.answered_by is None:
        entry = await core.kb.get(case.entry)
        vector = await question_vector(handling, case)
        lesson = await learn(core.kb, space=handling.space, question=case.question,
                             question_vector=vector, answer=message.text, staff=message.user,
                             case=case.key, at=handling.now, correcting=entry, private=case.private)
        await handling.log("wrong_answer", {"entry": case.entry, "version": case.entry_version,
                                            "how": "corrected", "by": message.user}, case=case.key)
        await learned.settled(handling, case, wrong=case.entry)
        await record_lesson(handling, case, lesson, message.user)
        case = replace(case, answered_by=message.user, owner=message.user, entry=lesson.entry.id,
                       entry_version=lesson.entry.version, status="answered")
        case = case.said("staff", message.user, message.text, handling.now)
        await handling.transition(case, "corrected", by=message.user, entry=lesson.entry.id,
                                  version=lesson.entry.version, staff=True)
        await handling.update_card(case, f"{message.user} corrected the answer in the thread; "
                                         f"{lesson.entry.id} is now version {lesson.entry.version}.")
        await handling.save(case)
        return
    if case.status in ("routed", "open"):
        await answer_case(handling, case, message, relay=False)
        return
    await handling.save(case.said("staff", message.user, message.text, handling.now))
