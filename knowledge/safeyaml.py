"""YAML knowledge files read as a stream, with aliases and sizes bounded.

``yaml.safe_load`` builds the whole document before anything looks at it,
and an alias bomb (``&a [*b, *b, …]`` nested a few levels) costs almost
nothing to load yet expands exponentially as soon as anything walks it
(an error message's ``repr`` did). Here each item of the top-level list is
composed, measured as if every alias were expanded, refused when too big,
and only then built: one item at a time, in memory bounded by one item.

The events come from libyaml when it is installed (``yaml._yaml.CParser``,
about ten times faster than the pure-Python parser) and PyYAML's own
composer and safe constructor build the items, so aliases stay visible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

MAX_ITEM_ALIASES = 100  # aliases inside one entry (real files use a handful, for shared tags)
MAX_ITEM_WEIGHT = 1_000_000  # characters plus values of one entry with every alias expanded

try:  # libyaml's parser, when PyYAML was built with it
    from yaml._yaml import CParser as _Parser

    def _parser_init(self: Any, stream: IO[str]) -> None:
        _Parser.__init__(self, stream)

except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        pass

    def _parser_init(self: Any, stream: IO[str]) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        _PyParser.__init__(self)


class YamlTooBig(ValueError):
    """One item expands beyond the limits (an alias bomb, or simply too large)."""


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the top-level list: its number, first line, and value
    (``None`` with ``problem`` set when it was refused before being built)."""

    number: int
    line: int
    value: Any
    problem: str | None = None


class _StreamLoader(_Parser, Composer, SafeConstructor, Resolver):
    def __init__(self, stream: IO[str]) -> None:
        _parser_init(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.aliases = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(AliasEvent):
            self.aliases += 1
        node = super().compose_node(parent, index)
        assert node is not None  # only the end of the stream composes to nothing
        return node


def check_syntax(stream: IO[str]) -> None:
    """Parse the whole stream once without building anything (libyaml: fast),
    so a syntax error anywhere is found before a single entry is imported."""
    if hasattr(_Parser, "raw_parse"):
        _Parser(stream).raw_parse()
        return
    loader = _Parser(stream)  # pragma: no cover - pure-Python fallback
    while not loader.check_event(StreamEndEvent):
        loader.get_event()


def iter_items(stream: IO[str]) -> Iterator[Item]:
    """The items of a YAML file's top-level list (or of its ``entries:`` list),
    one at a time. ``yaml.YAMLError`` on malformed text, ``ValueError`` when
    the top level is neither."""
    loader = _StreamLoader(stream)
    try:
        loader.get_event()  # stream start
        if loader.check_event(StreamEndEvent):
            return
        loader.get_event()  # document start
        if loader.check_event(SequenceStartEvent):
            yield from _sequence(loader)
        elif loader.check_event(MappingStartEvent):
            yield from _entries_of_mapping(loader)
        else:
            node = loader.compose_node(None, None)
            value = node.value if isinstance(node, ScalarNode) else None
            if value not in (None, "", "~", "null"):
                raise ValueError("expected a list of entries at the top level")
        loader.get_event()  # document end
        if loader.check_event(DocumentStartEvent):
            raise ValueError("more than one YAML document; put every entry in one list")
    finally:
        loader.dispose()


def _sequence(loader: _StreamLoader) -> Iterator[Item]:
    loader.get_event()
    number = 0
    while not loader.check_event(SequenceEndEvent):
        number += 1
        before = loader.aliases
        node = loader.compose_node(None, None)
        line = node.start_mark.line + 1
        try:
            if loader.aliases - before > MAX_ITEM_ALIASES:
                raise YamlTooBig(f"uses more than {MAX_ITEM_ALIASES} aliases")
            _weigh(node)
        except YamlTooBig as exc:
            yield Item(number, line, None, problem=str(exc))
            continue
        yield Item(number, line, loader.construct_document(node))
    loader.get_event()


def _entries_of_mapping(loader: _StreamLoader) -> Iterator[Item]:
    """``entries: [...]`` under a mapping: stream that list, skip the rest unbuilt."""
    loader.get_event()
    found = False
    while not loader.check_event(MappingEndEvent):
        key = loader.compose_node(None, None)
        if (isinstance(key, ScalarNode) and key.value == "entries"
                and loader.check_event(SequenceStartEvent) and not found):
            found = True
            yield from _sequence(loader)
        else:
            loader.compose_node(None, None)
    loader.get_event()
    if not found:
        raise ValueError("expected a list of entries at the top level (or under `entries:`)")


def _weigh(node: Node) -> int:
    """Characters and values of ``node`` as if every alias were expanded;
    ``YamlTooBig`` past the limit. Shared nodes are weighed once (memoised),
    so a bomb is measured in linear time, never expanded."""
    weights: dict[int, int] = {}
    visiting: set[int] = set()

    def weigh(n: Node) -> int:
        key = id(n)
        if key in weights:
            return weights[key]
        if key in visiting:
            raise YamlTooBig("refers to itself (a recursive alias)")
        visiting.add(key)
        if isinstance(n, ScalarNode):
            total = 1 + len(n.value)
        elif isinstance(n, SequenceNode):
            total = 1 + sum(weigh(child) for child in n.value)
        elif isinstance(n, MappingNode):
            total = 1 + sum(weigh(k) + weigh(v) for k, v in n.value)
        else:  # pragma: no cover - every node is one of the three
            total = 1
        visiting.discard(key)
        if total > MAX_ITEM_WEIGHT:
            raise YamlTooBig(f"is too large once its aliases are expanded (over {MAX_ITEM_WEIGHT:,} "
                             "characters and values): an alias bomb?")
        weights[key] = total
        return total

    return weigh(node)


def problem_line(exc: yaml.YAMLError) -> str:
    """A YAML error in one line: what, and where."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}"
