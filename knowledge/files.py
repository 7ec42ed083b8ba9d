"""Knowledge files v1 (``spec/knowledge-file.md``): YAML, JSON lines, Markdown
(read as documentation by ``knowledge.docs``).

Parsing never stops at a broken entry: each problem becomes a ``Problem``
naming where it is and why, and every good entry in the file still imports.
"""

from __future__ import annotations

import difflib
import io
import json
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import yaml

from knowledge import jsonstream, safeyaml
from knowledge.entries import Draft, Entry

MAX_QUESTION_CHARS = 1_000
MAX_ANSWER_CHARS = 20_000
_STATUS_IMPORTABLE = {"live", "pending", "retired"}
# The fields of spec/knowledge-file.md, plus what `kb export` writes (`question`: one form).
_FIELDS = ("id", "questions", "question", "answer", "tags", "space", "review_after", "url", "provenance",
           "section", "status", "version", "author", "updated_at")
_MISSPELT = 0.8  # a field this like a known one, word for word, is taken for a typo of it
_ALIASES = {"question": ("question", "questions"), "questions": ("question", "questions")}
_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")  # a name's words: snake_case, camelCase, kebab-case


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


ByteProgress = Callable[[int, int], None]  # (bytes read, file size)
_SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
             ".md": "markdown", ".markdown": "markdown", ".mdx": "markdown"}


def read_file(path: Path, *, space: str | None = None) -> Parsed:
    """Drafts from a ``.yaml``/``.yml``/``.jsonl``/``.json``/``.md``/``.mdx`` file, all at once
    (a docs folder, with its base URL and site, goes through ``knowledge.docs.read_docs``)."""
    drafts: list[Draft] = []
    problems: list[Problem] = []
    for found in iter_file(path, space=space):
        (drafts if isinstance(found, Draft) else problems).append(found)  # type: ignore[arg-type]
    return Parsed(tuple(drafts), tuple(problems))


def iter_file(path: Path, *, space: str | None = None,
              progress: ByteProgress | None = None) -> Iterator[Draft | Problem]:
    """Drafts and problems of a knowledge file, one entry at a time.

    YAML, JSON and JSON lines are read as streams (memory bounded by one
    entry, whatever the file's size); ``progress`` hears how far into the
    file the reading is. A file that cannot be read at all, or whose YAML or
    JSON is malformed, raises ``KnowledgeFileError`` before anything is yielded.
    """
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None and not path.exists():
        raise KnowledgeFileError(f"{path}: no such file or folder")
    if kind is None:
        raise KnowledgeFileError(
            f"{path}: unknown knowledge file type {path.suffix or '(none)'}; use .yaml, .yml, .jsonl, "
            ".md/.mdx or a docs folder")
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise KnowledgeFileError(f"{path}: no such file") from exc
    except OSError as exc:
        raise KnowledgeFileError(f"{path}: cannot read it ({exc})") from exc
    if kind == "markdown":
        yield from _markdown(path, space)
        return
    if kind == "jsonl":
        yield from _unique(_jsonl_items(path, size, progress), space)
        return
    reader = _yaml_items if kind == "yaml" else _json_items
    _check(path, kind)
    yield from _unique(reader(path, size, progress), space)


def _markdown(path: Path, space: str | None) -> Iterator[Draft | Problem]:
    """A Markdown/MDX page read as documentation: one entry per section."""
    from knowledge.docs import read_docs

    parsed, _ = read_docs(path, space=space)
    yield from parsed.drafts
    yield from parsed.problems


def parse_yaml(text: str, *, source: str = "<yaml>", space: str | None = None) -> Parsed:
    try:
        safeyaml.check_syntax(io.StringIO(text))
    except yaml.YAMLError as exc:
        raise KnowledgeFileError(f"{source}: not valid YAML ({safeyaml.problem_line(exc)})") from exc
    return _collect(_yaml_stream(io.StringIO(text), source, lambda: None), space)


def parse_json(text: str, *, source: str = "<json>", space: str | None = None) -> Parsed:
    return _collect(_json_stream(io.StringIO(text), source, lambda: None, check=True), space)


def parse_jsonl(text: str, *, source: str = "<jsonl>", space: str | None = None) -> Parsed:
    lines = (line.encode("utf-8", "surrogatepass") + b"\n" for line in text.splitlines())
    return _collect(_jsonl_lines(lines, source, lambda: None), space)


class _Broken:
    def __init__(self, why: str) -> None:
        self.why = why


Items = Iterator[tuple[str, Any]]


def _collect(items: Items, space: str | None) -> Parsed:
    drafts: list[Draft] = []
    problems: list[Problem] = []
    for found in _unique(items, space):
        (drafts if isinstance(found, Draft) else problems).append(found)  # type: ignore[arg-type]
    return Parsed(tuple(drafts), tuple(problems))


def _unique(items: Items, space: str | None) -> Iterator[Draft | Problem]:
    """Validate each item; an id used twice in one file keeps its first use."""
    seen: dict[str, str] = {}
    for where, item in items:
        if isinstance(item, _Broken):
            yield Problem(where, item.why)
            continue
        try:
            draft = to_draft(item, default_space=space)
        except (ValueError, TypeError) as exc:
            yield Problem(where, str(exc))
            continue
        if draft.id is not None:
            if draft.id in seen:
                yield Problem(where, f"id {draft.id!r} already used by {seen[draft.id]}")
                continue
            seen[draft.id] = where
        yield draft


def _open_counted(path: Path, size: int, progress: ByteProgress | None) -> tuple[IO[str], Callable[[], None]]:
    raw = path.open("rb")
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")

    def tick() -> None:
        if progress is not None and not raw.closed:
            progress(raw.tell(), size)

    return text, tick


def _check(path: Path, kind: str) -> None:
    """The whole file's syntax, before any entry is imported."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as stream:
            if kind == "yaml":
                safeyaml.check_syntax(stream)
            else:
                for _ in _json_stream(stream, path.name, lambda: None, check=True):
                    pass
    except yaml.YAMLError as exc:
        raise KnowledgeFileError(f"{path.name}: not valid YAML ({safeyaml.problem_line(exc)})") from exc
    except UnicodeDecodeError as exc:
        raise KnowledgeFileError(f"{path.name}: not UTF-8 text (byte {exc.start} cannot be read)") from exc
    except OSError as exc:
        raise KnowledgeFileError(f"{path}: cannot read it ({exc})") from exc


def _yaml_items(path: Path, size: int, progress: ByteProgress | None) -> Items:
    stream, tick = _open_counted(path, size, progress)
    with stream:
        yield from _yaml_stream(stream, path.name, tick)
        tick()


def _yaml_stream(stream: IO[str], source: str, tick: Callable[[], None]) -> Items:
    try:
        for item in safeyaml.iter_items(stream):
            where = f"{source} item {item.number} (line {item.line})"
            yield where, _Broken(item.problem) if item.problem else item.value
            tick()
    except yaml.YAMLError as exc:
        raise KnowledgeFileError(f"{source}: not valid YAML ({safeyaml.problem_line(exc)})") from exc
    except RecursionError as exc:
        raise KnowledgeFileError(f"{source}: nested too deeply to be a knowledge file") from exc
    except ValueError as exc:
        raise KnowledgeFileError(f"{source}: {exc}") from exc


def _json_items(path: Path, size: int, progress: ByteProgress | None) -> Items:
    stream, tick = _open_counted(path, size, progress)
    with stream:
        yield from _json_stream(stream, path.name, tick, check=False)
        tick()


def _json_stream(stream: IO[str], source: str, tick: Callable[[], None], *, check: bool) -> Items:
    try:
        for number, (line, item) in enumerate(jsonstream.iter_array(stream), start=1):
            yield f"{source} item {number} (line {line})", item
            tick()
    except jsonstream.JsonStreamError as exc:
        raise KnowledgeFileError(f"{source}: not valid JSON ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise KnowledgeFileError(f"{source}: not UTF-8 text (byte {exc.start} cannot be read)") from exc


def _jsonl_items(path: Path, size: int, progress: ByteProgress | None) -> Items:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise KnowledgeFileError(f"{path}: cannot read it ({exc})") from exc
    with raw:
        def tick() -> None:
            if progress is not None:
                progress(raw.tell(), size)

        yield from _jsonl_lines(raw, path.name, tick)
        tick()


def _jsonl_lines(lines: Iterable[bytes], source: str, tick: Callable[[], None]) -> Items:
    """One entry per line; a line that is not JSON (or not UTF-8) is named and skipped."""
    for number, raw in enumerate(lines, start=1):
        where = f"{source} line {number}"
        try:
            line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield where, _Broken(f"not UTF-8 text (byte {exc.start} of the line cannot be read)")
            continue
        if not line.strip():
            continue
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, _Broken(f"not valid JSON ({exc.msg})")
        except RecursionError:
            yield where, _Broken("nested too deeply to be an entry")
        if number % 256 == 0:
            tick()


def _text_list(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str | int | float) for v in value):
        raise ValueError(f"`{name}` must be a text or a list of texts")
    out = tuple(dict.fromkeys(" ".join(str(v).split()) for v in value if str(v).strip()))
    return out


def _misspelt(field: str, item: dict[Any, Any]) -> str | None:
    """The known field ``field`` is a typo of: the same words, each spelt nearly alike, however
    joined (`reviw_after`, `reviewAfter`, `reviewafter`), or one more or less plural (`tag`,
    `urls`). Not a name built from one of ours with words of its own (`question_id`,
    `updated_by`), nor one beside the field it resembles (`answered` beside `answer`: nobody
    misspells a field they also spelt right), nor a guess at a name as short as `id` (`uid`, `ids`)."""
    words = [w.lower() for w in _WORDS.findall(field)]
    flat = "".join(words)
    for known in _FIELDS:
        if len(known) < 3 or any(k in item for k in _ALIASES.get(known, (known,))):
            continue
        theirs = known.split("_")
        if flat in (known.replace("_", ""), known + "s") or (known.endswith("s") and flat == known[:-1]):
            return known
        if len(known) >= 4 and len(words) == len(theirs) and all(
                difflib.SequenceMatcher(None, a, b).ratio() >= _MISSPELT
                for a, b in zip(words, theirs, strict=True)):
            return known
    return None


def to_draft(item: Any, *, default_space: str | None = None) -> Draft:
    """Validate one entry mapping; ``ValueError`` says what is wrong with it."""
    if not isinstance(item, dict):
        raise ValueError("an entry must be a mapping with `questions` and `answer`")
    for field in (str(k) for k in item if k not in _FIELDS):
        # A misspelt `review_after` or `tags` must not vanish unseen; a field of another tool's
        # own (`category`, `title`, `question_id`) is left aside, so its files import as the format allows.
        near = _misspelt(field, item)
        if near:
            raise ValueError(f"unknown field `{_brief(field)[1:-1]}` (did you mean `{near}`?)")
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
    provenance = item.get("provenance")
    if provenance is not None and (not isinstance(provenance, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in provenance.items())):
        raise ValueError("`provenance` must be a mapping of texts (e.g. platform, channel, link)")
    status = item.get("status", "live")
    if not isinstance(status, str) or status not in _STATUS_IMPORTABLE:
        raise ValueError(f"`status` must be one of {', '.join(sorted(_STATUS_IMPORTABLE))}, "
                         f"not {_brief(status)}")
    section = item.get("section")
    if section is not None and not isinstance(section, str):
        raise ValueError("`section` must be a text")
    return Draft(
        questions=questions, answer=answer, id=entry_id, tags=tuple(t.lower() for t in tags),
        space=str(space), url=url or None, review_after=_date(item.get("review_after")),
        status=status, provenance=dict(provenance) if provenance else None, section=section or None,
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
    raise ValueError(f"`review_after` must be an ISO date like 2027-03-01, not {_brief(value)}")


def _brief(value: Any) -> str:
    """A value in an error message, bounded: a hostile value never expands the message."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlist, _REPR.maxdict = 2, 40, 40, 4, 4


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
    if entry.provenance:
        item["provenance"] = dict(entry.provenance)
    if entry.section:
        item["section"] = entry.section
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
