"""The bot's words. Extractive: an answer is the entry's own text with its
source; nothing here adds a promise, a date or a price of its own.

Every reply that does not resolve the question names who owns it now and
what happens next, in the text and in the ``owner``/``next_step`` fields the
scorecard counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.actions import Card
from bot.cases import BOT, STAFF_QUEUE, Case
from bot.journeys import CaseNote, Journey, short
from knowledge.entries import Entry

REASONS = {
    "low_confidence": "I'm not sure enough to answer this correctly",
    "human_requested": "you asked for a person",
    "sensitive": "this looks like something a person should handle",
    "promise": "this needs a commitment only a person can make",
    "stale": "the answer I have may be out of date",
    "conflict": "I have answers on this that disagree",
    "reopened": "my earlier answer didn't solve it",
}

CARD_REASONS = {
    "low_confidence": "no entry was close enough to answer with confidence",
    "human_requested": "the asker asked for a person",
    "sensitive": "sensitive topic",
    "promise": "needs a commitment (refund, date, price or policy) no policy entry backs",
    "stale": "the best entry is past its review date",
    "conflict": "two close entries disagree",
    "reopened": "the asker said the answer did not solve it",
}


@dataclass(frozen=True, slots=True)
class Words:
    """A reply's text with the owner and next step it states."""

    text: str
    owner: str | None = None
    next_step: str | None = None


class Composer:
    """Extractive composition; ``team`` is how the staff is named to members."""

    def __init__(self, *, team: str = "the staff team") -> None:
        self.team = team

    def owner_label(self, owner: str, names: dict[str, str] | None = None) -> str:
        if owner == BOT:
            return "me (the bot)"
        if owner == STAFF_QUEUE:
            return self.team
        return f"{(names or {}).get(owner, owner)} from {self.team}"

    # -- to the asker ----------------------------------------------------------

    def answer(self, entry: Entry) -> str:
        if entry.url:
            source = f"{entry.title} ({entry.url})"
        elif entry.taught and entry.updated_at:
            # By name, as the platform gave it when it was taught: a user id means nothing to a member.
            who = (entry.provenance or {}).get("answered_by") or "a staff member"
            source = f"answered by {who} ({self.team}), {entry.updated_at:%b %d %Y} [{entry.id}]"
        else:
            source = f"{entry.title} [{entry.id}]"
        return f"{entry.answer}\n\nSource: {source}"

    def answer_footer(self) -> str:
        return "If this didn't solve it, say so here and I'll pass it to a person."

    def clarify(self, entries: Sequence[Entry]) -> Words:
        lines = ["I want to be sure I answer the right question. Did you mean:"]
        lines += [f"{n}. {e.title}" for n, e in enumerate(entries, start=1)]
        next_step = (f"reply with the number, or “none” if it's something else and I'll pass it to "
                     f"{self.team}")
        lines.append(f"Who has it now: me (the bot). Next step: {next_step}.")
        return Words("\n".join(lines), "bot", next_step)

    def handoff(self, reason: str, *, owner: str = STAFF_QUEUE, owner_name: str | None = None,
                linked: str | None = None) -> Words:
        why = REASONS.get(reason, REASONS["low_confidence"])
        who = owner_name or self.owner_label(owner)
        next_step = "a staff member will reply in this thread; you don't need to repeat anything"
        opening = {
            "human_requested": "Of course. I've passed this to",
            "reopened": "Sorry that didn't solve it. I've passed it to",
        }.get(reason, "I've passed this to")
        text = f"{opening} {self.team} with everything you've written here ({why})."
        if reason == "sensitive":
            text += (" Please don't post passwords, card numbers or other private details here;"
                     " if you'd rather continue privately, say so and a moderator can move this to a"
                     " direct message.")
        if linked:
            text += f" I've linked it to your earlier question ({linked}), so they see the whole story."
        text += f"\nWho has it now: {who}. Next step: {next_step}."
        return Words(text, owner, next_step)

    def still_waiting(self, case: Case, owner_name: str) -> Words:
        next_step = "they will reply here; I've added what you just wrote to your case"
        return Words(f"Got it, added to your case. Who has it now: {owner_name}. Next step: {next_step}.",
                     case.owner, next_step)

    def taken(self, staff_name: str) -> Words:
        next_step = f"{staff_name} will reply in this thread"
        return Words(f"{staff_name} from {self.team} has picked up your question. "
                     f"Who has it now: {staff_name}. Next step: {next_step}.", None, next_step)

    def relay(self, staff_name: str, text: str) -> str:
        return f"{staff_name} ({self.team}): {text}"

    def solved(self) -> Words:
        next_step = "nothing more to do; if it comes back, write here and I'll reopen it"
        return Words(f"Glad that's sorted, I've marked it solved. Who has it now: no one needs to act. "
                     f"Next step: {next_step}.", "asker", next_step)

    def repeat_waiting(self, earlier: Case, owner_name: str, when: str) -> Words:
        next_step = "they will reply in your original thread and here; you don't need to repeat anything"
        return Words(f"This looks like the question you asked on {when}. It's still with {owner_name}, "
                     f"and I've added this message to it. Who has it now: {owner_name}. "
                     f"Next step: {next_step}.", earlier.owner, next_step)

    def empty(self) -> Words:
        next_step = "write your question in this channel and I'll answer or pass it to a person"
        return Words(f"Your message came through empty. Who has it now: you. Next step: {next_step}.",
                     "asker", next_step)

    def trouble(self) -> Words:
        next_step = "a staff member will reply in this thread; you don't need to repeat anything"
        return Words("Sorry, something went wrong on my side while reading your question, so I've "
                     f"passed it to {self.team} as it is. Who has it now: {self.team}. "
                     f"Next step: {next_step}.", STAFF_QUEUE, next_step)

    def recap(self, journey: Journey) -> str:
        """What the bot has on record for a member, said to them (staff read the
        same journey as ``bot.journeys.summary``, about them)."""
        lines = ["Here's what I have on record for you:"]
        if not journey.cases:
            lines.append("Nothing yet: you haven't asked me anything here.")
        else:
            lines.append(f"Your questions ({len(journey.cases)}):")
            lines += [f"- {note.opened_at:%b %d %H:%M} “{short(note.question)}”: {self._where(note)}"
                      for note in journey.cases[-5:]]
        for kind, label in (("setup", "Your setup"), ("tried", "What you tried"), ("error", "Errors you saw")):
            said = [f.text for f in journey.facts if f.kind == kind]
            if said:
                lines.append(f"{label}: " + " | ".join(short(text, 120) for text in said[-4:]))
        if journey.told:
            lines.append("What we told you: " + " | ".join(short(t.what, 90) for t in journey.told[-3:]))
        return "\n".join(lines)

    def _where(self, note: CaseNote) -> str:
        """Where one of the member's questions stands, in their words (no codes)."""
        return {
            "open": "open", "routed": f"waiting for {self.team}", "reopened": "open again",
            "answered": "answered; tell me in its thread whether it worked",
            "resolved": "solved" if note.outcome != "presumed solved" else "solved, as far as I know",
            "closed": "closed (the question was deleted)",
        }.get(note.status, note.status)

    def truncated(self, limit: int) -> str:
        return f"(Your message was very long; I read the first {limit} characters.)"

    def notice(self, text: str, owner: str, next_step: str) -> Words:
        return Words(f"{text} Who has it now: {owner}. Next step: {next_step}.", owner, next_step)

    # -- to staff ----------------------------------------------------------------

    def card(self, card: Card, *, case: str) -> str:
        """The card as plain text: the same words, owner and reason as its
        content (``bot.cards.labelled``), so a platform's notification text and
        its card never disagree."""
        lines = [
            f"Question from {card.asker_name or card.asker} (case {case}): “{card.question}”",
            f"Why it's here: {card.reason_label or CARD_REASONS.get(card.reason, card.reason)}",
            f"Owner: {card.owner_label or card.owner}",
            "Journey:",
            *("  " + line for line in card.journey_summary.splitlines()),
        ]
        later = [line for line in card.conversation[1:] if line.split(" ", 1)[0] in ("asker", "bot", "staff")][-6:]
        if later:
            lines.append("In the thread since:")
            lines += [f"  {line[:200]}" for line in later]
        if card.candidates:
            lines.append("Closest entries: " + "; ".join(
                f"{c.entry} ({c.score:.2f}) “{c.title[:60]}”" for c in card.candidates[:3]))
        else:
            lines.append("Closest entries: none")
        if card.suggested_entry:
            lines.append(f"Suggested answer ({card.suggested_entry}, score {card.suggested_score or 0:.2f}): "
                         f"{(card.suggested or '')[:300]}")
        lines.append(f"Reply to this card to answer: {card.reply_label or 'your reply goes to the asker'}.")
        return "\n".join(lines)
