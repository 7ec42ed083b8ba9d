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

from knowledge.docs.inline import HTML_COMMENT, REF_DEF, clean_inline, heading_text
from knowledge.docs.sites import Anchors

logger = logging.getLogger(__name__)

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s{]*)?(.*)$")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*$")
SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
HTML_HEADING = re.compile(r"^\s*<h([1-6])\b([^>]*)>(.*?)</h\1>\s*$", re.I | re.S)
HTML_ID = re.compile(r"\bid\s*=\s*[\"']([^\"']+)[\"']")
COLON_ADMONITION = re.compile(r"^\s*(:{3,})\s*([\w-]+)?(?:\[(.*?)\])?\s*(.*?)\s*$")
COLON_CLOSE = re.compile(r"^\s*:{3,}\s*$")
BANG_ADMONITION = re.compile(r"^(\s*)(?:!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+[\w-]+)*(?:\s+\"(.*?)\")?\s*$")
TAB = re.compile(r"^(\s*)===\+?\s+\"(.*?)\"\s*$")
GITHUB_ALERT = re.compile(r"^(\s*>\s*)\[!(\w+)\]\s*$")
IMPORT = re.compile(r"^import\s+(?:(\w+)|\{[^}]*\}|\*\s+as\s+\w+)(?:\s*,\s*\{[^}]*\})?\s+from\s+[\"']([^\"']+)[\"'];?\s*$")
BARE_IMPORT = re.compile(r"^import\s+[\"'][^\"']+[\"'];?\s*$")
EXPORT = re.compile(r"^export\s+(?:default\s+|const\s+|function\s+|let\s+)")
JSX_LINE = re.compile(r"^\s*(?:</?[A-Z][\w.]*(?:\s(?:[^<>{}]|\{[^{}]*\})*)?/?>\s*)+$")
JSX_SELF = re.compile(r"<([A-Z][\w.]*)\b[^<>]*/>")
TAB_ITEM_LABEL = re.compile(r"<TabItem\b[^>]*\blabel\s*=\s*[\"{]\"?([^\"}]+)\"?[\"}]")
HTML_BLOCK_LINE = re.compile(r"^\s*</?(?:div|details|summary|p|center|section|figure|span|table|tr|td|th|tbody|thead)"
                             r"\b[^<>]*>\s*$", re.I)
SUMMARY = re.compile(r"<summary>(.*?)</summary>", re.I | re.S)
HIGHLIGHT = re.compile(r"^\s*(?://|#|--|;|/\*|<!--|\{/\*)\s*highlight-(?:next-line|start|end)\b.*$")
ANNOTATION = re.compile(r"\s*(?:#|//|--)\s*\(\d+\)!?\s*$")
SNIPPET = re.compile(r"^\s*-{2}8<-{2}")
ABBREVIATION = re.compile(r"^\*\[[^\]]+\]:")
TITLE_WORDS = {"note": "Note", "tip": "Tip", "info": "Info", "warning": "Warning", "danger": "Danger",
               "caution": "Caution", "important": "Important", "example": "Example", "abstract": "Summary",
               "summary": "Summary", "question": "Question", "bug": "Bug", "failure": "Failure",
               "success": "Success", "quote": "Quote", "hint": "Hint", "attention": "Attention",
               "error": "Error", "todo": "To do", "seealso": "See also", "details": "Details"}


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


def _title(kind: str | None, title: str | None) -> str:
    """An admonition's heading as a plain line ending in a colon: ``Warning (Back up first):``."""
    word = TITLE_WORDS.get((kind or "").lower(), (kind or "").replace("-", " ").capitalize())
    title = (title or "").strip().strip('"')
    if title and word and title.lower() != word.lower():
        return f"{word} ({title}):"
    return f"{title or word}:" if (title or word) else ""


def expand(text: str, *, partial: Partial | None = None, depth: int = 0) -> list[str]:
    """The page's lines with block-level docs markup turned into plain
    Markdown. Headings are kept as ``#`` lines (HTML headings become ``#``
    lines carrying their id as ``{#id}``); code fences stay."""
    components: dict[str, str] = {}
    out: list[str] = []
    fence: tuple[str, int, int] | None = None  # char, length, indent removed
    indents: list[int] = []  # open indented blocks (MkDocs admonitions, tabs): their body indent
    colons = 0
    titled = -1  # the output length just after an admonition title
    comment = False
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip("\r")
        i += 1
        # Indented blocks end at the first non-blank line indented less than their body.
        if line.strip() and not fence:
            width = len(line) - len(line.lstrip())
            while indents and width < indents[-1]:
                indents.pop()
        cut = indents[-1] if indents else 0
        body = line[cut:] if line[:cut].strip() == "" else line.lstrip()
        if fence is not None:
            char, length, _ = fence
            stripped = body.strip()
            if stripped.startswith(char * length) and set(stripped) == {char}:
                out.append(body.rstrip())
                fence = None
                continue
            if HIGHLIGHT.match(body):
                continue
            out.append(ANNOTATION.sub("", body))
            continue
        if comment:
            if "-->" in body:
                comment = False
                body = body.split("-->", 1)[1]
                if not body.strip():
                    continue
            else:
                continue
        match = FENCE.match(body)
        if match:
            fence = (match.group(2)[0], len(match.group(2)), cut)
            language = match.group(3) or ""
            out.append(f"{match.group(1)}{match.group(2)}{language}")
            continue
        body = HTML_COMMENT.sub("", body)
        if "<!--" in body:
            body, comment = body.split("<!--", 1)[0], True
            if not body.strip():
                continue
        stripped = body.strip()
        if not stripped:
            if titled != len(out):
                out.append("")  # an admonition's title runs into its first line
            continue
        if depth == 0 and (IMPORT.match(stripped) or BARE_IMPORT.match(stripped)):
            imported = IMPORT.match(stripped)
            if imported and imported.group(1):
                components[imported.group(1)] = imported.group(2).replace("\\_", "_")
            continue
        if EXPORT.match(stripped) or SNIPPET.match(stripped) or ABBREVIATION.match(stripped):
            continue
        if REF_DEF.match(body) and not ATX.match(body):
            continue
        admonition = BANG_ADMONITION.match(body)
        if admonition:
            out.append(_title(admonition.group(2), admonition.group(3)))
            titled = len(out)
            indents.append(cut + len(admonition.group(1)) + 4)
            continue
        tab = TAB.match(body)
        if tab:
            out.append(f"{tab.group(2)}:")
            indents.append(cut + len(tab.group(1)) + 4)
            continue
        if COLON_CLOSE.match(body) and colons:
            colons -= 1
            out.append("")
            continue
        opened = COLON_ADMONITION.match(body)
        if opened and opened.group(2):
            colons += 1
            out.append(_title(opened.group(2), opened.group(3) or opened.group(4)))
            titled = len(out)
            continue
        alert = GITHUB_ALERT.match(body)
        if alert:
            out.append(f"{alert.group(1)}{_title(alert.group(2), None)}")
            continue
        heading = HTML_HEADING.match(body)
        if heading:
            ident = HTML_ID.search(heading.group(2))
            suffix = f" {{#{ident.group(1)}}}" if ident else ""
            out.append(f"{'#' * int(heading.group(1))} {heading.group(3).strip()}{suffix}")
            continue
        if JSX_LINE.match(body):
            label = TAB_ITEM_LABEL.search(body)
            if label:
                out.append(f"{label.group(1).strip()}:")
            for name in JSX_SELF.findall(body):
                source = components.get(name)
                inlined = partial(source) if (partial and source and depth < 3) else None
                if inlined is not None:
                    out.extend(expand(front_matter(inlined)[1], partial=partial, depth=depth + 1))
            continue
        summary = SUMMARY.search(body)
        if summary:
            out.append(f"{summary.group(1).strip()}:")
            continue
        if HTML_BLOCK_LINE.match(body):
            continue
        out.append(body.rstrip())
    return out


def split_sections(lines: list[str], *, anchors: Anchors, resolve: Resolve,
                   title: str | None = None) -> list[Section]:
    """Sections of the expanded page. Text before the first heading belongs
    to the page title from front matter, when there is one."""
    refs: dict[str, str] = {}
    fence = False
    for line in lines:
        if FENCE.match(line):
            fence = not fence
        elif not fence:
            ref = REF_DEF.match(line)
            if ref:
                refs[ref.group(1).strip().lower()] = ref.group(2)
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
    lines = expand(rest, partial=partial)
    sections = split_sections(lines, anchors=Anchors(site_kind), resolve=resolve, title=title)
    return Page(meta, tuple(sections))
