"""The quality benchmark's datasets, built per the spec's draw order
(see ``bench/quality.py`` for the protocol and the reading chosen)."""

from __future__ import annotations

import csv
import json
import os
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", REPO_ROOT.parent / "shared" / "data"))
DATASETS = ("clinc150", "sofmattress", "curekart", "stackfaq")
# Not streamed by default: checks on domains nobody tuned on (bench/hwu64.py, bench/banking77.py build their files).
EXTRA_DATASETS = ("hwu64", "banking77")
HWU64_FILE = Path(os.environ.get("BENCH_HWU64", REPO_ROOT / "bench" / "results" / "hwu64.csv"))
BANKING77_FILE = Path(os.environ.get("BENCH_BANKING77", REPO_ROOT / "bench" / "results" / "banking77.csv"))
TITLES = {
    "hwu64": "HWU64 (out-of-scope proxy)",
    "banking77": "BANKING77",
    "clinc150": "CLINC150",
    "sofmattress": "HINT3 sofmattress",
    "curekart": "HINT3 curekart",
    "stackfaq": "StackFAQ",
}
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MAX_CLARIFY_ROUNDS = 3
STAFF_USER = "staff1"

# The spec's baseline table: correct / wrong / abstained (% of streamed
# questions, mean of seeds 0-2) and out-of-scope abstained at 0.70.
BASELINE: dict[str, dict[str, Any]] = {
    "clinc150": {
        "0.60": (53.0, 7.9, 39.2),
        "0.70": (45.2, 3.0, 51.8),
        "0.70+margin0.05": (45.1, 2.0, 52.9),
        "oos_abstained_0.70": 99.2,
    },
    "sofmattress": {
        "0.60": (30.1, 12.1, 57.8),
        "0.70": (20.2, 5.5, 74.4),
        "0.70+margin0.05": (19.6, 4.5, 75.9),
        "oos_abstained_0.70": 96.0,  # "about 96"
    },
    "curekart": {
        "0.60": (20.2, 8.3, 71.5),
        "0.70": (15.5, 3.0, 81.5),
        "0.70+margin0.05": (15.1, 2.6, 82.3),
        "oos_abstained_0.70": 97.0,  # "about 97"
    },
    "stackfaq": {
        "0.60": (82.6, 5.3, 12.1),
        "0.70": (73.2, 1.5, 25.3),
        "0.70+margin0.05": (72.3, 0.6, 27.1),
        "oos_abstained_0.70": None,
    },
}
# The spec's check: the baseline at 0.70 streamed through these draws.
BASELINE_CHECK = {"dataset": "clinc150", "seed": 0, "threshold": 0.70, "figures": (45.0, 3.2, 51.8)}



# --------------------------------------------------------------------------
# Datasets


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    in_scope: bool


@dataclass
class Dataset:
    name: str
    seed: int
    entries: list[dict[str, Any]]  # knowledge-file entries: id, questions, answer
    stream: list[Row]
    in_scope: frozenset[str]
    known: list[str]  # known labels, in draw order
    answers: dict[str, str]  # label -> the fixed answer staff give

    @property
    def size(self) -> int:
        return len(self.stream)


def label_answer(label: str) -> str:
    """The fixed answer text of a CLINC150/HINT3 label (entry and staff)."""
    return f"Here is how to handle {label.replace('_', ' ')}: follow the {label} guide in the help centre."


@cache
def _read_csv(path: str) -> tuple[dict[str, str], ...]:
    with open(path, newline="", encoding="utf-8") as f:
        return tuple(csv.DictReader(f))


@cache
def _read_jsonl(path: str) -> tuple[dict[str, Any], ...]:
    with open(path, encoding="utf-8") as f:
        return tuple(json.loads(line) for line in f if line.strip())


def build_labelled(
    name: str,
    seed: int,
    train: Sequence[tuple[str, str]],
    test: Sequence[tuple[str, str]],
    in_scope: Iterable[str],
    answer: Callable[[str], str] = label_answer,
) -> Dataset:
    """Steps 1-3 of the protocol for an intent dataset.

    ``train``/``test`` are (text, label) rows in file order; labels outside
    ``in_scope`` are out of scope.
    """
    rng = random.Random(seed)
    labels = sorted(set(in_scope))
    scope = frozenset(labels)
    rng.shuffle(labels)
    known = labels[: len(labels) // 2]
    by_label: dict[str, list[str]] = {}
    for text, label in train:
        by_label.setdefault(label, []).append(text)
    entries = []
    for label in known:
        pool = by_label.get(label, [])
        entries.append({"id": label, "questions": rng.sample(pool, min(3, len(pool))), "answer": answer(label)})
    stream = [Row(text, label, label in scope) for text, label in test]
    rng.shuffle(stream)
    return Dataset(name, seed, entries, stream, scope, known, {label: answer(label) for label in labels})


def build_stackfaq(seed: int, faqs: Sequence[dict[str, Any]], name: str = "stackfaq") -> Dataset:
    """Steps 1-3 for StackFAQ: label = faq_id, every label in scope."""
    rng = random.Random(seed)
    by_id = {int(f["faq_id"]): f for f in faqs}
    ids = sorted(by_id)
    rng.shuffle(ids)
    known_ids = ids[: len(ids) // 2]
    entries = [
        {"id": str(i), "questions": [by_id[i]["question"]], "answer": by_id[i]["answers"][0]} for i in known_ids
    ]
    stream = [Row(p, str(int(f["faq_id"])), True) for f in faqs for p in f["paraphrases"]]
    rng.shuffle(stream)
    answers = {str(i): by_id[i]["answers"][0] for i in by_id}
    return Dataset(name, seed, entries, stream, frozenset(answers), [str(i) for i in known_ids], answers)


def build_dataset(name: str, seed: int, data_dir: Path = DATA_DIR) -> Dataset:
    if name == "clinc150":
        rows = _read_csv(str(data_dir / "clinc150_full.csv"))
        train = [(r["text"], r["intent"]) for r in rows if r["split"] == "train"]
        test = [(r["text"], r["intent"]) for r in rows if r["split"] == "test"]
        scope = {r["intent"] for r in rows} - {"oos"}
        return build_labelled(name, seed, train, test, scope)
    if name in ("sofmattress", "curekart"):
        rows = [r for r in _read_csv(str(data_dir / "hint3_v2.csv")) if r["bot"] == name]
        train = [(r["text"], r["label"]) for r in rows if r["split"] == "train"]
        test = [(r["text"], r["label"]) for r in rows if r["split"] == "test"]
        scope = {r["label"] for r in rows} - {"NO_NODES_DETECTED"}
        return build_labelled(name, seed, train, test, scope)
    if name == "stackfaq":
        return build_stackfaq(seed, _read_jsonl(str(data_dir / "stackfaq.jsonl")))
    if name in EXTRA_DATASETS:
        file, builder, variable = ((HWU64_FILE, "hwu64", "BENCH_HWU64") if name == "hwu64"
                                   else (BANKING77_FILE, "banking77", "BENCH_BANKING77"))
        if not file.exists():
            raise ValueError(f"no {file}: build it with bench/{builder}.py --repo PATH (or set {variable})")
        rows = _read_csv(str(file))
        train = [(r["text"], r["intent"]) for r in rows if r["split"] == "train"]
        test = [(r["text"], r["intent"]) for r in rows if r["split"] == "test"]
        return build_labelled(name, seed, train, test, {r["intent"] for r in rows} - {"oos"})
    raise ValueError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)})")


def write_knowledge_file(entries: Iterable[dict[str, Any]], path: Path) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")
