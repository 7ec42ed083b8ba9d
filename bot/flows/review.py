"""Knowledge review commands: staff approve, reject, edit, settle, renew and retire entries.

Every driver sends the same ``Command`` event through the core
(``Core.handle``): ``journeybot kb review``, the web console, a chat
platform's command. The actor must be staff (the staff role among
``Command.roles``); each change lands in the event's one transaction with a
``review`` record naming who did it; bad input changes nothing and is
refused with the reason.

Interface: ``Command(name=NAME, args=ARGS, user=ACTOR, roles=("staff",), space=SPACE)``.
An ``ID`` may name the version it was read at, ``ID@VERSION``: the command
is refused if the entry has moved on since (someone else edited it).

==========  =================================================  ==========================================
name        args                                               does
==========  =================================================  ==========================================
approve     ``ID[@V] …``, or a selection of the space's        pending → live: answers from now on. An
            pending entries: ``--all``, ``--source slack``,    entry whose answer a live entry already
            ``--channel help`` (combinable)                    gives joins it as more ways to ask it.
reject      ``ID[@V] REASON…`` (a reason is required)          pending → retired; the reason is logged.
                                                               A waiting change to a live entry (a
                                                               private correction) is undone: the
                                                               entry is live as it was before it
edit        JSON: ``{"entry": ID, "version": V,                a new version with these question forms
            "questions": [...], "answer": "...",               and/or answer (redacted); then approved if
            "approve": false}`` (``version`` required)         ``approve`` is true
settle      ``A B keep=A`` or ``A B both``                     an open conflict: keep A and retire B, or
                                                               mark both right (never flagged again)
renew       ``ID[@V] [YYYY-MM-DD]``                            a live entry's review date pushed on
                                                               (default: ``RENEW_DAYS`` from today)
retire      ``ID[@V] [REASON…]``                               stops answering from it; history is kept
==========  =================================================  ==========================================

Each command answers its actor privately with one ``Reply``
(``private_to`` = the actor) whose ``sources`` list the entries it changed:
empty when it was refused, and then nothing changed.
"""

from __future__ import annotations

import json
import logging
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.events import Address, Command
from bot.handling import Handling
from bot.trust.redact import redact
from knowledge.entries import LIVE, PENDING, RETIRED, Entry
from knowledge.files import to_draft
from knowledge.importer import flag_conflicts
from knowledge.store import entry_from_mapping

logger = logging.getLogger(__name__)

RENEW_DAYS = 180
BOT = "me (the bot)"


class Refused(Exception):
    """Bad input: nothing changes, the actor is told why."""


@dataclass(frozen=True, slots=True)
class Ref:
    """An entry named in a command, with the version the actor saw (if given)."""

    id: str
    version: int | None = None


def parse_ref(token: str) -> Ref:
    name, sep, version = token.rpartition("@")
    if sep and name and version.isdigit():
        return Ref(name, int(version))
    return Ref(token)


async def on_review_command(handling: Handling, command: Command) -> None:
    """Run a review command (see the module docstring), or refuse it."""
    name = command.name.strip().lower().lstrip("/")
    if not handling.services.community.is_staff(command):
        _refuse(handling, command, "Only staff can review knowledge.")
        return
    try:
        await COMMANDS[name](handling, command)
    except Refused as why:
        _refuse(handling, command, str(why))


# -- the commands ---------------------------------------------------------------------


async def approve(handling: Handling, command: Command) -> None:
    words = _words(command)
    if not words:
        raise Refused("Name the entries to approve (`approve k12 k13`), or `approve --all` "
                      "(or --source slack, --channel help) for the pending ones.")
    entries = await (_selection(handling, words) if words[0].startswith("--") else _named(handling, words))
    for entry in entries:
        if entry.status != PENDING:
            raise Refused(f"{entry.id} is {_state(entry)}, not waiting for approval.")
    changed, lines = await _approve(handling, entries, by=command.user)
    _tell(handling, command, " ".join(lines), changed=changed, next_step="I answer the next person who asks from them")


async def _approve(handling: Handling, entries: list[Entry], *, by: str) -> tuple[tuple[str, ...], list[str]]:
    """Let pending ``entries`` answer; what changed, and what to tell the actor."""
    kb, policy = handling.services.kb, handling.services.policy
    approved: list[Entry] = []
    merged: dict[str, str] = {}
    for entry in entries:
        same = await kb.same_answer_entry(handling.space, entry.answer)
        if same is not None and same.id != entry.id:  # one answer never becomes two entries
            for question in entry.questions:
                same = await kb.add_question(same, question, author=by, at=handling.now)
            retired = await kb.retire(entry, by=by, at=handling.now)
            merged[entry.id] = same.id
            await handling.log("approved", {"entry": entry.id, "version": retired.version, "by": by,
                                            "merged_into": same.id})
        else:
            done = await kb.approve(entry, by=by, at=handling.now)
            approved.append(done)
            await handling.log("approved", {"entry": done.id, "version": done.version, "by": by})
    conflicts = await flag_conflicts(kb, approved, at=handling.now, threshold=policy.conflict_threshold,
                                     answer_gap=policy.conflict_answer_gap)
    lines = []
    if approved:
        lines.append(f"Approved {_list(e.id for e in approved)}: "
                     f"{'they answer' if len(approved) > 1 else 'it answers'} from now on.")
    lines += [f"{pending} gives the same answer as {live}: its questions now ask {live}, and {pending} is "
              "retired." for pending, live in merged.items()]
    lines += [f"{a} and {b} answer the same question differently: settle it (`settle {a} {b} keep={a}`, "
              f"or `both` if both are right)." for a, b in conflicts]
    return (*(e.id for e in approved), *merged, *merged.values()), lines


async def reject(handling: Handling, command: Command) -> None:
    words = _words(command)
    if len(words) < 2 or len(" ".join(words[1:])) < 3:
        raise Refused("Say which entry and why: `reject k12 the answer is out of date`.")
    (entry,) = await _named(handling, words[:1])
    if entry.status != PENDING:
        raise Refused(f"{entry.id} is {_state(entry)}: only a pending entry can be rejected "
                      f"(retire a live one instead).")
    why = redact(" ".join(words[1:])).text
    before = await _live_before(handling, entry)
    if before is not None:  # a change waiting to replace a live answer: refusing it keeps that answer
        # what a correction changes comes back; question forms and tags learned since stay
        kept = await handling.services.kb.revise(
            entry, author=command.user, origin=before.origin, at=handling.now, case=before.source_case,
            answer=before.answer, url=before.url, review_after=before.review_after,
            provenance=before.provenance, section=before.section, status=LIVE)
        await handling.log("review", {"what": "rejected", "by": command.user, "entry": entry.id,
                                      "version": kept.version, "restored": before.version, "why": why})
        _tell(handling, command, f"Rejected the change to {entry.id}: it is back to what version "
                                 f"{before.version} said (now version {kept.version}).",
              changed=(entry.id,), next_step="I answer from it as before")
        return
    retired = await handling.services.kb.retire(entry, by=command.user, at=handling.now)
    await handling.log("review", {"what": "rejected", "by": command.user, "entry": entry.id,
                                  "version": retired.version, "why": why})
    _tell(handling, command, f"Rejected {entry.id}: it will not answer anyone, and importing it again "
                             f"changes nothing.", changed=(entry.id,), next_step="nothing; it stays in the history")


async def _live_before(handling: Handling, entry: Entry) -> Entry | None:
    """The version ``entry`` was live at before the changes now waiting for approval, if it was."""
    for snapshot in reversed(await handling.services.kb.store.history(entry.id)):
        if int(snapshot.get("version", entry.version)) >= entry.version or snapshot.get("status") == PENDING:
            continue
        return entry_from_mapping(snapshot) if snapshot.get("status") == LIVE else None
    return None


async def edit(handling: Handling, command: Command) -> None:
    try:
        change = json.loads(command.args or "")
    except json.JSONDecodeError as exc:
        raise Refused(f"An edit is JSON: {{\"entry\": ID, \"version\": N, \"questions\": [...], "
                      f"\"answer\": \"...\"}} ({exc.msg}).") from exc
    if not isinstance(change, dict) or not isinstance(change.get("entry"), str):
        raise Refused("An edit names its entry: {\"entry\": \"k12\", \"version\": 2, ...}.")
    version = change.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise Refused("An edit names the version it edits (\"version\": N), so it never overwrites a newer one.")
    (entry,) = await _named(handling, [f"{change['entry']}@{version}"])
    if entry.status == RETIRED:
        raise Refused(f"{entry.id} is retired: there is nothing to edit.")
    if change.get("questions") is None and change.get("answer") is None:
        raise Refused("An edit changes the question forms (\"questions\"), the answer (\"answer\") or both.")
    try:
        draft = to_draft({"questions": change.get("questions") or list(entry.questions),
                          "answer": change.get("answer") if change.get("answer") is not None else entry.answer})
    except (ValueError, TypeError) as exc:
        raise Refused(f"That edit can't be stored: {exc}.") from exc
    questions = tuple(dict.fromkeys(redact(q).text for q in draft.questions))
    answer = redact(draft.answer).text
    kb, by = handling.services.kb, command.user
    if questions == entry.questions and answer == entry.answer:
        raise Refused(f"That is what {entry.id} already says (version {entry.version}).")
    edited = await kb.revise(entry, author=by, origin=entry.origin, at=handling.now, case=entry.source_case,
                             answer=answer if answer != entry.answer else None,
                             questions=questions if questions != entry.questions else None)
    await handling.log("review", {"what": "edited", "by": by, "entry": edited.id, "from_version": entry.version,
                                  "version": edited.version})
    text = f"Edited {edited.id} (now version {edited.version})."
    if change.get("approve") is True and edited.status == PENDING:
        changed, lines = await _approve(handling, [edited], by=by)
        _tell(handling, command, " ".join([text, *lines]), changed=(edited.id, *changed),
              next_step="I answer the next person who asks from it")
        return
    pending = edited.status == PENDING
    _tell(handling, command, text + (" It still waits for approval." if pending else ""), changed=(edited.id,),
          next_step=f"approve it (`approve {edited.id}`)" if pending else "I answer from the new version")


async def settle(handling: Handling, command: Command) -> None:
    words = _words(command)
    if len(words) != 3 or not (words[2] == "both" or words[2].startswith("keep=")):
        raise Refused("Settle a conflict with `settle A B keep=A` (retire B) or `settle A B both` (both right).")
    a, b = await _named(handling, words[:2])
    if tuple(sorted((a.id, b.id))) not in {tuple(p) for p in await handling.services.kb.store.open_conflicts(
            handling.space)}:
        raise Refused(f"{a.id} and {b.id} have no open conflict.")
    kb, by = handling.services.kb, command.user
    if words[2] == "both":
        await kb.store.settle_pair(a.id, b.id, handling.now, how="both right", by=by)
        await handling.log("review", {"what": "settled", "by": by, "entries": [a.id, b.id], "how": "both right"})
        _tell(handling, command, f"{a.id} and {b.id} both stand; they won't be flagged again.",
              changed=(a.id, b.id), next_step="I keep answering from both")
        return
    keep_id = parse_ref(words[2].removeprefix("keep=")).id
    if keep_id not in (a.id, b.id):
        raise Refused(f"keep= names one of the two: {a.id} or {b.id}.")
    keep, drop = (a, b) if keep_id == a.id else (b, a)
    retired = await kb.retire(drop, by=by, at=handling.now)
    await handling.log("review", {"what": "settled", "by": by, "entries": [a.id, b.id], "how": f"kept {keep.id}",
                                  "retired": drop.id, "version": retired.version})
    _tell(handling, command, f"Kept {keep.id}; {drop.id} is retired (its history stays).",
          changed=(keep.id, drop.id), next_step=f"I answer from {keep.id}")


async def renew(handling: Handling, command: Command) -> None:
    words = _words(command)
    if not 1 <= len(words) <= 2:
        raise Refused("Renew an entry with `renew k12` or `renew k12 2027-03-01`.")
    (entry,) = await _named(handling, words[:1])
    if entry.status != LIVE:
        raise Refused(f"{entry.id} is {_state(entry)}: only a live entry has a review date to push on.")
    today = handling.now.date()
    until = today + timedelta(days=RENEW_DAYS)
    if len(words) == 2:
        try:
            until = date.fromisoformat(words[1])
        except ValueError as exc:
            raise Refused(f"{words[1]!r} is no date: use YYYY-MM-DD.") from exc
        if until <= today:
            raise Refused(f"{until.isoformat()} is not in the future.")
    renewed = await handling.services.kb.revise(entry, author=command.user, origin=entry.origin, at=handling.now,
                                            case=entry.source_case, review_after=until)
    await handling.log("review", {"what": "renewed", "by": command.user, "entry": entry.id,
                                  "version": renewed.version, "review_after": until.isoformat()})
    _tell(handling, command, f"{entry.id} is current until {until.isoformat()} (version {renewed.version}).",
          changed=(entry.id,), next_step="I answer from it until then")


async def retire(handling: Handling, command: Command) -> None:
    words = _words(command)
    if not words:
        raise Refused("Name the entry to retire: `retire k12 replaced by the new pricing page`.")
    (entry,) = await _named(handling, words[:1])
    if entry.status == RETIRED:
        raise Refused(f"{entry.id} is retired already.")
    why = redact(" ".join(words[1:])).text or None
    retired = await handling.services.kb.retire(entry, by=command.user, at=handling.now)
    await handling.log("review", {"what": "retired", "by": command.user, "entry": entry.id,
                                  "version": retired.version, "why": why})
    _tell(handling, command, f"Retired {entry.id} (version {retired.version}); its history is kept.",
          changed=(entry.id,), next_step="nobody is answered from it any more")


COMMANDS: dict[str, Callable[[Handling, Command], Awaitable[None]]] = {
    "approve": approve, "reject": reject, "edit": edit, "settle": settle, "renew": renew, "retire": retire,
}


# -- helpers ------------------------------------------------------------------------------


def _words(command: Command) -> list[str]:
    try:
        return shlex.split(command.args or "")
    except ValueError as exc:
        raise Refused(f"I couldn't read the arguments ({exc}).") from exc


async def _named(handling: Handling, tokens: list[str]) -> list[Entry]:
    refs = [parse_ref(t) for t in tokens]
    found = await handling.services.kb.store.many([r.id for r in refs])
    entries = []
    for ref in refs:
        entry = found.get(ref.id)
        if entry is None or entry.space != handling.space:
            raise Refused(f"There is no entry {ref.id!r}" + (f" in {handling.space}." if entry else "."))
        if ref.version is not None and ref.version != entry.version:
            raise Refused(f"{entry.id} has moved on to version {entry.version} since you read version "
                          f"{ref.version}: look at it again first.")
        entries.append(entry)
    if len({e.id for e in entries}) != len(entries):
        raise Refused("An entry is named twice.")
    return entries


async def _selection(handling: Handling, words: list[str]) -> list[Entry]:
    """``--all``, ``--source X``, ``--channel Y`` (also ``--source=X``): pending entries of the space."""
    wanted: dict[str, str] = {}
    rest = list(words)
    while rest:
        flag = rest.pop(0)
        name, _, value = flag.partition("=")
        if name == "--all" and not value:
            wanted["all"] = "yes"
            continue
        if name not in ("--source", "--channel"):
            raise Refused(f"I don't know {flag!r}: use --all, --source NAME or --channel NAME.")
        if not value:
            if not rest:
                raise Refused(f"{name} needs a value.")
            value = rest.pop(0)
        wanted[name.removeprefix("--")] = value.strip().lstrip("#").casefold()
    pending = await handling.services.kb.store.entries(space=handling.space, status=PENDING)
    chosen = [e for e in pending if _matches(e, wanted)]
    if not chosen:
        raise Refused("No pending entries match " + ", ".join(f"{k} {v}" for k, v in wanted.items()) + ".")
    return chosen


def _matches(entry: Entry, wanted: dict[str, str]) -> bool:
    where = entry.provenance or {}
    source = (where.get("platform") or entry.origin).casefold()
    channels = {where.get("channel", "").lstrip("#").casefold(), where.get("channel_id", "").casefold()}
    return ("source" not in wanted or wanted["source"] == source) and (
        "channel" not in wanted or wanted["channel"] in channels)


def _state(entry: Entry) -> str:
    return {LIVE: "live already", RETIRED: "retired", PENDING: "pending"}.get(entry.status, entry.status)


def _list(ids: Any) -> str:
    ids = list(ids)
    return ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")


def _address(handling: Handling, command: Command) -> Address:
    return Address(command.platform, handling.space, command.channel or "", command.thread)


def _tell(handling: Handling, command: Command, text: str, *, changed: tuple[str, ...], next_step: str) -> None:
    words = handling.services.composer.notice(text, BOT, next_step)
    handling.reply(None, words, address=_address(handling, command), private_to=command.user,
                   sources=tuple(dict.fromkeys(changed)))
    logger.info("review %s by %s: %s", command.name, command.user, ", ".join(dict.fromkeys(changed)))


def _refuse(handling: Handling, command: Command, text: str) -> None:
    words = handling.services.composer.notice(text, "you", "nothing changed; fix the command and send it again")
    handling.reply(None, words, address=_address(handling, command), private_to=command.user)
    logger.info("refused review command %s from %s: %s", command.name, command.user, text)
