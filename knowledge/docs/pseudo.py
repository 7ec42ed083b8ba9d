"""Questions a project's docs ask of themselves: (text, section) rows to adapt
the encoder to a docs folder without any labels.

Each documentation section gives a few texts that all stand for it: its
heading path and its own heading (what a member names), and each of its first
passages, whole and without their first sentence (what a member describes).
Two texts of one section make a positive pair; a section the encoder confuses
it with (usually a sibling on the same page) gives the hard negative. The rows
depend only on the sections' text and come in a fixed order, so the same docs
always give the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.docs.passages import split
from knowledge.entries import DOCS, LIVE, Entry

PASSAGES = 6  # a section's first passages used (its main point comes first)
MIN_CHARS = 20  # shorter texts name nothing
_SENTENCE = re.compile(r"(?<=[.!?:])\s+")
_SPACE = re.compile(r"\s+")


def section_texts(heading_path: str, answer: str) -> list[str]:
    """The texts that stand for one section, its heading path first."""
    own = [heading_path]
    last = heading_path.rsplit(" > ", 1)[-1]
    if last != heading_path:
        own.append(last)
    for passage in split(answer)[:PASSAGES]:
        body = _SPACE.sub(" ", passage).strip()
        if len(body) < MIN_CHARS:
            continue
        own.append(body)
        rest = _SENTENCE.split(body, 1)
        if len(rest) == 2 and len(rest[1]) >= MIN_CHARS:
            own.append(rest[1])
    return list(dict.fromkeys(own))


def pseudo_queries(entries: Iterable[Entry]) -> list[tuple[str, str]]:
    """(text, entry id) rows from the live documentation sections, by entry id."""
    rows: list[tuple[str, str]] = []
    for entry in sorted(entries, key=lambda e: e.id):
        if entry.kind != DOCS or entry.status != LIVE or not entry.section:
            continue
        rows.extend((text, entry.id) for text in section_texts(entry.title, entry.answer))
    return rows


__all__ = ["pseudo_queries", "section_texts"]
