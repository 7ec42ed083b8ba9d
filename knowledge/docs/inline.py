"""Inline docs markup: headings as plain text, links made absolute, HTML and
site-specific leftovers removed. Code spans are never touched."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

CODE_SPAN = re.compile(r"(`+)(.+?)\1")
ATTR_LIST = re.compile(r"\s*\{\s*(?:[:#.]|[\w-]+=)[^{}\n]*\}")
EXPLICIT_ID = re.compile(r"\{\s*:?\s*#([\w:.-]+)[^{}\n]*\}")
LINK_TITLE = r"(?:\"[^\"]*\"|'[^']*'|\([^()]*\))"  # a title may hold the other quote
IMAGE = re.compile(rf"!\[([^\]]*)\]\(\s*<?([^)\s>]*)>?(?:\s+{LINK_TITLE})?\s*\)")
LINK = re.compile(rf"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+{LINK_TITLE})?\s*\)")
REF_LINK = re.compile(r"(?<!!)\[((?:[^\[\]]|\[[^\]]*\])+)\]\[([^\]]*)\]")
REF_DEF = re.compile(r"^\s{0,3}\[([^\]]+)\]:\s*<?(\S+?)>?(?:\s+[\"'(].*[\"')])?\s*$")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
ANCHOR_TAG = re.compile(r"<a\s[^>]*?\bhref\s*=\s*[\"']([^\"']*)[\"'][^>]*>(.*?)</a>", re.I | re.S)
NAMED_ANCHOR = re.compile(r"<a\s+(?:name|id)\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</a>", re.I)
IMG_TAG = re.compile(r"<img\b[^>]*>", re.I)
BREAK_TAG = re.compile(r"<br\s*/?>", re.I)
HTML_TAGS = (
    "a|abbr|b|big|blockquote|br|button|caption|center|cite|code|col|colgroup|dd|del|details|dfn|div|dl|dt|"
    "em|figcaption|figure|font|h[1-6]|hr|i|iframe|img|input|ins|kbd|label|li|mark|nav|ol|p|picture|pre|q|"
    "s|samp|section|small|source|span|strike|strong|sub|summary|sup|table|tbody|td|tfoot|th|thead|tr|tt|"
    "u|ul|var|video|audio|svg|path|center|main|article|aside|header|footer"
)
TAG = re.compile(rf"</?(?:{HTML_TAGS})\b[^<>]*?/?>", re.I)
JSX_TAG = re.compile(r"</?[A-Z][\w.]*(?:\s(?:[^<>{}]|\{[^{}]*\})*)?/?>")
EMPHASIS = (
    re.compile(r"(?<![\w*])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])"),
    re.compile(r"(?<![\w_])__(?=\S)(.+?)(?<=\S)__(?![\w_])"),
    re.compile(r"(?<![\w*])\*(?=[^\s*])(.+?)(?<=[^\s*])\*(?![\w*])"),
    re.compile(r"(?<![\w_])_(?=[^\s_])(.+?)(?<=[^\s_])_(?![\w_])"),
    re.compile(r"~~(?=\S)(.+?)(?<=\S)~~"),
)
ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
MKDOCS_ICON = re.compile(r":(?:material|fontawesome|octicons|simple)-[\w-]+:(?:\{[^}]*\})?")

Resolve = Callable[[str], str | None]


def outside_code(text: str, change: Callable[[str], str]) -> str:
    """Apply ``change`` to ``text`` with its code spans masked, so a link whose
    label is code (``[`KEY`](url)``) is still one link and code stays as written."""
    spans: list[str] = []

    def mask(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    masked = CODE_SPAN.sub(mask, text.replace("\x00", ""))
    return re.sub("\x00(\\d+)\x00", lambda m: spans[int(m.group(1))], change(masked))


def heading_text(raw: str) -> tuple[str, str | None]:
    """A heading as plain text (the docs-dev label rules), and its explicit id.

    Links keep their text; emphasis, code-span backticks, backslash escapes,
    HTML tags and attribute lists go; every other character stays as written.
    """
    explicit = None
    match = EXPLICIT_ID.search(raw)
    if match:
        explicit = match.group(1)
    named = NAMED_ANCHOR.search(raw)
    if named and explicit is None:
        explicit = named.group(1)
    text = re.sub(r"\s+#+\s*$", "", raw.strip())

    def plain(part: str) -> str:
        # Escaped characters are literal: keep them out of the emphasis rules.
        part = ESCAPE.sub(lambda m: f"\x02{ord(m.group(1))}\x03", part)
        part = ATTR_LIST.sub("", part)
        part = HTML_COMMENT.sub("", part)
        part = IMAGE.sub(lambda m: m.group(1), part)
        part = LINK.sub(lambda m: m.group(1), part)
        part = REF_LINK.sub(lambda m: m.group(1), part)
        part = ANCHOR_TAG.sub(lambda m: m.group(2), part)
        part = TAG.sub("", part)
        part = JSX_TAG.sub("", part)
        part = MKDOCS_ICON.sub("", part)
        for pattern in EMPHASIS:
            part = pattern.sub(lambda m: m.group(1), part)
        part = re.sub("\x02(\\d+)\x03", lambda m: chr(int(m.group(1))), part)
        return html.unescape(part)

    pieces, last = [], 0
    for code in CODE_SPAN.finditer(text):
        pieces.append(plain(text[last : code.start()]))
        pieces.append(code.group(2).strip() if code.group(2).strip() else code.group(2))
        last = code.end()
    pieces.append(plain(text[last:]))
    return " ".join("".join(pieces).split()), explicit


def clean_inline(text: str, resolve: Resolve, refs: dict[str, str]) -> str:
    """One line of body text: links and images absolute (or reduced to their
    text when no absolute address can be made), HTML and attribute lists
    removed, entities and escapes decoded. Code spans are left as written."""

    def link(match: re.Match[str]) -> str:
        label, target = match.group(1), match.group(2)
        url = resolve(target) if target else None
        return f"[{label}]({url})" if url else label

    def image(match: re.Match[str]) -> str:
        url = resolve(match.group(2)) if match.group(2) else None
        return f"![{match.group(1)}]({url})" if url else ""

    def ref(match: re.Match[str]) -> str:
        label, key = match.group(1), (match.group(2) or match.group(1))
        target = refs.get(key.strip().lower())
        if target is None:
            return match.group(0)
        url = resolve(target)
        return f"[{label}]({url})" if url else label

    def anchor_tag(match: re.Match[str]) -> str:
        url = resolve(match.group(1)) if match.group(1) else None
        inner = TAG.sub("", match.group(2)).strip()
        return f"[{inner}]({url})" if url and inner else inner

    def img_tag(match: re.Match[str]) -> str:
        alt = re.search(r"\balt\s*=\s*[\"']([^\"']*)[\"']", match.group(0), re.I)
        src = re.search(r"\bsrc\s*=\s*[\"']([^\"']*)[\"']", match.group(0), re.I)
        url = resolve(src.group(1)) if src else None
        return f"![{alt.group(1) if alt else ''}]({url})" if url else ""

    def change(part: str) -> str:
        part = ATTR_LIST.sub("", part)
        part = MKDOCS_ICON.sub("", part)
        part = BREAK_TAG.sub(" ", part)
        part = ANCHOR_TAG.sub(anchor_tag, part)
        part = IMG_TAG.sub(img_tag, part)
        part = NAMED_ANCHOR.sub("", part)
        part = TAG.sub("", part)
        part = JSX_TAG.sub("", part)
        part = IMAGE.sub(image, part)
        part = LINK.sub(link, part)
        part = REF_LINK.sub(ref, part)
        part = ESCAPE.sub(lambda m: m.group(1), part)
        return html.unescape(part)

    return outside_code(text, change)
