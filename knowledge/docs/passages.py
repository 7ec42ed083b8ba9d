"""A section's text in passages: the units retrieval searches and answers quote.

Blocks (paragraphs, lists, tables, fenced code with the sentence that
introduces it) are packed in order up to ``TARGET`` characters; a block
longer than ``LIMIT`` is cut at sentence (or, in code, line) boundaries. A
passage never crosses its section, and the same text always gives the same
passages, so re-importing an unchanged section changes nothing.
"""

from __future__ import annotations

import re

from knowledge.entries import Entry

TARGET = 600
LIMIT = 900
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(\[])")
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")


def _closes(line: str, fence: str) -> bool:
    """Whether ``line`` closes a block opened by ``fence``: that fence character
    alone, at least as many times. A line like "```python" inside a "```"
    block is code, not the block's end."""
    bare = line.strip()
    return bare.startswith(fence) and set(bare) <= {fence[0]}


def _as_written(text: str) -> str:
    return text


def blocks(text: str, *, join_intros: bool = True, quoting: bool = False) -> list[str]:
    """Paragraph-level blocks; a code fence (blank lines and all) is one block.

    ``join_intros``: a paragraph ending in ``:`` is joined to the fence just
    after it (a passage keeps code with the sentence that introduces it).
    ``quoting``: blocks to quote in chat Markdown: each kept as written (not
    stripped, so a nested list item keeps its indent), and a fence the text
    leaves open is closed."""
    tidy = _as_written if quoting else str.strip
    out: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opened = FENCE.match(line)
        if fence is not None:
            current.append(line)
            if _closes(line, fence):
                fence = None
                out.append("\n".join(current))
                current = []
            continue
        if opened:
            lead = tidy("\n".join(current))
            current = []
            if lead and not (join_intros and lead.endswith(":")):
                out.append(lead)
                lead = ""
            if (join_intros and not lead and out and out[-1].rstrip().endswith(":")
                    and not FENCE.match(out[-1])):
                lead = out.pop()
            current = [lead] if lead else []
            current.append(line)
            fence = opened.group(1)[0] * len(opened.group(1))
            continue
        if line.strip():
            current.append(line)
        elif current:
            out.append(tidy("\n".join(current)))
            current = []
    if current:
        if fence is not None and quoting:
            current.append(fence)
        out.append(tidy("\n".join(current)))
    return [b for b in out if b.strip()]


def _cut(block: str) -> list[str]:
    """A block longer than ``LIMIT`` in pieces of at most ``LIMIT``."""
    if len(block) <= LIMIT:
        return [block]
    code = bool(FENCE.match(block.split("\n", 1)[0])) or "\n```" in block
    units = block.split("\n") if code else _SENTENCE_END.split(block)
    glue = "\n" if code else " "
    pieces: list[str] = []
    current = ""
    for unit in units:
        while len(unit) > LIMIT:  # one enormous line or sentence
            if current:
                pieces.append(current)
                current = ""
            pieces.append(unit[:LIMIT])
            unit = unit[LIMIT:]
        if current and len(current) + len(glue) + len(unit) > TARGET:
            pieces.append(current)
            current = unit
        else:
            current = f"{current}{glue}{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces


def split(text: str) -> list[str]:
    """The passages of one section's text, in order."""
    passages: list[str] = []
    current = ""
    for block in blocks(text):
        for piece in _cut(block):
            if current and len(current) + 2 + len(piece) > TARGET:
                passages.append(current)
                current = piece
            else:
                current = f"{current}\n\n{piece}" if current else piece
    if current:
        passages.append(current)
    return passages


def search_text(heading_path: str, passage: str) -> str:
    """What is embedded and indexed for a passage: its heading path travels with it."""
    return f"{heading_path}\n{passage}"


def passage_texts(entry: Entry) -> list[str]:
    """The searchable passages of an entry: a documentation section's, else none."""
    if entry.section is None or entry.status == "retired":
        return []
    return [search_text(entry.title, p) for p in split(entry.answer)]
