#!/usr/bin/env python
"""Answering from imported docs: the docs-dev protocol (``../shared/data/docs-dev/README.md``).

Imports a project's docs folder into a fresh store (``journeybot kb import``),
then drives the bot through the replay contract (``python -m bot replay``),
one member question per thread, and scores each first-contact reply by the
section it cites against the question's labels.

Run (from the repository root, venv active)::

    python bench/docs.py                                  # ../shared/data/docs-dev
    python bench/docs.py --data DIR                       # any set built the same way
    python bench/docs.py --data DIR --project NAME --docs docs --base-url https://docs.example.org/
    python bench/docs.py --show                           # every question with its outcome

A data folder holds ``<project>/`` and ``<project>_questions.jsonl`` (lines of
``{"q": …, "answers": [label, …]}``; a label is ``<file relative to
<project>/>#<heading path>``). Only ``<project>/<docs>/`` is imported, with
``--root <project>`` so the bot's section names are those labels.

Scoring (the README's rules): the first ``reply`` of kind ``answer`` or
``clarify`` decides; an answer is judged by its first cited section (the
reply's ``citations[0].section``, else its ``sources[0]`` looked up in ``kb
export``): *right* when that section is among the labels, else *wrong*
(every answer to a not-answerable question is wrong, and so is an answer
that cites nothing); a ``clarify`` reply is *clarified*; anything else
(hand-over) is *handed over*. Answers are also checked for relative links
and leftover docs-site markup, outside code.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality_driver import REPO_ROOT, BotProcess

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "docs-dev"
START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)

_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
RELATIVE_LINK = re.compile(r"\]\((?!https?://|mailto:)[^)]*\)|\b(?:href|src)\s*=\s*[\"'](?!https?://|mailto:)")
LEFTOVER = {
    "admonition": re.compile(r"^\s*(?::{3,}|!!!|\?\?\?\+?)(?:\s|$)|^\s*===\s+\"|\[!(?:NOTE|TIP|WARNING|IMPORTANT|CAUTION)\]"),
    "jsx": re.compile(r"</?[A-Z][\w.]*(?:\s[^<>]*)?/?>"),
    "html": re.compile(r"</?(?:div|span|details|summary|br|img|a|p|h[1-6]|table|tr|td|kbd|sup|sub|center|iframe)\b[^<>]*>", re.I),
    "mdx_import": re.compile(r"^\s*(?:import\s+\S.*\s+from\s+['\"]|export\s+(?:const|default)\b)"),
    "attribute_list": re.compile(r"\{\s*(?:#[\w-]+|:[^}]*|\.[\w-]+)[^}]*\}"),
    "front_matter": re.compile(r"\A---\s*$", re.M),
    "html_comment": re.compile(r"<!--|-->"),
    "highlight_comment": re.compile(r"highlight-(?:next-line|start|end)"),
    "escape": re.compile(r"\\[_*#\[\]`]"),
}


def outside_code(text: str) -> str:
    """``text`` without fenced code blocks and code spans."""
    lines, fence = [], False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fence = not fence
            continue
        if not fence:
            lines.append(_CODE_SPAN.sub("", line))
    return "\n".join(lines)


def markup_found(text: str) -> list[str]:
    prose = outside_code(text)
    kinds = [name for name, pattern in LEFTOVER.items() if pattern.search(prose)]
    if RELATIVE_LINK.search(prose):
        kinds.append("relative_link")
    return kinds


@dataclass
class Row:
    i: int
    question: str
    answerable: bool
    outcome: str  # right | wrong | clarified | handed_over
    cited: str | None
    cited_all: list[str]
    strict_right: bool
    chars: int | None
    markup: list[str]
    confidence: float | None
    text: str | None


def find_project(data: Path, project: str | None) -> tuple[str, Path]:
    if project is not None:
        return project, data / f"{project}_questions.jsonl"
    found = sorted(data.glob("*_questions.jsonl"))
    if len(found) != 1:
        raise SystemExit(f"{data}: expected one <project>_questions.jsonl, found {len(found)}; use --project")
    return found[0].name[: -len("_questions.jsonl")], found[0]


def import_docs(python: str, docs: Path, root: Path, base_url: str, db: Path) -> str:
    cmd = [python, "-m", "bot", "kb", "import", str(docs), "--root", str(root), "--base-url", base_url,
           "--db", str(db)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"import failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout.strip()


def section_map(python: str, db: Path) -> dict[str, str]:
    cmd = [python, "-m", "bot", "kb", "export", "-", "--format", "jsonl", "--db", str(db)]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=True)
    out = {}
    for line in done.stdout.splitlines():
        item = json.loads(line)
        if item.get("section"):
            out[item["id"]] = item["section"]
    return out


def cited_sections(reply: dict[str, Any], sections: dict[str, str]) -> list[str]:
    citations = reply.get("citations") or []
    named = [c.get("section") for c in citations if isinstance(c, dict) and c.get("section")]
    if named:
        return named
    return [sections[s] for s in reply.get("sources") or [] if s in sections]


def drive(questions: list[dict[str, Any]], argv: list[str], sections: dict[str, str]) -> list[Row]:
    bot = BotProcess(argv, cwd=REPO_ROOT, timeout=120.0)
    rows: list[Row] = []
    try:
        bot.send({"type": "tick", "id": "warmup", "at": START.strftime("%Y-%m-%dT%H:%M:%SZ")}, timeout=600)
        for i, item in enumerate(questions):
            at = START + timedelta(minutes=10 * i)
            actions, _ = bot.send({"type": "message", "id": f"q{i}", "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                   "channel": "help", "user": f"u{i}", "thread": None, "text": item["q"]})
            labels = {a.strip().lower() for a in item["answers"]}
            reply = next((a for a in actions if a.get("type") == "reply"
                          and a.get("kind") in ("answer", "clarify")), None)
            answerable = bool(labels)
            cited: list[str] = []
            if reply is None:
                outcome = "handed_over"
            elif reply["kind"] == "clarify":
                outcome = "clarified"
            else:
                cited = cited_sections(reply, sections)
                right = answerable and bool(cited) and cited[0].strip().lower() in labels
                outcome = "right" if right else "wrong"
            answer = reply if reply is not None and reply["kind"] == "answer" else None
            rows.append(Row(
                i, item["q"], answerable, outcome, cited[0] if cited else None, cited,
                outcome == "right" and all(c.strip().lower() in labels for c in cited),
                len(answer["text"]) if answer else None, markup_found(answer["text"]) if answer else [],
                answer.get("confidence") if answer else None, answer["text"] if answer else None))
    finally:
        bot.close()
    return rows


def figures(rows: list[Row]) -> dict[str, Any]:
    ans = [r for r in rows if r.answerable]
    nope = [r for r in rows if not r.answerable]
    count = Counter((r.answerable, r.outcome) for r in rows)
    lengths = [r.chars for r in rows if r.chars is not None]
    return {
        "questions": len(rows), "answerable": len(ans), "not_answerable": len(nope),
        "right": count[(True, "right")], "right_strict": sum(r.strict_right for r in ans),
        "wrong": count[(True, "wrong")] + count[(False, "wrong")],
        "wrong_on_answerable": count[(True, "wrong")], "answered_not_answerable": count[(False, "wrong")],
        "clarified_answerable": count[(True, "clarified")], "clarified_not_answerable": count[(False, "clarified")],
        "handed_over_answerable": count[(True, "handed_over")],
        "handed_over_not_answerable": count[(False, "handed_over")],
        "median_answer_chars": statistics.median(lengths) if lengths else None,
        "max_answer_chars": max(lengths) if lengths else None,
        "answers_with_relative_links": sum("relative_link" in r.markup for r in rows),
        "answers_with_leftover_markup": sum(any(k != "relative_link" for k in r.markup) for r in rows),
    }


def print_figures(name: str, f: dict[str, Any]) -> None:
    print(f"\n{name}: {f['questions']} questions ({f['answerable']} answerable, {f['not_answerable']} not)")
    print(f"  right (first contact)      {f['right']}/{f['answerable']}"
          f"  ({100 * f['right'] / max(f['answerable'], 1):.0f}%; strict: {f['right_strict']})")
    print(f"  wrong                      {f['wrong']}/{f['questions']}  (on answerable {f['wrong_on_answerable']},"
          f" answers to not-answerable {f['answered_not_answerable']})")
    print(f"  clarified                  {f['clarified_answerable']} answerable, "
          f"{f['clarified_not_answerable']} not answerable")
    print(f"  handed over                {f['handed_over_answerable']} answerable, "
          f"{f['handed_over_not_answerable']} not answerable")
    print(f"  median answer length       {f['median_answer_chars']} characters (max {f['max_answer_chars']})")
    print(f"  relative links / markup    {f['answers_with_relative_links']} / "
          f"{f['answers_with_leftover_markup']} answers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--project", help="the project folder's name (default: from *_questions.jsonl)")
    parser.add_argument("--docs", default="docs", help="the docs folder inside the project (default: docs)")
    parser.add_argument("--base-url", default="https://docs.example.org/")
    parser.add_argument("--cmd", help="the bot (default: python -m bot replay - --db DB)")
    parser.add_argument("--out", type=Path, help="write figures and rows as JSON here")
    parser.add_argument("--db", type=Path, help="keep the imported store here and reuse it when it exists "
                                                "(a copy is used, so every run starts from the import)")
    parser.add_argument("--show", action="store_true", help="print every question's outcome")
    args = parser.parse_args(argv)
    project, questions_file = find_project(args.data, args.project)
    questions = [json.loads(line) for line in questions_file.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="jb-docs-") as tmp:
        db = Path(tmp) / "docs.db"
        if args.db is None or not args.db.exists():
            print(import_docs(python, args.data / project / args.docs, args.data / project, args.base_url,
                              args.db or db), file=sys.stderr)
        if args.db is not None:
            subprocess.run([python, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup("
                            "sqlite3.connect(sys.argv[2]))", str(args.db), str(db)], check=True)
            models = Path(f"{args.db}.models")  # the model the import adapted to the docs, beside the store
            if models.is_dir():
                shutil.copytree(models, Path(f"{db}.models"))
        sections = section_map(python, db)
        argv_bot = (args.cmd.replace("{db}", str(db)).split() if args.cmd
                    else [python, "-m", "bot", "replay", "-", "--db", str(db)])
        rows = drive(questions, argv_bot, sections)
    result = figures(rows)
    print_figures(project, result)
    if args.show:
        for r in rows:
            mark = {"right": "+", "wrong": "X", "clarified": "?", "handed_over": "-"}[r.outcome]
            print(f"{mark} [{'A' if r.answerable else 'N'}] {r.question[:90]!r} -> {r.cited or ''}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"project": project, "figures": result,
                                        "rows": [asdict(r) for r in rows]}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
