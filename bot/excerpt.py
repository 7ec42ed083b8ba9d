"""The part of a documentation passage an answer quotes: whole sentences or a
whole code block, about ``QUOTE_CHARS`` at most, in plain chat Markdown
(links absolute, images dropped). Pure text work, no I/O."""

from __future__ import annotations

import re

from knowledge.docs.passages import FENCE, blocks

QUOTE_CHARS = 700
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=\S)")


def _cut_code(block: str, limit: int) -> str:
    lines = block.split("\n")
    opened = FENCE.match(lines[0])
    fence = opened.group(1) if opened else lines[0].strip()[:3]  # as long as it opened: ```` needs ````
    kept: list[str] = [lines[0]]
    for line in lines[1:-1]:
        if len("\n".join([*kept, line])) + 1 + len(fence) > limit:
            break
        kept.append(line)
    return "\n".join([*kept, fence])


def _cut_prose(block: str, limit: int) -> str:
    pieces = _SENTENCE_END.split(block)
    kept = ""
    for piece in pieces:
        candidate = f"{kept} {piece}" if kept else piece
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept
    cut = block[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip() + "…"


_STRUCTURE = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|\||>|#)")


def _joins(previous: str, line: str) -> bool:
    if _STRUCTURE.match(line) or previous.endswith(("  ", ":")) or not line.strip():
        return False
    if _STRUCTURE.match(previous):
        return line.startswith(" ")  # a list item's wrapped continuation
    return True


def _unwrap(block: str) -> str:
    """Docs wrap prose at 70-80 columns; chat shows every newline. Join a
    paragraph's lines, but keep lists, tables and quotes line by line."""
    if FENCE.match(block.split("\n", 1)[0]):
        return block
    out: list[str] = []
    for line in block.split("\n"):
        if out and _joins(out[-1], line):
            out[-1] = f"{out[-1].rstrip()} {line.strip()}"
        else:
            out.append(line.rstrip())
    return "\n".join(out)


def excerpt(passage: str, limit: int = QUOTE_CHARS) -> str:
    """The first blocks of ``passage`` that fit in ``limit`` characters; a block
    that does not fit is cut at a sentence (prose) or a line (code) boundary,
    and a cut code block keeps its closing fence."""
    text = _IMAGE.sub("", passage)
    quoted = [_unwrap(b) for b in blocks(text, join_intros=False, quoting=True)]
    out: list[str] = []
    used = 0
    for block in quoted:
        block = block.rstrip()
        extra = len(block) + (2 if out else 0)
        if used + extra <= limit:
            out.append(block)
            used += extra
            continue
        room = limit - used - (2 if out else 0)
        if room >= 120 or not out:
            is_code = bool(FENCE.match(block.split("\n", 1)[0]))
            out.append(_cut_code(block, room) if is_code else _cut_prose(block, room))
        break
    if out and out[-1].rstrip().endswith(":") and len(out) > 1 and not FENCE.match(out[-1]):
        out.pop()  # an introduction whose code did not fit says nothing on its own
    return "\n\n".join(out).strip()
