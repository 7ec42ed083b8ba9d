#!/usr/bin/env python
"""Fit the docs estimate's weights and answer threshold across projects, honestly.

Each project's docs are imported into a store of their own and every question
is retrieved exactly as the bot retrieves it (``KnowledgeBase.search``, then
``bot.flows.deciding.options_of``); the candidates with their named features
are kept in ``--cache``. The weights of ``bot.estimate`` (a logistic model
over those features) and ``docs_answer_estimate`` are then chosen by
leave-one-project-out cross-validation: the figures printed for a project
come from weights and a threshold fitted on the *other* projects only, and
the decision is ``bot.policy.decide`` itself. The last lines fit on every
project: those are the weights to ship. docs-dev is not trained on (unless
``--train-dev``): it is the check, decided by the weights to ship, which never
saw it.

Run (from the repository root)::

    python bench/docs_fit.py --sets /work/docs-eval/sets          # docs-dev: the check
    python bench/docs_fit.py --sets DIR --analyse                 # where the right section stands
    python bench/docs_fit.py --sets DIR --fresh                   # re-import and re-retrieve

A set folder holds ``<project>/<project>/docs/`` and ``<project>/<project>_questions.jsonl``
(the docs-dev layout, ``../shared/data/docs-dev/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.docs_model import FitResult, evaluate, fit_lopo, fit_weights
from bot.estimate import Weights
from bot.policy import Option

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_DEV = REPO_ROOT.parent / "shared" / "data" / "docs-dev"
AT = datetime(2026, 2, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Project:
    name: str
    root: Path  # holds docs/
    questions: Path


@dataclass
class Asked:
    """One question as the policy sees it: its candidates, and its labels."""

    project: str
    question: str
    labels: tuple[str, ...]
    social: bool
    options: list[Option]

    @property
    def answerable(self) -> bool:
        return bool(self.labels)


def projects(sets: Path | None, with_dev: bool = True) -> list[Project]:
    found = [Project("docs-dev", DOCS_DEV / "paperless-ngx", DOCS_DEV / "paperless-ngx_questions.jsonl")] \
        if with_dev else []
    for folder in sorted(p for p in (sets.iterdir() if sets else []) if p.is_dir()):
        questions = folder / f"{folder.name}_questions.jsonl"
        if questions.is_file() and (folder / folder.name / "docs").is_dir():
            found.append(Project(folder.name, folder / folder.name, questions))
    return found


def adapted_embedder(project: Project, steps: int) -> Any:
    """The encoder as ``journeybot kb import`` leaves it for these docs: the bundled
    model tuned on the rows its sections make of themselves (``learning.docs``)."""
    from knowledge.docs import read_docs
    from knowledge.docs.pseudo import pseudo_queries
    from knowledge.embedder import CachedEmbedder, load_embedder
    from knowledge.entries import LIVE, Entry
    from learning.docs import DocsAdaptConfig, tune_to_docs
    from learning.models import TunedEmbedder

    if steps <= 0:
        return load_embedder()
    parsed, _ = read_docs(project.root / "docs", root=project.root, base_url="https://docs.example.org/")
    entries = [Entry(id=d.id or "", space=d.space, version=1, status=LIVE, questions=d.questions,
                     answer=d.answer, section=d.section) for d in parsed.drafts]
    started = time.perf_counter()
    weights = tune_to_docs(pseudo_queries(entries), None, DocsAdaptConfig(steps=steps))
    print(f"{project.name}: adapted to {len(entries)} sections in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    return CachedEmbedder(TunedEmbedder(weights, 1))


async def collect(project: Project, steps: int = 0) -> list[Asked]:
    """Import the project's docs into a fresh store (with the model adapted to them
    by ``steps`` training steps, as at import); retrieve every question."""
    from bot.flows.deciding import options_of
    from bot.text import is_social
    from knowledge.base import KnowledgeBase
    from knowledge.docs import read_docs
    from knowledge.importer import import_drafts
    from storage.database import Database

    db = Database(":memory:")
    await db.open()
    try:
        kb = KnowledgeBase(db, await asyncio.to_thread(adapted_embedder, project, steps))
        await kb.open()
        parsed, _ = read_docs(project.root / "docs", root=project.root, base_url="https://docs.example.org/")
        await import_drafts(kb, parsed.drafts, author="import", at=AT)
        asked = []
        for line in project.questions.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            vector = (await kb.embedder.embed([item["q"]]))[0]
            hits = await kb.search("default", vector, text=item["q"])
            asked.append(Asked(project.name, item["q"], tuple(a.strip().lower() for a in item["answers"]),
                               is_social(item["q"]), options_of(hits, {}, AT)))
        return asked
    finally:
        await db.close()


def _save(asked: list[Asked], path: Path) -> None:
    rows = [{"project": a.project, "question": a.question, "labels": list(a.labels), "social": a.social,
             "options": [asdict(o) for o in a.options]} for a in asked]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")


def _load(path: Path) -> list[Asked]:
    known = {f.name for f in fields(Option)}
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        options = [Option(**{k: v for k, v in o.items() if k in known} | {"conflicts_with": tuple(o["conflicts_with"])})
                   for o in row["options"]]
        out.append(Asked(row["project"], row["question"], tuple(row["labels"]), row["social"], options))
    return out


def gather(found: list[Project], cache: Path, fresh: bool, steps: int = 0) -> dict[str, list[Asked]]:
    cache.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Asked]] = {}
    for project in found:
        path = cache / f"{project.name}.jsonl"
        if fresh or not path.exists():
            print(f"retrieving {project.name} …", file=sys.stderr)
            _save(asyncio.run(collect(project, steps)), path)
        out[project.name] = _load(path)
    return out


def analyse(data: dict[str, list[Asked]]) -> None:
    """Where the right section stands among each answerable question's candidates."""
    from bot.estimate import leader

    print(f"{'project':10} {'answerable':>10} {'leads':>6} {'2nd-5th':>8} {'lower':>6} {'absent':>7}")
    for name, asked in data.items():
        counts = {"leads": 0, "near": 0, "lower": 0, "absent": 0}
        for a in (x for x in asked if x.answerable):
            docs = [o for o in a.options if o.kind == "docs"]
            ranked = sorted(docs, key=lambda o: (-o.fused, -o.score))
            place = next((n for n, o in enumerate(ranked) if (o.section or "").lower() in a.labels), None)
            top = leader(docs) if docs else None
            if top is not None and (top.section or "").lower() in a.labels:
                counts["leads"] += 1
            elif place is None:
                counts["absent"] += 1
            elif place < 5:
                counts["near"] += 1
            else:
                counts["lower"] += 1
        total = sum(counts.values())
        print(f"{name:10} {total:>10} {counts['leads']:>6} {counts['near']:>8} {counts['lower']:>6} "
              f"{counts['absent']:>7}")


def shipped(data: dict[str, list[Asked]]) -> None:
    """The weights and threshold the bot ships, on every project (held out only
    for projects nobody looked at while setting them)."""
    from bot.estimate import DEFAULT_WEIGHTS
    from bot.settings import PolicySettings

    threshold = PolicySettings().docs_answer_estimate
    print(f"shipped weights, docs_answer_estimate {threshold:.2f}:")
    print(f"{'project':10} {'right':>9} {'wrong':>7} {'clarified':>9} {'handed over':>11}")
    for name, asked in data.items():
        f = evaluate(asked, DEFAULT_WEIGHTS, threshold)
        print(f"{name:10} {f['right']:>4}/{f['answerable']:<4} {f['wrong']:>3}/{f['questions']:<3} "
              f"{f['clarified']:>9} {f['handed_over']:>11}")


def report(results: dict[str, FitResult], final: FitResult) -> None:
    print(f"\n{'held out':10} {'right':>9} {'wrong':>7} {'clarified':>9} {'handed over':>11}   threshold")
    pooled = {"right": 0, "answerable": 0, "wrong": 0, "questions": 0, "clarified": 0, "handed_over": 0}
    for name, r in results.items():
        f = r.figures
        print(f"{name:10} {f['right']:>4}/{f['answerable']:<4} {f['wrong']:>3}/{f['questions']:<3} "
              f"{f['clarified']:>9} {f['handed_over']:>11}   {r.threshold:.2f}")
        for key in pooled:
            pooled[key] += f[key]
    print(f"{'pooled':10} {pooled['right']:>4}/{pooled['answerable']:<4} {pooled['wrong']:>3}/"
          f"{pooled['questions']:<3} {pooled['clarified']:>9} {pooled['handed_over']:>11}"
          f"   right {100 * pooled['right'] / max(pooled['answerable'], 1):.1f}% of answerable, "
          f"wrong {100 * pooled['wrong'] / max(pooled['questions'], 1):.1f}% of all")
    print(f"\nfitted on every project (to ship): threshold {final.threshold:.2f}")
    print("  " + json.dumps(final.weights, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=Path, help="a folder of docs sets (docs-dev is always read)")
    parser.add_argument("--train-dev", action="store_true", help="fit on docs-dev too (it is otherwise the check)")
    parser.add_argument("--cache", type=Path, default=REPO_ROOT / "bench" / "results" / "docs-fit")
    parser.add_argument("--fresh", action="store_true", help="re-import and re-retrieve every project")
    parser.add_argument("--adapt-steps", type=int, default=0,
                        help="retrieve with the model adapted to each project's docs (the import's "
                             "learning.docs_steps; 0: the bundled model)")
    parser.add_argument("--analyse", action="store_true", help="where the right section stands, and stop")
    parser.add_argument("--max-wrong", type=float, default=0.015,
                        help="wrong answers allowed on the training projects, share of all their questions")
    parser.add_argument("--out", type=Path, help="write the per-project figures and the weights as JSON")
    args = parser.parse_args(argv)
    data = gather(projects(args.sets), args.cache, args.fresh, args.adapt_steps)
    if args.analyse:
        analyse(data)
        return 0
    shipped(data)
    train = data if args.train_dev else {n: a for n, a in data.items() if n != "docs-dev"}
    results = fit_lopo(train, max_wrong=args.max_wrong)
    final = fit_weights([a for asked in train.values() for a in asked], max_wrong=args.max_wrong)
    report(results, final)
    if not args.train_dev and "docs-dev" in data:
        f = evaluate(data["docs-dev"], Weights(**final.weights), final.threshold)
        print(f"check, docs-dev by the weights to ship (never trained on it): right {f['right']}/{f['answerable']}, "
              f"wrong {f['wrong']}/{f['questions']}, clarified {f['clarified']}, handed over {f['handed_over']}")
    if args.out:
        args.out.write_text(json.dumps({"held_out": {n: asdict(r) for n, r in results.items()},
                                        "final": asdict(final), "evaluate": evaluate.__doc__},
                                       indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
