"""One verb per change of a case's state.

Each verb makes its change whole, in one place: the case's new state, the
member's reply, the staff card, the journey and the ``case`` record of the
event log (the scorecard is computed from those). Flows decide *which*
change to make and save the case a verb returns; they never spell a change
out themselves. Transition names: ``storage.vocabulary.Transition``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot import learned
from bot.actions import FEEDBACK_BUTTONS, Candidate, Citation, Learned, Private, Route
from bot.cases import BOT, STAFF_QUEUE, Case
from bot.events import Address
from bot.handling import Handling
from bot.journeys import CaseNote, summary
from bot.social import NO_TEACH_PREFIX, WhyNot
from bot.text import neutralise_mentions
from knowledge.entries import Entry
from learning.teach import Lesson

logger = logging.getLogger(__name__)

TRY_IT = "the asker tries it and tells us if it worked"
WITH_STAFF = "a staff member replies in the thread"


def name_of(handling: Handling, user: str | None) -> str | None:
    """The display name of ``user`` when they caused this event (staff
    answering, taking or sending): the name the platform gave with it."""
    event = handling.event
    return event.user_name if user is not None and user == event.user else None


# -- opening -------------------------------------------------------------------


async def open_case(handling: Handling, case: Case, *, remember: bool = True, **details: Any) -> Case:
    """A question opens a case, noted in the asker's journey with the facts it
    states. ``remember=False`` (the fallback after a failure) leaves the
    journey alone: it may be what failed."""
    if remember:
        journey = (await handling.journey(case.user)).with_case(
            CaseNote(case.key, case.question[:300], handling.now, "open"))
        handling.keep_journey(journey.learn_facts(case.question, case.key, handling.now))
    await handling.transition(case, "opened", **details)
    return case


async def link(handling: Handling, case: Case, earlier: Case) -> Case:
    """Same person, same issue: the new case carries the earlier one's key."""
    case = replace(case, linked_to=earlier.key)
    await handling.transition(case, "linked", to_case=earlier.key, earlier_status=earlier.status)
    await handling.log("repeat", {"earlier": earlier.key, "self_repeat": True}, case=earlier.key)
    return case


async def edit_question(handling: Handling, case: Case, text: str) -> Case:
    """The asker edited their question before an answer; a waiting card shows it."""
    case = replace(case, question=text, updated_at=handling.now)
    await handling.transition(case, "edited")
    if case.status == "routed":
        await handling.update_card(case, f"The asker edited the question: “{text[:300]}”")
    return case


# -- the bot's own moves -----------------------------------------------------------


async def clarify(handling: Handling, case: Case, entries: Sequence[Entry], *, confidence: float,
                  confirming: bool = False) -> Case:
    """Ask which of a few close entries the asker means (``confirming``: one entry
    the bot found likely but would otherwise have handed over)."""
    words = handling.services.composer.clarify(entries)
    options = tuple(e.id for e in entries)
    handling.reply(case, words, kind="clarify", options=options, confidence=confidence,
                   model=handling.services.embedder.name)
    case = replace(case, status="open", owner=BOT, options=options,
                   confirming=case.question if confirming else None,
                   clarifications=case.clarifications + 1, next_step=words.next_step or "")
    case = case.said("bot", handling.services.community.bot_name, words.text, handling.now)
    await handling.transition(case, "clarified", options=list(case.options))
    return case


async def options_refused(handling: Handling, case: Case) -> Case:
    """None of the options was it: to staff."""
    await handling.transition(case, "options_refused")
    return await route(handling, replace(case, options=()), "low_confidence")


async def answer_from(handling: Handling, case: Case, entry: Entry, *, text: str, said: str,
                      cited: Sequence[Entry], confidence: float, by: str | None = None) -> Case:
    """Answer from ``entry`` with ``text`` citing ``cited`` (``said`` is the
    answer without its source list); ``by`` names the staff member who sent it."""
    footer = handling.services.composer.answer_footer()
    handling.reply(case, f"{text}\n\n{footer}", kind="relay" if by else "answer",
                   sources=tuple(e.id for e in cited), confidence=1.0 if by else confidence, by=by,
                   citations=tuple(Citation(e.id, e.version, e.title, e.url, e.section) for e in cited),
                   buttons=FEEDBACK_BUTTONS, model=None if by else handling.services.embedder.name)
    if by is None:
        await learned.answered(handling, entry.id)
    return await _answered(handling, case, entry, by=by, said=said, told=f"the answer to “{entry.title}”",
                           outcome=f"answered from {entry.id}", confidence=round(confidence, 4),
                           taught=entry.taught, fresh=not entry.is_stale(handling.now))


# -- staff -----------------------------------------------------------------------------


NOT_LEARNED = {"noteach": f"sent with {NO_TEACH_PREFIX}", "social": "only social: thanks, a joke or a redirect"}


async def staff_answered(handling: Handling, case: Case, lesson: Lesson | None, *, staff: str, name: str,
                         text: str, relay: bool, why_not: WhyNot | None = None) -> Case:
    """Staff answered the case (``relay``: on its card, so the bot passes it
    on); what they taught is recorded and the card says so. ``lesson`` is
    ``None`` when the reply is not taught (``why_not``: ``bot.social``)."""
    if relay:
        _relay(handling, case, lesson, staff=staff, name=name, text=text)
    if lesson is not None:
        await record_lesson(handling, case, lesson, staff)
        await learned.settled(handling, case, right=lesson.entry.id)
        taught: dict[str, Any] = {}
        note = (f"Answered by {name}; learned as {lesson.entry.id} "
                f"(version {lesson.entry.version}, {lesson.how}).")
    else:
        taught = {"learned": False, "not_learned": why_not}
        note = f"Answered by {name}; not learned ({NOT_LEARNED.get(why_not or '', 'not taught')})."
    case = await _answered(handling, case, lesson.entry if lesson else None, by=staff, said=text,
                           told=text[:200], outcome=f"answered by staff ({name})", staff=True, **taught)
    await handling.update_card(case, note)
    return case


async def linked_answered(handling: Handling, case: Case, lesson: Lesson | None, *, staff: str, name: str,
                          text: str) -> Case:
    """The case linked to the one staff just answered gets the same answer."""
    _relay(handling, case, lesson, staff=staff, name=name, text=text)
    return await _answered(handling, case, lesson.entry if lesson else None, by=staff, said=text,
                           told=text[:200], outcome=f"answered by staff ({name}) on {case.linked_to}",
                           staff=True, linked=True)


async def correct(handling: Handling, case: Case, lesson: Lesson, *, staff: str, text: str) -> Case:
    """Staff corrected the bot's answer in the thread: a wrong answer, a new version
    (of another entry, when the answered one was retired: then what the asker taught
    the answered one is withdrawn)."""
    withdrawn = ({} if not case.entry or lesson.entry.id == case.entry
                 else await learned.withdrawn(handling, case, case.entry))
    await handling.log("wrong_answer", {"entry": case.entry, "version": case.entry_version,
                                        "how": "corrected", "by": staff, **withdrawn}, case=case.key)
    await learned.settled(handling, case, wrong=case.entry)
    await record_lesson(handling, case, lesson, staff)
    case = replace(case, answered_by=staff, owner=staff, owner_name=name_of(handling, staff),
                   entry=lesson.entry.id, entry_version=lesson.entry.version, status="answered")
    case = case.said("staff", staff, text, handling.now)
    await handling.transition(case, "corrected", by=staff, entry=lesson.entry.id,
                              version=lesson.entry.version, staff=True)
    await handling.update_card(case, f"{case.owner_name or staff} corrected the answer in the thread; "
                                     f"{lesson.entry.id} is now version {lesson.entry.version}.")
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


def _relay(handling: Handling, case: Case, lesson: Lesson | None, *, staff: str, name: str, text: str) -> None:
    handling.reply(case, handling.services.composer.relay(name, text), kind="relay", by=staff,
                   sources=(lesson.entry.id,) if lesson else (), confidence=1.0)


async def _answered(handling: Handling, case: Case, entry: Entry | None, *, by: str | None, said: str,
                    told: str, outcome: str, **details: Any) -> Case:
    """The one place a case becomes answered: its state, the words in its
    conversation, the log and what the asker's journey remembers. ``entry``
    is ``None`` for a staff answer that was not taught."""
    entry_id, version = (entry.id, entry.version) if entry else (None, None)
    case = replace(case, status="answered", owner=by or BOT, owner_name=name_of(handling, by),
                   answered_by=by, entry=entry_id, entry_version=version, options=(), next_step=TRY_IT)
    case = case.said("staff" if by else "bot", by or handling.services.community.bot_name, said,
                     handling.now)
    await handling.transition(case, "answered", entry=entry_id, version=version,
                              by=by or "bot", **details)
    journey = (await handling.journey(case.user)).tell(case.key, told, handling.now, entry_id)
    handling.keep_journey(journey.update_case(case.key, status="answered", stuck=None, outcome=outcome))
    return case


async def claim(handling: Handling, case: Case, *, staff: str, name: str) -> Case:
    """A named staff member owns the case from now on."""
    case = replace(case, owner=staff, owner_name=name, next_step=f"{name} replies in the thread")
    await handling.transition(case, "claimed", by=staff)
    handling.reply(case, handling.services.composer.taken(name), kind="notice", owner=staff)
    await handling.update_card(case, f"{name} took this question.")
    return case


# -- hand-overs -----------------------------------------------------------------------


async def route(handling: Handling, case: Case, reason: str, *, candidates: tuple[Candidate, ...] = (),
                linked: str | None = None, detail: str | None = None) -> Case:
    """Hand the case to staff: a card with the whole context, and a reply
    telling the asker who has it and what happens next. ``detail`` says on the
    card why, when the reason alone would say it wrongly."""
    services = handling.services
    person = case.owner not in (BOT, "asker")
    owner = case.owner if person else STAFF_QUEUE
    card_id = case.card or f"card:{case.key}"
    case = replace(case, status="routed", owner=owner, owner_name=case.owner_name if person else None,
                   card=card_id, route_reason=reason, route_detail=detail,
                   candidates=candidates or case.candidates, options=(), reminded=False,
                   next_step=WITH_STAFF)
    content = await handling.card(case, reason=reason, candidates=case.candidates)
    text = neutralise_mentions(services.composer.card(content, case=case.key))
    handling.emit(Route(event=handling.event.id, case=case.key, space=handling.space,
                        address=handling.staff_address(), card=card_id, reason=reason,  # type: ignore[arg-type]
                        candidates=case.candidates, text=text, content=content))
    await handling.log("card", {"card": card_id, "reason": reason,
                                "with_journey": bool(content.journey_summary)}, case=case.key)
    words = services.composer.handoff(reason, owner=owner, linked=linked)
    handling.reply(case, words, kind="handoff", confidence=0.0)
    case = case.said("bot", services.community.bot_name, words.text, handling.now)
    await services.cases.link(handling.space, card_id, case.key, "card")
    return await _with_staff(handling, case, reason,
                             candidates=[{"entry": c.entry, "score": c.score} for c in case.candidates])


async def wait_with(handling: Handling, case: Case, earlier: Case) -> Case:
    """The asker asked again what staff already have: the new case waits on
    the earlier one's card, which shows the new words."""
    composer = handling.services.composer
    words = composer.repeat_waiting(earlier, composer.owner_label(earlier.owner),
                                    f"{earlier.opened_at:%b %d at %H:%M}")
    handling.reply(case, words, kind="handoff")
    case = replace(case, status="routed", owner=earlier.owner, card=earlier.card,
                   card_ref=earlier.card_ref, route_reason=earlier.route_reason,
                   next_step=words.next_step or "")
    case = await _with_staff(handling, case, earlier.route_reason or "low_confidence", linked=earlier.key)
    await handling.update_card(earlier.said("asker", case.user, case.question, handling.now),
                               f"The asker asked again in another thread ({case.key}): "
                               f"“{case.question[:200]}”")
    return case


async def route_after_failure(handling: Handling, case: Case, *, text: str) -> Case:
    """Handling the message ``text`` failed: to staff as it is, with the least
    that could fail again (no knowledge, no journey)."""
    event = handling.event
    case = replace(case, status="routed", owner=STAFF_QUEUE, card=case.card or f"card:{case.key}",
                   route_reason="low_confidence", next_step=WITH_STAFF, held_entry=None)
    handling.reply(case, handling.services.composer.trouble(), kind="handoff")
    handling.emit(Route(event=event.id, case=case.key, space=handling.space,
                        address=handling.staff_address(), card=case.card or "", reason="low_confidence",
                        text=f"Something went wrong handling this message; please answer it "
                             f"directly. From {event.user}: “{text[:500]}”"))
    case = await _with_staff(handling, case, "low_confidence", journey=False, fallback=True)
    await handling.services.cases.link(handling.space, case.card or "", case.key, "card")
    return case


async def _with_staff(handling: Handling, case: Case, reason: str, *, journey: bool = True,
                      **details: Any) -> Case:
    """The one place a case becomes routed: the log, and the journey says
    where the asker is stuck."""
    await handling.transition(case, "routed", reason=reason, **details)
    if journey:
        note = (await handling.journey(case.user)).update_case(
            case.key, status="routed", stuck=f"waiting for staff ({reason})")
        handling.keep_journey(note)
    return case


async def move_private(handling: Handling, case: Case, *, by: str, by_name: str) -> Case:
    """A moderator moves the case to a DM with the asker; its context moves with it."""
    composer = handling.services.composer
    owner_name = composer.owner_label(case.owner)
    dm = f"dm:{case.user}"
    address = Address(case.address.platform, handling.space, dm, None, dm_user=case.user)
    context = "\n".join([
        f"Hi {case.user_name or case.user}, a moderator moved your question here so we can talk privately.",
        f"Your question: “{case.question}”",
        "What we know so far:",
        *("  " + line for line in summary(await handling.journey(case.user), current=case.key).splitlines()),
        f"Who has it now: {owner_name}. Next step: carry on here; you don't need to repeat anything.",
    ])
    handling.emit(Private(event=handling.event.id, case=case.key, space=handling.space,
                          user=case.user, channel=dm, text=context, address=address))
    handling.reply(case, composer.notice("A moderator moved this conversation to a private message.",
                                         owner_name, "it continues in direct messages"))
    moved = replace(case, private=True, address=address)
    await handling.services.cases.link(handling.space, dm, case.key, "dm")
    await handling.log("private_move", {"by": by, "from": case.address.channel}, case=case.key)
    await handling.transition(moved, "moved_private", by=by)
    await handling.update_card(moved, f"Moved to a private conversation by {by_name}.")
    return moved


# -- endings -------------------------------------------------------------------------


async def resolve(handling: Handling, case: Case, *, confirmed: bool) -> Case:
    """Solved: confirmed by the asker (who is told so), or presumed after silence."""
    case = replace(case, status="resolved", resolution="confirmed" if confirmed else "presumed",
                   next_step="none")
    await handling.transition(case, "resolved", confirmed=confirmed, entry=case.entry,
                              answered_by=case.answered_by)
    journey = await handling.journey(case.user)
    handling.keep_journey(journey.update_case(case.key, status="resolved", stuck=None,
                                              outcome="solved" if confirmed else "presumed solved"))
    if confirmed and case.entry and case.answered_by is None:
        await learned.settled(handling, case, right=case.entry, lesson="solved", text=case.question)
    if confirmed:
        handling.reply(case, handling.services.composer.solved(), kind="notice")
        await handling.update_card(case, "The asker confirmed it is solved.")
    return case


async def reopen(handling: Handling, case: Case, *, why: str, **details: Any) -> Case:
    """The case is open again (the caller decides what happens next)."""
    await handling.transition(case, "reopened", why=why, **details)
    return replace(case, status="reopened", resolution=None)


async def came_back(handling: Handling, case: Case, *, why: str, **details: Any) -> Case:
    """The asker came back with the same problem after an answer, in its thread or
    a new one: a reopen, and when the answer was the bot's, one of its entry's
    answers that did not last (the entry's survival and the calibration count it;
    unlike Not solved, what the case taught stays, and no wrong answer is logged)."""
    failed = case.status in ("answered", "resolved") and case.entry and case.answered_by is None
    case = await reopen(handling, case, why=why, **details)
    if failed and case.entry:
        await learned.settled(handling, case, wrong=case.entry)
    return case


async def not_solved(handling: Handling, case: Case, *, why: str) -> Case:
    """The answer did not solve it: reopen, count a wrong answer if it was the
    bot's, and hand over with what was tried."""
    case = await reopen(handling, case, why=why, entry=case.entry, answered_by=case.answered_by)
    if case.entry and case.answered_by is None:
        withdrawn = await learned.withdrawn(handling, case, case.entry)  # what the asker taught with it
        await handling.log("wrong_answer", {"entry": case.entry, "version": case.entry_version,
                                            "how": "not_solved", **withdrawn}, case=case.key)
        await learned.settled(handling, case, wrong=case.entry)
    journey = await handling.journey(case.user)
    handling.keep_journey(journey.update_case(case.key, outcome=f"{case.entry or 'answer'} did not solve it"))
    case = replace(case, owner=case.owner if case.owner not in (BOT, "asker") else STAFF_QUEUE)
    return await route(handling, case, "reopened")


async def close(handling: Handling, case: Case) -> Case:
    """The asker deleted the question: nothing more to do, and staff stop working on it."""
    case = replace(case, status="closed", next_step="none: the question was deleted")
    await handling.transition(case, "closed", why="the question was deleted")
    await handling.update_card(case, "The asker deleted the question; nothing more to do.")
    journey = await handling.journey(case.user)
    handling.keep_journey(journey.update_case(case.key, status="closed", stuck=None, outcome="deleted"))
    return case
