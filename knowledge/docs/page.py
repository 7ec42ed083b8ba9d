"""One docs page → its sections, with docs-site markup cleaned away.

A section is a heading plus the text up to the next heading of any level
(so a parent holds only its own intro); its path is every enclosing heading
from the page's top one down, as plain text. Cleaned: YAML front matter,
admonitions (``:::note``, ``!!! note``, ``??? note``, ``> [!NOTE]``), MkDocs
content tabs, MDX imports/exports and JSX components (an imported partial is
inlined where it is used), HTML comments and headings, attribute lists,
highlight comments and line annotations in code, link reference definitions.
Fenced code is kept as written otherwise, and a ``#`` line inside it is no
heading.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from knowledge.docs.expand import ATX, FENCE, expand
from knowledge.docs.inline import REF_DEF, clean_inline, heading_text
from knowledge.docs.sites import Anchors

logger = logging.getLogger(__name__)

SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")

@dataclass(frozen=True, slots=True)
class Section:
    """One heading's own text on a page."""

    path: tuple[str, ...]
    anchor: str
    level: int
    text: str


@dataclass(frozen=True, slots=True)
class Page:
    meta: dict[str, Any]
    sections: tuple[Section, ...]


Resolve = Callable[[str], str | None]
Partial = Callable[[str], str | None]


def front_matter(text: str) -> tuple[dict[str, Any], str]:
    """YAML front matter (``---`` … ``---`` at the very top) and the rest."""
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            try:
                meta = yaml.safe_load("\n".join(lines[1:number])) or {}
            except yaml.YAMLError:
                meta = {}
            return (meta if isinstance(meta, dict) else {}), "\n".join(lines[number + 1 :])
    return {}, text


def split_sections(lines: list[str], *, anchors: Anchors, resolve: Resolve,
                   title: str | None = None) -> list[Section]:
    """Sections of the expanded page. Text before the first heading belongs
    to the page title from front matter, when there is one."""
    refs = _link_definitions(lines)
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    anchor, level = "", 0
    body: list[str] = []
    fence_char: str | None = None
    previous = ""

    def flush() -> None:
        text = "\n".join(body).strip()
        body.clear()
        text = re.sub(r"\n{3,}", "\n\n", text)
        path = tuple(t for _, t in stack) or ((title,) if title else ())
        if path and text:
            sections.append(Section(path, anchor, level, text))

    for line in lines:
        if fence_char is None:
            opened = FENCE.match(line)
            if opened:
                fence_char = opened.group(2)[0] * 3
                body.append(line)
                previous = ""
                continue
        else:
            if line.strip().startswith(fence_char) and set(line.strip()) <= {fence_char[0]}:
                fence_char = None
            body.append(line)
            continue
        atx = ATX.match(line)
        setext = SETEXT.match(line)
        if setext and previous.strip() and body and not _is_list_or_table(previous) \
                and (setext.group(1)[0] == "=" or len(setext.group(1)) >= 2):
            body.pop()
            flush()
            _push(stack, 1 if setext.group(1)[0] == "=" else 2, previous)
            anchor, level = _anchor(anchors, previous), stack[-1][0]
            previous = ""
            continue
        if atx and atx.group(2) is not None and atx.group(2).strip("# "):
            flush()
            text, _ = heading_text(atx.group(2))
            _push(stack, len(atx.group(1)), atx.group(2))
            anchor, level = _anchor(anchors, atx.group(2)), len(atx.group(1))
            previous = ""
            if not text:
                stack.pop()
            continue
        body.append(clean_inline(line, resolve, refs) if line.strip() else line)
        previous = line
    flush()
    return sections


def _link_definitions(lines: list[str]) -> dict[str, str]:
    """The page's reference-style link definitions (``[label]: url``), outside code."""
    refs: dict[str, str] = {}
    fence = False
    for line in lines:
        if FENCE.match(line):
            fence = not fence
        elif not fence:
            ref = REF_DEF.match(line)
            if ref:
                refs[ref.group(1).strip().lower()] = ref.group(2)
    return refs


def _is_list_or_table(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(("- ", "* ", "+ ", "|", ">")) or bool(re.match(r"^\d+[.)]\s", stripped))


def _push(stack: list[tuple[int, str]], level: int, raw: str) -> None:
    while stack and stack[-1][0] >= level:
        stack.pop()
    stack.append((level, heading_text(raw)[0]))


def _anchor(anchors: Anchors, raw: str) -> str:
    text, explicit = heading_text(raw)
    return anchors.make(text, explicit)


def parse_page(text: str, *, site_kind: str, resolve: Resolve, partial: Partial | None = None) -> Page:
    """A page's front matter and sections."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    meta, rest = front_matter(text)
    title = meta.get("title") if isinstance(meta.get("title"), str) else None
    lines = expand(rest, partial=partial, unwrap=lambda inlined: front_matter(inlined)[1])
    sections = split_sections(lines, anchors=Anchors(site_kind), resolve=resolve, title=title)
    return Page(meta, tuple(sections))
