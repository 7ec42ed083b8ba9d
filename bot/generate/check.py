"""Is a model's output fit to send? Checked before anyone sees it.

An answer must cite its sources by number, cite only numbers it was given,
link only to addresses its sources contain, and make no commitment (refund, compensation, date, price, legal) unless a
cited source is tagged ``policy``. A recap must keep its five parts, every
error code it was given, and make no commitment at all. Anything else is
rejected with a short reason, and the caller falls back to words that need
no model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.text import neutralise_mentions
from bot.trust.promises import find_commitments
from bot.trust.redact import redact
from knowledge.entries import Entry

NO_ANSWER = "NO_ANSWER"
MAX_OUTPUT_CHARS = 4000
RECAP_PARTS = ("goal:", "stages:", "errors met:", "current state:", "next step:")

_CITATION = re.compile(r"\[(\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*)\]")
_URL = re.compile(r"https?://[^\s<>()\[\]\"']+")
_ERROR_TOKEN = re.compile(r"\b(?:\d{3,}|[A-Za-z_]*(?:Error|Exception))\b")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The checked output (``text``), or why it was refused (``reason``).

    ``cited`` are the 1-based source numbers the text cites; ``promised``
    the kinds of unbacked commitment that refused it.
    """

    text: str | None
    reason: str | None = None
    cited: tuple[int, ...] = ()
    promised: tuple[str, ...] = ()


def citations(text: str) -> tuple[int, ...]:
    """Source numbers cited as ``[1]`` or ``[1, 2]``, each once, in number order."""
    return tuple(sorted({int(part) for match in _CITATION.finditer(text)
                         for part in match.group(1).split(",")}))


def _tidy(raw: str) -> str:
    """Inert mentions, and nothing redactable even if the model made it up."""
    return neutralise_mentions(redact(raw.strip()).text)


def check_answer(raw: str | None, sources: Sequence[Entry]) -> Verdict:
    """Accept a grounded answer, or say why not."""
    if raw is None or not raw.strip():
        return Verdict(None, "empty")
    text = raw.strip()
    if text.upper().startswith(NO_ANSWER) or text.upper().endswith(NO_ANSWER):
        return Verdict(None, "no_answer")
    if len(text) > MAX_OUTPUT_CHARS:
        return Verdict(None, "too_long")
    cited = citations(text)
    if not cited:
        return Verdict(None, "uncited")
    if any(n < 1 or n > len(sources) for n in cited):
        return Verdict(None, "unknown_citation", cited)
    known = "\n".join(f"{e.url or ''}\n{e.answer}" for e in sources)
    if any(url.rstrip(".,;:!?") not in known for url in _URL.findall(text)):
        return Verdict(None, "unknown_link", cited)
    commitments = find_commitments(text)
    backed = any(sources[n - 1].is_policy for n in cited)
    if commitments and not backed:
        kinds = tuple(sorted({c.kind for c in commitments}))
        return Verdict(None, "promise", cited, kinds)
    return Verdict(_tidy(text), None, cited)


def check_recap(raw: str | None, errors: Sequence[str]) -> Verdict:
    """Accept a recap that keeps its shape and the codes of ``errors`` (what the
    person told us went wrong), and promises nothing."""
    if raw is None or not raw.strip():
        return Verdict(None, "empty")
    text = raw.strip()
    if len(text) > MAX_OUTPUT_CHARS:
        return Verdict(None, "too_long")
    lowered = text.casefold()
    if not all(part in lowered for part in RECAP_PARTS):
        return Verdict(None, "incomplete")
    missing = {t for e in errors for t in _ERROR_TOKEN.findall(e) if t not in text}
    if missing:
        return Verdict(None, "errors_left_out")
    if _ABOUT_THEM.search(text):  # a recap is said to the member, not written about them
        return Verdict(None, "third_person")
    commitments = find_commitments(text)
    if commitments:
        return Verdict(None, "promise", promised=tuple(sorted({c.kind for c in commitments})))
    return Verdict(_tidy(text))


_ABOUT_THEM = re.compile(r"\b(the (member|user|asker|customer)|their (goal|setup|question|issue|problem)|"
                         r"(we|I) told (them|him|her))\b", re.IGNORECASE)
