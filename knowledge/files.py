"""Knowledge files v1 (``spec/knowledge-file.md``): YAML, JSON lines, Markdown.

Parsing never stops at a broken entry: each problem becomes a ``Problem``
naming where it is and why, and every good entry in the file still imports.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from knowledge.entries import Draft, Entry

MAX_QUESTION_CHARS = 1_000
MAX_ANSWER_CHARS = 20_000
_STATUS_IMPORTABLE = {"live", "pending", "retired"}


@dataclass(frozen=True, slots=True)
class Problem:
    """A part of a knowledge file that could not be imported."""

    where: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}: {self.why}"


@dataclass(frozen=True, slots=True)
class Parsed:
    drafts: tuple[Draft, ...]
    problems: tuple[Problem, ...]


class KnowledgeFileError(ValueError):
    """The file as a whole cannot be read (missing, unknown format, not a list)."""


def read_file(path: Path, *, space: str | None = None) -> Parsed:
    """Drafts from a ``.yaml``/``.yml``/``.jsonl``/``.json``/``.md`` file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise KnowledgeFileError(f"{path}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeFileError(f"{path}: cannot read it ({exc})") from exc
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return parse_yaml(text, source=path.name, space=space)
    if suffix in (".jsonl", ".ndjson"):
        return parse_jsonl(text, source=path.name, space=space)
    if suffix == ".json":
        return parse_json(text, source=path.name, space=space)
    if suffix in (".md", ".markdown"):
        return parse_markdown(text, source=path.name, space=space)
    raise KnowledgeFileError(
        f"{path}: unknown knowledge file type {suffix or '(none)'}; use .yaml, .yml, .jsonl or .md"
    )


def parse_yaml(text: str, *, source: str = "<yaml>", space: str | None = None) -> Parsed:
    try:
        items = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KnowledgeFileError(f"{source}: not valid YAML ({exc})") from exc
    if items is None:
        return Parsed((), ())
    if isinstance(items, dict) and isinstance(items.get("entries"), list):
        items = items["entries"]
    if not isinstance(items, list):
        raise KnowledgeFileError(f"{source}: expected a list of entries at the top level")
    return _collect((f"{source} item {n}", item) for n, item in enumerate(items, start=1))(space)


def parse_json(text: str, *, source: str = "<json>", space: str | None = None) -> Parsed:
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KnowledgeFileError(f"{source}: not valid JSON ({exc})") from exc
    if not isinstance(items, list):
        raise KnowledgeFileError(f"{source}: expected a list of entries")
    return _collect((f"{source} item {n}", item) for n, item in enumerate(items, start=1))(space)


def parse_jsonl(text: str, *, source: str = "<jsonl>", space: str | None = None) -> Parsed:
    def items() -> Iterator[tuple[str, Any]]:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield f"{source} line {number}", json.loads(line)
            except json.JSONDecodeError as exc:
                yield f"{source} line {number}", _Broken(f"not valid JSON ({exc.msg})")

    return _collect(items())(space)


class _Broken:
    def __init__(self, why: str) -> None:
        self.why = why


def _collect(items: Iterable[tuple[str, Any]]) -> Callable[[str | None], Parsed]:
    def run(space: str | None) -> Parsed:
        drafts: list[Draft] = []
        problems: list[Problem] = []
        seen: dict[str, str] = {}
        for where, item in items:
            if isinstance(item, _Broken):
                problems.append(Problem(where, item.why))
                continue
            try:
                draft = to_draft(item, default_space=space)
            except ValueError as exc:
                problems.append(Problem(where, str(exc)))
                continue
            if draft.id is not None:
                if draft.id in seen:
                    problems.append(Problem(where, f"id {draft.id!r} already used by {seen[draft.id]}"))
                    continue
                seen[draft.id] = where
            drafts.append(draft)
        return Parsed(tuple(drafts), tuple(problems))

    return run


def _text_list(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ValueError(f"`{name}` must be a text or a list of texts")
    out = tuple(dict.fromkeys(" ".join(str(v).split()) for v in value if str(v).strip()))
    return out


def to_draft(item: Any, *, default_space: str | None = None) -> Draft:
    """Validate one entry mapping; ``ValueError`` says what is wrong with it."""
    if not isinstance(item, dict):
        raise ValueError("an entry must be a mapping with `questions` and `answer`")
    if "questions" not in item and "question" in item:
        item = {**item, "questions": item["question"]}
    questions = _text_list(item.get("questions"), "questions") if item.get("questions") is not None else ()
    if not questions:
        raise ValueError("`questions` is missing or empty")
    if any(len(q) > MAX_QUESTION_CHARS for q in questions):
        raise ValueError(f"a question is longer than {MAX_QUESTION_CHARS} characters")
    answer = item.get("answer")
    if not isinstance(answer, str | int | float) or not str(answer).strip():
        raise ValueError("`answer` is missing or empty")
    answer = str(answer).strip()
    if len(answer) > MAX_ANSWER_CHARS:
        raise ValueError(f"`answer` is longer than {MAX_ANSWER_CHARS} characters")
    raw_id = item.get("id")
    if raw_id is not None and (not isinstance(raw_id, str | int) or not str(raw_id).strip()):
        raise ValueError("`id` must be a non-empty text")
    entry_id = str(raw_id).strip() if raw_id is not None else None
    if entry_id is not None and (len(entry_id) > 200 or any(c.isspace() for c in entry_id)):
        raise ValueError("`id` must be at most 200 characters without spaces")
    tags = _text_list(item.get("tags") or [], "tags")
    space = item.get("space", default_space) or "default"
    if not isinstance(space, str | int):
        raise ValueError("`space` must be a text")
    url = item.get("url")
    if url is not None and not isinstance(url, str):
        raise ValueError("`url` must be a text")
    status = item.get("status", "live")
    if status not in _STATUS_IMPORTABLE:
        raise ValueError(f"`status` must be one of {sorted(_STATUS_IMPORTABLE)}")
    return Draft(
        questions=questions, answer=answer, id=entry_id, tags=tuple(t.lower() for t in tags),
        space=str(space), url=url or None, review_after=_date(item.get("review_after")),
        status=status,
    )


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise ValueError(f"`review_after` must be an ISO date like 2027-03-01, not {value!r}")


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def parse_markdown(text: str, *, source: str = "<markdown>", space: str | None = None) -> Parsed:
    """Each heading section becomes an entry: question = heading path, answer = its text."""
    drafts: list[Draft] = []
    problems: list[Problem] = []
    stack: list[tuple[int, str]] = []
    body: list[str] = []
    fence = False
    stem = re.sub(r"[^a-z0-9]+", "-", Path(source).stem.lower()).strip("-") or "doc"

    def flush() -> None:
        answer = "\n".join(body).strip()
        body.clear()
        path = [title for _, title in stack]
        if not path or not answer:
            return
        question = " > ".join(path)
        slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:80] or "section"
        try:
            drafts.append(to_draft(
                {"id": f"md-{stem}-{slug}", "questions": [question], "answer": answer,
                 "url": f"{source}#{re.sub(r'[^a-z0-9]+', '-', path[-1].lower()).strip('-')}"},
                default_space=space,
            ))
        except ValueError as exc:
            problems.append(Problem(f"{source} section {question!r}", str(exc)))

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fence = not fence
        match = None if fence else _HEADING.match(line)
        if match:
            flush()
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
        else:
            body.append(line)
    flush()
    return Parsed(tuple(drafts), tuple(problems))


def entry_to_item(entry: Entry) -> dict[str, Any]:
    """The export form of an entry: the file fields plus version metadata."""
    item: dict[str, Any] = {"id": entry.id, "questions": list(entry.questions), "answer": entry.answer}
    if entry.tags:
        item["tags"] = list(entry.tags)
    item["space"] = entry.space
    if entry.review_after:
        item["review_after"] = entry.review_after.isoformat()
    if entry.url:
        item["url"] = entry.url
    item.update(version=entry.version, status=entry.status, author=entry.author,
                updated_at=entry.updated_at.isoformat() if entry.updated_at else None)
    return item


def dump(entries: Iterable[Entry], fmt: str) -> str:
    items = [entry_to_item(e) for e in entries]
    if fmt == "jsonl":
        return "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items)
    if fmt in ("yaml", "yml"):
        return yaml.safe_dump(items, allow_unicode=True, sort_keys=False, width=100)
    raise KnowledgeFileError(f"unknown export format {fmt!r}; use yaml or jsonl")
