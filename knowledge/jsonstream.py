"""JSON arrays read one element at a time, each with the line it starts on.

``json.load`` holds a whole file, and its errors name a line but its values
do not. Knowledge files (``.json``), Slack's daily message files and
DiscordChatExporter's ``messages`` list are long arrays of small objects:
reading them element by element keeps memory bounded by one element and
lets an error name the file, the line and the element.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO, Any

CHUNK = 1 << 16
MAX_ELEMENT_CHARS = 16 << 20  # one element beyond this is refused, not read on and on
_decoder = json.JSONDecoder()
_SPACE = " \t\n\r"


class JsonStreamError(ValueError):
    """Malformed JSON: ``line`` says where (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


class _Cursor:
    """A window over a text stream that counts the lines it has moved past."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.buf = ""
        self.pos = 0
        self.line = 1  # line of self.pos
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        more = self.stream.read(CHUNK)
        if not more:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + more
        self.pos = 0
        return True

    def skip_space(self) -> str:
        """The next non-blank character (not consumed); '' at the end."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _SPACE:
                if self.buf[self.pos] == "\n":
                    self.line += 1
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def take(self, char: str, what: str) -> None:
        found = self.skip_space()
        if found != char:
            raise JsonStreamError(f"expected {what}, found {_show(found)}", self.line)
        self.pos += 1

    def value(self) -> Any:
        """Decode the value starting here (reading more of the stream as needed)."""
        self.skip_space()
        while True:
            try:
                value, end = _decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                # Perhaps the value only continues past the window: read on
                # (up to a bound, so a broken file is never read whole).
                if len(self.buf) - self.pos < MAX_ELEMENT_CHARS and self.fill():
                    continue
                line = self.line + self.buf.count("\n", self.pos, exc.pos)
                raise JsonStreamError(exc.msg, line) from None
            # A number may go on past the window ("12" of "123", "-0" of "-0.5e3").
            if len(self.buf) - end < 64 and self.buf[self.pos] not in "{[\"" and self.fill():
                continue
            self.line += self.buf.count("\n", self.pos, end)
            self.pos = end
            return value


def _show(char: str) -> str:
    return "the end of the file" if not char else repr(char)


def iter_array(stream: IO[str]) -> Iterator[tuple[int, Any]]:
    """``(line, element)`` for each element of the JSON array that is the whole stream."""
    cursor = _Cursor(stream)
    if cursor.skip_space() == "\ufeff":
        cursor.pos += 1
    cursor.take("[", "a list (“[”) at the top level")
    yield from _elements(cursor)
    if cursor.skip_space():
        raise JsonStreamError(f"unexpected {_show(cursor.skip_space())} after the list", cursor.line)


def _elements(cursor: _Cursor) -> Iterator[tuple[int, Any]]:
    if cursor.skip_space() == "]":
        cursor.pos += 1
        return
    while True:
        cursor.skip_space()
        line = cursor.line
        yield line, cursor.value()
        nxt = cursor.skip_space()
        if nxt == ",":
            cursor.pos += 1
            continue
        if nxt == "]":
            cursor.pos += 1
            return
        raise JsonStreamError(f"expected “,” or “]” after an element, found {_show(nxt)}", cursor.line)


def iter_object(stream: IO[str], *, stream_key: str) -> Iterator[tuple[str, int, Any]]:
    """The members of the JSON object that is the whole stream, as
    ``(key, line, value)``; the array under ``stream_key`` is not built but
    yielded element by element as ``(stream_key, line, element)``."""
    cursor = _Cursor(stream)
    if cursor.skip_space() == "\ufeff":
        cursor.pos += 1
    cursor.take("{", "an object (“{”) at the top level")
    if cursor.skip_space() == "}":
        cursor.pos += 1
        return
    while True:
        cursor.skip_space()
        line = cursor.line
        key = cursor.value()
        if not isinstance(key, str):
            raise JsonStreamError("expected a member name", line)
        cursor.take(":", "“:” after a member name")
        if key == stream_key and cursor.skip_space() == "[":
            cursor.pos += 1
            for element_line, element in _elements(cursor):
                yield key, element_line, element
        else:
            cursor.skip_space()
            yield key, cursor.line, cursor.value()
        nxt = cursor.skip_space()
        if nxt == ",":
            cursor.pos += 1
            continue
        if nxt == "}":
            cursor.pos += 1
            break
        raise JsonStreamError(f"expected “,” or “}}” after a member, found {_show(nxt)}", cursor.line)
    if cursor.skip_space():
        raise JsonStreamError(f"unexpected {_show(cursor.skip_space())} after the object", cursor.line)
