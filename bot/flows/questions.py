"""A member asks, follows up, picks an option, presses a button."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bot import casework, learned
from bot.actions import Candidate
from bot.cases import Case
from bot.events import Address, Feedback, Message
from bot.flows.deciding import answer_with, decide_and_act, record_decision
from bot.flows.staff import question_vector
from bot.handling import Handling
from bot.policy import Decision
from bot.text import asks_for_person, is_only_thanks, picked_option, says_not_solved, says_solved
from knowledge.entries import Entry
from learning.teach import asked_form

logger = logging.getLogger(__name__)


async def case_of(handling: Handling, message: Message, kind: str) -> Case | None:
    """The case a message belongs to: by its thread, or the asker's private case in a DM."""
    cases = handling.services.cases
    if message.thread:
        case = await cases.get(handling.space, message.thread)
        if case is None:
            ref = await cases.by_ref(handling.space, message.thread)
            case = await cases.get(handling.space, ref[0]) if ref else None
        return case
    if kind == "dm":
        ref = await cases.by_ref(handling.space, message.channel)
        if ref is not None:
            return await cases.get(handling.space, ref[0])
        for case in await cases.with_status(handling.space, "open", "answered", "routed", "reopened"):
            if case.private and case.user == message.user:
                return case
    return None


async def embed(handling: Handling, text: str) -> np.ndarray:
    vector: np.ndarray = (await handling.services.embedder.embed([text]))[0]
    return vector


async def on_question(handling: Handling, message: Message, kind: str) -> None:
    """A new question opens a case, unless it is the same issue the person
    raised a moment ago, which is linked instead of starting from zero."""
    services = handling.services
    thread = None if kind == "dm" else (message.thread or message.id)
    address = Address(message.platform, handling.space, message.channel, thread,
                      dm_user=message.user if kind == "dm" else None)
    if not message.text.strip():
        handling.reply(None, services.composer.empty(), address=address)
        return
    case = Case(key=message.id, space=handling.space, user=message.user, question=message.text,
                address=address, opened_at=handling.now, updated_at=handling.now,
                user_name=message.user_name, private=kind == "dm")
    case = case.said("asker", message.user, message.text, handling.now)
    case = await casework.open_case(handling, case, private=case.private, platform=message.platform)
    warn_about_secrets(handling, case)
    if handling.notes.get("truncated"):
        handling.reply(case, services.composer.notice(
            services.composer.truncated(services.community.max_message_chars), "me (the bot)",
            "I answer from what I read, or pass it to a person"))
    vector = await embed(handling, message.text)
    earlier = await same_issue(handling, case, vector)
    if earlier is not None:
        case = await continue_earlier(handling, case, earlier, vector)
    else:
        case = await decide_and_act(handling, case, message.text, vector)
    await handling.save(case, vector)


def warn_about_secrets(handling: Handling, case: Case) -> None:
    kinds = handling.notes.get("secrets") or []
    if not kinds:
        return
    what = ", ".join(k.replace("_", " ") for k in kinds)
    words = handling.services.composer.notice(
        f"Heads up: your message contained what looks like a secret ({what}). I've hidden it from "
        "our records and from staff, but others may have seen it: treat it as exposed and revoke "
        "or rotate it now.", "you", "rotate the secret, then carry on here")
    handling.reply(case, words, private_to=case.user)
    logger.info("warned %s about a posted secret (%s) in case %s", case.user, what, case.key)


async def same_issue(handling: Handling, case: Case, vector: np.ndarray) -> Case | None:
    """The person's earlier, still-relevant case about the same thing, if any."""
    policy = handling.services.policy
    since = handling.now - timedelta(hours=policy.repeat_window_hours)
    journey = await handling.journey(case.user)
    if not any(n.case != case.key and n.opened_at >= since for n in journey.cases):
        return None  # nothing recent on record: no need to look
    earlier = [c for c in await handling.services.cases.of_user(handling.space, case.user, since=since)
               if c.key != case.key and c.status != "closed"]
    if not earlier:
        return None
    stored = await handling.services.cases.vectors(handling.space, [c.key for c in earlier])
    scores = {key: float(np.dot(other, vector)) for key, other in stored.items()}
    best = max(earlier, key=lambda c: scores.get(c.key, -1.0))
    return best if scores.get(best.key, -1.0) >= policy.repeat_threshold else None


async def continue_earlier(handling: Handling, case: Case, earlier: Case, vector: np.ndarray) -> Case:
    """Same person, same issue: say where it stands instead of starting over."""
    case = await casework.link(handling, case, earlier)
    if earlier.status == "routed":
        return await casework.wait_with(handling, case, earlier)
    if earlier.status in ("answered", "resolved", "reopened") and earlier.entry:
        # The earlier case is on record as reopened; its stored state is left as it was.
        await casework.came_back(handling, earlier, why="asked the same again", by=case.key)
        return await decide_and_act(handling, case, case.question, vector, avoid=earlier.entry,
                                    linked=earlier.key)
    return await decide_and_act(handling, case, case.question, vector, linked=earlier.key)


async def on_follow_up(handling: Handling, message: Message, case: Case) -> None:
    """The asker writes again in their case's thread."""
    if case.status == "closed":
        return
    text = message.text
    case = case.said("asker", message.user, text, handling.now)
    handling.keep_journey((await handling.journey(case.user)).learn_facts(text, case.key, handling.now))
    if not text.strip():
        await handling.save(case)
        return
    restated = await note_restatement(handling, case, text)
    if case.options:
        case = await on_pick(handling, case, text)
    elif case.status in ("answered", "reopened") and says_solved(text):
        case = await casework.resolve(handling, case, confirmed=True)
    elif asks_for_person(text):
        await handling.log("human_requested", {"how": "asked"}, case=case.key)
        case = (await add_to_waiting_case(handling, case) if case.status == "routed"
                else await casework.route(handling, case, "human_requested"))
    elif case.status == "answered" and says_not_solved(text):
        case = await casework.not_solved(handling, case, why="the asker said it did not work")
    elif case.status == "routed":
        case = await add_to_waiting_case(handling, case)
    elif case.status == "resolved":
        if is_only_thanks(text) or says_solved(text):
            await handling.save(case)
            return
        if lately(handling, case) and says_not_solved(text):  # as the Not solved button
            case = await casework.not_solved(handling, case, why="the asker said it did not work")
            await handling.save(case)
            return
        if lately(handling, case) and restated:  # the same problem again: the answer did not last
            case = await casework.came_back(handling, case, why="the asker came back to a solved thread "
                                                                "with the same problem")
        else:
            case = await casework.reopen(handling, case, why="the asker came back to a solved thread")
        vector = await embed(handling, text)
        case = await decide_and_act(handling, case, text, vector, avoid=case.entry)
    else:
        # More detail, or a new question in the same thread: read it with what came before.
        vector = await embed(handling, f"{case.question} {text}" if case.status == "open" else text)
        case = await decide_and_act(handling, case, text, vector,
                                    avoid=case.entry if case.status == "answered" else None)
    await handling.save(case)


def lately(handling: Handling, case: Case) -> bool:
    """Within ``policy.repeat_window_hours`` of the last reply the asker had: what they say in
    a solved thread then is about that answer; later, more likely a new problem."""
    window = timedelta(hours=handling.services.policy.repeat_window_hours)
    return case.last_reply_at is not None and handling.now - case.last_reply_at <= window


async def note_restatement(handling: Handling, case: Case, text: str) -> bool:
    """Did the asker have to say again what they already said? (Experience.)"""
    earlier = case.asker_words()[:-1][-3:]
    if len(text) < 15 or not earlier or picked_option(text, 9) is not None:
        return False
    vectors = await handling.services.embedder.embed([text, *earlier])
    closest = float((vectors[1:] @ vectors[0]).max())
    if closest < handling.services.policy.repeat_threshold:
        return False
    await handling.log("restated", {"similarity": round(closest, 4)}, case=case.key)
    return True


async def on_pick(handling: Handling, case: Case, text: str) -> Case:
    """The asker answers a clarifying question: a number, "none", or more words."""
    pick = picked_option(text, len(case.options))
    if pick is None:
        combined = f"{case.question} {text}"
        vector = await embed(handling, combined)
        case = replace(case, options=())
        return await decide_and_act(handling, case, combined, vector)
    if pick == 0:
        return await casework.options_refused(handling, case)
    entry = await handling.services.kb.get(case.options[pick - 1])
    if entry is None or entry.status != "live":
        return await casework.route(handling, replace(case, options=()), "low_confidence")
    score = next((c.score for c in case.candidates if c.entry == entry.id), 0.0)
    await learned.settled(handling, case, right=entry.id, lesson="pick", text=case.question)
    entry = await _asked_like(handling, case, entry)
    picked = Decision("answer", entry=entry.id, confidence=score, why="picked by the asker")
    await record_decision(handling, case, picked, [Candidate(entry.id, score, entry.title, entry.version)],
                          option=pick)
    return await answer_with(handling, replace(case, options=()), entry, confidence=score,
                             candidates=case.candidates)


async def _asked_like(handling: Handling, case: Case, entry: Entry) -> Entry:
    """With ``policy.pick_teaches``: the asker picked an entry the bot had ranked
    below another, so their question becomes another way to ask it (redacted like
    every form), and the next one like it is nearer it than the entry the bot put
    first; or confirmed an entry the bot would otherwise have handed to staff
    (``case.confirming``), so it learns what staff answering would have taught.
    Not from a private thread, nor when the asker confirms the bot's first option
    of several or a leader it doubted (their question then only pulls more
    questions towards a leader)."""
    first = entry.id == case.options[0] and case.confirming != case.question  # (not if it was edited since)
    if not handling.services.policy.pick_teaches or case.private or first:
        return entry
    asked, vector = await asked_form(handling.services.kb, case.question, await question_vector(handling, case))
    updated = await handling.services.kb.add_question(entry, asked, author=None,  # no member id in knowledge
                                                       at=handling.now, case=case.key, vector=vector)
    if updated is not entry:
        logger.info("the asker of case %s picked %s: learned a new way to ask it", case.key, entry.id)
    return updated


async def add_to_waiting_case(handling: Handling, case: Case) -> Case:
    """More words on a case staff are about to answer: onto the card they go."""
    last_two = case.turns[-2:]
    await handling.update_card(case, f"The asker added: “{case.turns[-1].text[:300]}”")
    if len(last_two) < 2 or last_two[0].who != "asker":
        words = handling.services.composer.still_waiting(case, handling.services.composer.owner_label(case.owner))
        handling.reply(case, words, kind="notice")
        case = case.said("bot", handling.services.community.bot_name, words.text, handling.now)
    return case


async def on_bystander(handling: Handling, message: Message, case: Case) -> None:
    """Someone else writes in a member's case thread: it is conversation, not a decision."""
    case = case.said("other", message.user, message.text, handling.now)
    await handling.save(case)


async def on_feedback(handling: Handling, feedback: Feedback) -> None:
    case = await handling.services.cases.get(handling.space, feedback.about)
    if case is None:
        logger.info("feedback about unknown case %s from %s", feedback.about, feedback.user)
        return
    await handling.log("feedback", {"value": feedback.value, "by": feedback.user,
                                    "asker": feedback.user == case.user}, case=case.key)
    if feedback.user != case.user:
        words = handling.services.composer.notice(
            "Only the person who asked can mark this question.", "the asker",
            "ask your own question in the help channel if you need help too")
        handling.reply(case, words, private_to=feedback.user)
        return
    if feedback.value == "solved":
        if case.status != "resolved":
            case = await casework.resolve(handling, case, confirmed=True)
    elif feedback.value == "not_solved":
        if case.status in ("answered", "resolved", "reopened"):
            case = await casework.not_solved(handling, case, why="the asker pressed Not solved")
    else:
        await handling.log("human_requested", {"how": "button"}, case=case.key)
        if case.status != "routed":
            case = await casework.route(handling, case, "human_requested")
    await handling.save(case)


async def fallback(handling: Handling) -> None:
    """The event's flow failed: a question still gets an owner and a next step."""
    event = handling.event
    if not isinstance(event, Message) or event.is_bot:
        return
    case = await handling.services.cases.get(handling.space, event.thread or event.id)
    if case is None:
        thread = event.thread or event.id
        case = Case(key=thread, space=handling.space, user=event.user, question=event.text,
                    address=Address(event.platform, handling.space, event.channel, thread),
                    opened_at=handling.now, updated_at=handling.now, user_name=event.user_name)
        case = await casework.open_case(handling, case, remember=False, fallback=True)
    case = await casework.route_after_failure(handling, case, text=event.text)
    await handling.save(case)
