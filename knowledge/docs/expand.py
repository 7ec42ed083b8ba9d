"""A docs page's block-level markup turned into plain Markdown lines.

Admonitions (``:::note``, ``!!! note``, ``??? note``, ``> [!NOTE]``) and
MkDocs content tabs become a title line ending in a colon that runs into
their text; MDX imports and exports go, and a JSX component that stands on
its own line goes too, except for the words it shows (a tab's ``label``, an
FAQ item's ``question``, a ``title``), which stay as a line of text; an
imported partial is inlined where it is used. HTML comments and block tags
go; HTML headings (also written over several lines, as GitHub READMEs do)
become ``#`` lines carrying their id as ``{#id}``. Code fences stay, without
highlight comments and line annotations.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from knowledge.docs.inline import HTML_COMMENT, REF_DEF

FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s{]*)?(.*)$")
ATX = re.compile(r"^ {0,3}(#{1,6})(?:\s+(.*?))?\s*$")
HTML_HEADING = re.compile(r"^\s*<h([1-6])\b([^>]*)>(.*?)</h\1>\s*$", re.I | re.S)
HTML_HEADING_OPEN = re.compile(r"^\s*<h([1-6])\b[^>]*>?", re.I)
HTML_HEADING_LINES = 6  # an HTML heading spread over more lines than this is not one
HTML_ID = re.compile(r"\b(?:id|name)\s*=\s*[\"']([^\"']+)[\"']")
COLON_ADMONITION = re.compile(r"^\s*(:{3,})\s*([\w-]+)?(?:\[(.*?)\])?\s*(.*?)\s*$")
COLON_CLOSE = re.compile(r"^\s*:{3,}\s*$")
BANG_ADMONITION = re.compile(r"^(\s*)(?:!!!|\?\?\?\+?)\s+([\w-]+)(?:\s+[\w-]+)*(?:\s+\"(.*?)\")?\s*$")
TAB = re.compile(r"^(\s*)===\+?\s+\"(.*?)\"\s*$")
GITHUB_ALERT = re.compile(r"^(\s*>\s*)\[!(\w+)\]\s*$")
IMPORT = re.compile(r"^import\s+(?:(\w+)|\{[^}]*\}|\*\s+as\s+\w+)(?:\s*,\s*\{[^}]*\})?\s+from\s+[\"']([^\"']+)[\"'];?\s*$")
BARE_IMPORT = re.compile(r"^import\s+[\"'][^\"']+[\"'];?\s*$")
EXPORT = re.compile(r"^export\s+(?:default\s+|const\s+|function\s+|let\s+)")
_ATTRS = r"(?:\"[^\"]*\"|'[^']*'|\{[^{}]*\}|[^<>{}\"'])*"  # quoted values may hold < and >
JSX_LINE = re.compile(rf"^\s*(?:</?[A-Z][\w.]*(?:\s{_ATTRS})?/?>\s*)+$")
JSX_SELF = re.compile(r"<([A-Z][\w.]*)\b[^<>]*/>")
# The words a component shows: a tab's label, an FAQ item's question, a title.
JSX_TEXT = re.compile(r"<[A-Z][\w.]*\s(?:\"[^\"]*\"|'[^']*'|\{[^{}]*\}|[^<>{}\"'])*?"
                      r"\b(?:label|question|title|summary|heading)\s*=\s*"
                      r"(?:\"([^\"]+)\"|'([^']+)'|\{\s*[\"'`]([^\"'`]+)[\"'`]\s*\})")
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

Partial = Callable[[str], str | None]
Unwrap = Callable[[str], str]  # a partial's text without its front matter


def title_line(kind: str | None, title: str | None) -> str:
    """An admonition's heading as a plain line ending in a colon: ``Warning (Back up first):``."""
    word = TITLE_WORDS.get((kind or "").lower(), (kind or "").replace("-", " ").capitalize())
    title = (title or "").strip().strip('"')
    if title and word and title.lower() != word.lower():
        return f"{word} ({title}):"
    return f"{title or word}:" if (title or word) else ""


def expand(text: str, *, partial: Partial | None = None, unwrap: Unwrap = lambda t: t,
           depth: int = 0) -> list[str]:
    """The page's lines with block-level docs markup turned into plain
    Markdown. Headings are kept as ``#`` lines (HTML headings become ``#``
    lines carrying their id as ``{#id}``); code fences stay."""
    expander = _Expander(partial, unwrap, depth)
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        i = expander.feed(lines, i)
    return expander.out


class _Expander:
    """The state of one page's expansion: open fences, indented blocks,
    ``:::`` admonitions, an HTML comment, the components it imported."""

    def __init__(self, partial: Partial | None, unwrap: Unwrap, depth: int) -> None:
        self.partial, self.unwrap, self.depth = partial, unwrap, depth
        self.out: list[str] = []
        self.components: dict[str, str] = {}
        self.fence: tuple[str, int] | None = None  # char, length
        self.indents: list[int] = []  # open indented blocks (MkDocs admonitions, tabs): their body indent
        self.colons = 0
        self.titled = -1  # the output length just after an admonition title
        self.comment = False

    def feed(self, lines: list[str], i: int) -> int:
        """Take line ``i`` (and any it spans); the index of the next line."""
        line = lines[i].rstrip("\r")
        body = self._unindent(line)
        if self.fence is not None:
            self._in_fence(body)
            return i + 1
        if self.comment:
            rest = self._after_comment(body)
            if rest is None:
                return i + 1
            body = rest
        opened = FENCE.match(body)
        if opened:
            self.fence = (opened.group(2)[0], len(opened.group(2)))
            self.out.append(f"{opened.group(1)}{opened.group(2)}{opened.group(3) or ''}")
            return i + 1
        body = HTML_COMMENT.sub("", body)
        if "<!--" in body:
            body, self.comment = body.split("<!--", 1)[0], True
            if not body.strip():
                return i + 1
        if not body.strip():
            if self.titled != len(self.out):
                self.out.append("")  # an admonition's title runs into its first line
            return i + 1
        heading, after = self._html_heading(lines, i, body)
        if heading is not None:
            self.out.append(heading)
            return after
        if not (self._dropped(body) or self._block(body) or self._component(body)):
            self.out.append(body.rstrip())
        return i + 1

    def _unindent(self, line: str) -> str:
        """Indented blocks end at the first non-blank line indented less than their body."""
        if line.strip() and not self.fence:
            width = len(line) - len(line.lstrip())
            while self.indents and width < self.indents[-1]:
                self.indents.pop()
        cut = self.indents[-1] if self.indents else 0
        return line[cut:] if line[:cut].strip() == "" else line.lstrip()

    def _in_fence(self, body: str) -> None:
        assert self.fence is not None
        char, length = self.fence
        stripped = body.strip()
        if stripped.startswith(char * length) and set(stripped) == {char}:
            self.out.append(body.rstrip())
            self.fence = None
        elif not HIGHLIGHT.match(body):
            self.out.append(ANNOTATION.sub("", body))

    def _after_comment(self, body: str) -> str | None:
        if "-->" not in body:
            return None
        self.comment = False
        rest = body.split("-->", 1)[1]
        return rest if rest.strip() else None

    def _html_heading(self, lines: list[str], i: int, body: str) -> tuple[str | None, int]:
        """``<h3 id="x">Title</h3>`` as ``### Title {#x}``, also when the tag,
        its text and its end stand on lines of their own."""
        if not HTML_HEADING_OPEN.match(body):
            return None, i
        text, end = body, i
        while not HTML_HEADING.match(text) and end + 1 < len(lines) and end - i < HTML_HEADING_LINES:
            end += 1
            text = f"{text} {lines[end].strip()}"
        heading = HTML_HEADING.match(text)
        if heading is None:
            return None, i
        ident = HTML_ID.search(heading.group(2))
        suffix = f" {{#{ident.group(1)}}}" if ident else ""
        words = " ".join(heading.group(3).split())
        return f"{'#' * int(heading.group(1))} {words}{suffix}", end + 1

    def _dropped(self, body: str) -> bool:
        """Imports, exports, snippets, abbreviations and link definitions say nothing to a reader."""
        stripped = body.strip()
        if self.depth == 0 and (IMPORT.match(stripped) or BARE_IMPORT.match(stripped)):
            imported = IMPORT.match(stripped)
            if imported and imported.group(1):
                self.components[imported.group(1)] = imported.group(2).replace("\\_", "_")
            return True
        if EXPORT.match(stripped) or SNIPPET.match(stripped) or ABBREVIATION.match(stripped):
            return True
        return bool(REF_DEF.match(body) and not ATX.match(body))

    def _block(self, body: str) -> bool:
        """Admonitions and tabs: a title line; their text follows."""
        admonition = BANG_ADMONITION.match(body)
        if admonition:
            self.out.append(title_line(admonition.group(2), admonition.group(3)))
            self.titled = len(self.out)
            cut = len(body) - len(body.lstrip())
            self.indents.append((self.indents[-1] if self.indents else 0) + cut + 4)
            return True
        tab = TAB.match(body)
        if tab:
            self.out.append(f"{tab.group(2)}:")
            self.indents.append((self.indents[-1] if self.indents else 0) + len(tab.group(1)) + 4)
            return True
        if COLON_CLOSE.match(body) and self.colons:
            self.colons -= 1
            self.out.append("")
            return True
        opened = COLON_ADMONITION.match(body)
        if opened and opened.group(2):
            self.colons += 1
            self.out.append(title_line(opened.group(2), opened.group(3) or opened.group(4)))
            self.titled = len(self.out)
            return True
        alert = GITHUB_ALERT.match(body)
        if alert:
            self.out.append(f"{alert.group(1)}{title_line(alert.group(2), None)}")
            return True
        return False

    def _component(self, body: str) -> bool:
        """JSX and HTML block lines: only the words they show stay (and a partial's text)."""
        if JSX_LINE.match(body):
            for shown in JSX_TEXT.finditer(body):
                words = next(g for g in shown.groups() if g)
                self.out.append(f"{' '.join(words.split())}:")
            for name in JSX_SELF.findall(body):
                source = self.components.get(name)
                inlined = self.partial(source) if (self.partial and source and self.depth < 3) else None
                if inlined is not None:
                    self.out.extend(expand(self.unwrap(inlined), partial=self.partial, unwrap=self.unwrap,
                                           depth=self.depth + 1))
            return True
        summary = SUMMARY.search(body)
        if summary:
            self.out.append(f"{summary.group(1).strip()}:")
            return True
        return bool(HTML_BLOCK_LINE.match(body))
