"""Reading what people write: clean it, then recognise the few things that
change a case's course (thanks, not solved, a person please, a picked option).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Zero-width and bidi controls hide text from people but not from matching.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")


@dataclass(frozen=True, slots=True)
class Cleaned:
    text: str
    truncated: bool
    original_length: int


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable(text: str) -> str:
    """``text`` with every lone surrogate (valid in JSON, never in UTF-8, so it could
    never be stored or sent) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def clean(text: str, *, limit: int) -> Cleaned:
    """Printable, NFC-normalised text with invisible characters removed and
    whitespace tidied; cut at ``limit`` characters (on a word boundary)."""
    original = len(text)
    # A lone surrogate (valid JSON, invalid UTF-8) could never be stored or sent.
    text = text.encode("utf-8", "replace").decode("utf-8") if _SURROGATE.search(text) else text
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub(" ", _INVISIBLE.sub("", text))
    text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.splitlines())
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    truncated = len(text) > limit
    if truncated:
        cut = text[:limit]
        space = cut.rfind(" ", int(limit * 0.8))
        text = (cut[:space] if space > 0 else cut).rstrip() + " …"
    return Cleaned(text, truncated, original)


def neutralise_mentions(text: str) -> str:
    """Make mass and role mentions inert in anything the bot posts.

    Adapters also switch mention parsing off; this is the belt to their braces.
    """
    text = re.sub(r"@(everyone|here|channel)\b", "@\u200b\\1", text, flags=re.IGNORECASE)
    text = re.sub(r"<!(everyone|here|channel)(\|[^>]*)?>", "@\u200b\\1", text)
    text = re.sub(r"<!subteam\^[A-Z0-9]+(\|[^>]*)?>", "@\u200bgroup", text)
    return re.sub(r"<@&(\d+)>", "@\u200brole", text)


def _any(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_HUMAN = _any([
    r"\b(talk|speak|chat)\s+(to|with)\s+(a|an|some|any)?\s*(real\s+)?(human|person|people|someone|agent|staff|moderator|mod|admin|representative|rep)\b",
    r"\b(human|real person|live agent|actual person)\s*(please|pls|plz)?\s*[.!?]*$",
    r"\b(get|need|want)\s+(me\s+)?(a|an)\s+(real\s+)?(human|person|agent)\b",
    r"\bescalate\b",
    r"\b(connect|transfer)\s+me\s+(to|with)\b",
    r"\bare you (a )?(bot|robot|human)\b.*\b(person|human)\b",
    r"\bnot (a|the) bot\b",
])

_THANKS_SOLVED = _any([
    r"\b(that|this|it)\s+(worked|works|fixed it|did it|did the trick|solved it|helped)\b",
    r"\b(works|worked)\s+now\b",
    r"\b(problem|issue)\s+(is\s+)?(solved|fixed|resolved|gone)\b",
    r"\b(all\s+)?(sorted|fixed|solved)(\s+(it|now))?\s*[,.!]*\s*(thanks|thank you|thx|ty)?\b",
    r"^\s*(thanks|thank you|thx|ty|cheers)[\s,!.]*(so much|a lot|a ton)?[\s,!.]*(that|this|it)?\s*(worked|works|helped|did it)?[\s!.]*$",
    r"^\s*(great|perfect|awesome|brilliant),?\s+(thanks|thank you|thx)\b",
])

_NOT_SOLVED = _any([
    r"\b(didn'?t|did not|doesn'?t|does not|still (doesn'?t|does not|won'?t))\s+(work|help|fix|solve)",
    r"\bstill\s+(broken|failing|not working|the same|getting|happening|an issue|a problem|stuck)",
    r"\bnot\s+(solved|fixed|working|helpful)\b",
    r"\b(that|this)\s+(is\s+)?(wrong|incorrect|not (it|right|what i asked))\b",
    r"\bno(pe)?,?\s+(that'?s\s+)?not\s+(it|right)\b",
])

_NONE = re.compile(
    r"^\s*(none|neither|no|nope|none of (them|these|those)|other|something else)\b[\s.!]*$",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"^\s*(?:#|option\s*)?(\d{1,2})\s*[).!]?\s*$", re.IGNORECASE)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_ORDINAL = re.compile(r"^\s*(the\s+)?(first|second|third|fourth|fifth)(\s+one)?\b[\s.!]*$", re.IGNORECASE)
_YES = re.compile(r"^\s*(yes|yeah|yep|yup|correct|right|exactly|that'?s (it|right))\b[\s.!]*$", re.IGNORECASE)


_SOCIAL = _any([
    r"\b(thanks|thank you|thank u|thx|ty|cheers|kudos|legend|appreciated?|much love)\b",
    r"^\s*(hi|hello|hey|hiya|howdy|yo|good (morning|afternoon|evening|night)|gm|happy \w+day)\b",
    r"\b(happy (friday|monday|new year|holidays)|have a (great|nice|good) (day|weekend))\b",
    r"[\U0001F389\U0001F64F\U0001F44B\u2615\U0001F600-\U0001F64F]",
])
_ASKING = _any([
    r"\?", r"\b(how|why|what|where|when|which|who|whats|hows|is there|are there|can i|could i|should i|"
    r"do i|does it|is it|any (way|idea|tips?))\b",
    r"\b(error|errors|fail|fails|failed|failing|broken|crash\w*|stuck|exception|traceback|not working|"
    r"doesn'?t|does not|can'?t|cannot|won'?t|wont|isn'?t|issue|problem|bug|help)\b",
])


def is_social(text: str) -> bool:
    """Thanks, a greeting or community talk with no question or trouble in it:
    nothing the docs should be stretched to answer."""
    return bool(_SOCIAL.search(text)) and not _ASKING.search(text)


def asks_for_person(text: str) -> bool:
    return bool(_HUMAN.search(text))


def says_solved(text: str) -> bool:
    """"thanks, that worked": a short confirmation, not a new question."""
    if len(text) > 200 or "?" in text or says_not_solved(text):
        return False
    return bool(_THANKS_SOLVED.search(text))


def says_not_solved(text: str) -> bool:
    return len(text) <= 400 and bool(_NOT_SOLVED.search(text))


def picked_option(text: str, count: int) -> int | None:
    """The 1-based option picked, 0 for "none", ``None`` when it is not a pick
    ("yes" picks the one option offered alone, to confirm it)."""
    if _NONE.match(text):
        return 0
    if count == 1 and _YES.match(text):
        return 1
    match = _NUMBER.match(text)
    if match:
        number = int(match.group(1))
        return number if 1 <= number <= count else None
    match = _ORDINAL.match(text)
    if match:
        number = _ORDINALS[match.group(2).lower()]
        return number if number <= count else None
    return None


def is_only_thanks(text: str) -> bool:
    return bool(re.match(r"^\s*(thanks|thank you|thx|ty|cheers|ok|okay|great|cool)[\s,!.]*(again)?[\s!.]*$",
                         text, re.IGNORECASE))
