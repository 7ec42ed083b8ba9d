"""What staff write that is not knowledge.

A staff reply on a card goes to the asker and, as a rule, becomes knowledge.
Two kinds do not: a reply sent with the prefix ``noteach:`` (staff decide:
"this is for this person only"), and a reply that is *only* social — thanks,
laughter, a greeting, or a redirect to another channel ("Ha, that is one for
#off-topic"). Both are relayed; neither is learned.

The social detector is conservative on purpose: a reply counts as social only
when every clause of it is, and it is short and links nowhere. One clause
with substance ("Thanks! Go to Settings → API") and it is taught as before:
wrongly teaching banter is a nuisance staff can see on the card, while
wrongly dropping an answer would lose knowledge silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

WhyNot = Literal["noteach", "social"]

NO_TEACH_PREFIX = "noteach:"
_NO_TEACH = re.compile(r"^\s*no[ -]?teach\s*:\s*", re.IGNORECASE)

_LAUGH = r"(?:a?(?:ha){1,6}h?|hah|heh(?:eh)*|hehe+|lol+|lmao|rofl|xd)"
_THANKS = (r"(?:thanks?|thank you|thx|ty|cheers|much appreciated|appreciate it|kudos)"
           r"(?: (?:a lot|so much|very much|a ton|again|for (?:asking|the (?:question|report|heads up|feedback|"
           r"kind words)|letting us know|reaching out|your patience|flagging)))?")
_ACK = (r"(?:no problem|no worries|np|you'?re (?:very )?welcome|any ?time|glad (?:it|that|this|I could) "
        r"help(?:s|ed)?|happy to help|my pleasure|ok(?:ay)?|cool|great|nice|awesome|sure|sounds good|will do|"
        r"got it|noted|welcome|hi|hey|hello|good (?:morning|afternoon|evening)|have a (?:good|great|nice) "
        r"(?:day|one|weekend)|good (?:one|catch|question)|great (?:one|catch|question)|nice (?:one|catch))")
_SOCIAL_WORD = f"(?:{_LAUGH}|{_THANKS}|{_ACK})"
# One or more social phrases, perhaps a name after them ("thanks Ann", "cheers all").
_SOCIAL_CLAUSE = re.compile(rf"{_SOCIAL_WORD}(?: {_SOCIAL_WORD})*(?: \w+)?", re.IGNORECASE)

_CHANNEL = r"(?:#[\w-]+|<#\d+(?:\|[\w-]*)?>|the [\w-]+ channel)"
_REDIRECT = re.compile(
    rf"^(?:(?:this|that|it|this one|that one)(?: is|'s)? )?(?:(?:please|pls) )?"
    rf"(?:(?:one|a question|more|better|best|something) (?:for|in|suited (?:for|to)) {_CHANNEL}|"
    rf"(?:ask|post|try|share|move|take|put|drop) (?:it |this |that |your question )?(?:in|on|to|over in) {_CHANNEL}|"
    rf"(?:try|see|head (?:over )?to|over (?:in|at|to)|belongs in|for) {_CHANNEL}|"
    rf"wrong channel(?:,? (?:try|see|ask in|use) {_CHANNEL})?|off[- ]topic(?: for {_CHANNEL})?)$",
    re.IGNORECASE,
)
_CLAUSES = re.compile(r"[.!?;,:…]+\s*|\s+-\s+|\n+")
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\ufe0f]|:[)(dDpP]|;\\)|:-[)(dDpP]")
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
MAX_SOCIAL_WORDS = 25


@dataclass(frozen=True, slots=True)
class StaffReply:
    """A staff reply as it is relayed (``text``), and whether it is taught."""

    text: str
    learn: bool
    why_not: WhyNot | None = None


def read_staff_reply(text: str) -> StaffReply:
    """What to relay of ``text`` and whether it becomes knowledge."""
    prefixed = _NO_TEACH.match(text)
    if prefixed:
        return StaffReply(text[prefixed.end():].strip(), False, "noteach")
    if is_only_social(text):
        return StaffReply(text, False, "social")
    return StaffReply(text, True)


def is_only_social(text: str) -> bool:
    """Thanks, laughter, greetings and redirects, and nothing else."""
    if _URL.search(text) or len(text.split()) > MAX_SOCIAL_WORDS:
        return False
    plain = _EMOJI.sub(" ", text)
    clauses = [" ".join(c.split()) for c in _CLAUSES.split(plain)]
    clauses = [c.strip("'\"“”()[]* ") for c in clauses if c.strip("'\"“”()[]* ")]
    if not clauses:
        return bool(text.strip())  # emoji only
    return all(_SOCIAL_CLAUSE.fullmatch(c) or _REDIRECT.match(c) for c in clauses)
