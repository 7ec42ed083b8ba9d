#!/usr/bin/env python
"""Figures for the trust detectors, ready to quote.

Prints, from the corpora in ``tests/bot/trust/data``:

- redaction: false positives on ordinary support text, recall on secrets and
  personal data by kind (a value counts as caught when nothing of it survives;
  for tokens, not even 8 characters), and per-message time p50/p99/max;
- commitments: precision and recall of ``find_commitments`` on replies and
  ``asks_for_commitment`` on member questions, per corpus batch;
- sensitive cases: precision and recall with keyword cues alone, and with
  ``--embeddings`` also with the bundled all-MiniLM-L6-v2 at the default
  threshold (loads the model, a few seconds).

Run from the repository root with the venv active::

    python bench/redaction.py
    python bench/redaction.py --embeddings --repeat 20
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.trust.promises import Commitment, asks_for_commitment, find_commitments  # noqa: E402
from bot.trust.redact import CREDENTIAL_KINDS, redact  # noqa: E402
from bot.trust.sensitive import DEFAULT_THRESHOLD, SensitiveDetector, Sensitivity  # noqa: E402

DATA = ROOT / "tests" / "bot" / "trust" / "data"


def load(name: str) -> list[dict[str, Any]]:
    with (DATA / f"{name}.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def leaked(kind: str, value: str, text: str) -> bool:
    if value in text:
        return True
    if kind in CREDENTIAL_KINDS and kind != "password":
        return any(value[i : i + 8] in text for i in range(len(value) - 7))
    return False


def redaction_figures(repeat: int) -> None:
    ordinary, secrets = load("ordinary"), load("secrets")
    changed = [row["text"] for row in ordinary if redact(row["text"]).text != row["text"]]
    print("== redaction")
    print(f"ordinary text: {len(changed)}/{len(ordinary)} messages redacted by mistake "
          f"({len(changed) / len(ordinary):.1%})")  # fmt: skip
    for text in changed:
        spans = redact(text).spans
        print("   false positive:", [(s.kind, text[s.start : s.end]) for s in spans])
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for row in secrets:
        redacted = redact(row["text"]).text
        for kind, value in zip(row["kinds"], row["values"], strict=True):
            total[kind] += 1
            caught[kind] += not leaked(kind, value, redacted)
    all_caught, all_total = sum(caught.values()), sum(total.values())
    print(f"secrets and personal data: {all_caught}/{all_total} values removed "
          f"({all_caught / all_total:.1%}) in {len(secrets)} messages")  # fmt: skip
    for kind in sorted(total):
        print(f"   {kind:<15} {caught[kind]:>3}/{total[kind]:<3} recall {caught[kind] / total[kind]:.3f}")
    texts = [row["text"] for row in ordinary + secrets]
    durations = []
    for _ in range(repeat):
        for text in texts:
            start = time.perf_counter()
            redact(text)
            durations.append(time.perf_counter() - start)
    durations.sort()
    p50 = durations[len(durations) // 2] * 1e6
    p99 = durations[int(len(durations) * 0.99)] * 1e6
    mean_len = statistics.mean(len(text) for text in texts)
    print(f"time per message (mean {mean_len:.0f} chars, {len(durations)} runs): "
          f"p50 {p50:.0f} us, p99 {p99:.0f} us, max {durations[-1] * 1e6:.0f} us")  # fmt: skip


def _scores(rows: list[dict[str, Any]], detect: Callable[[str], tuple[Commitment, ...]]) -> str:
    tp = fp = fn = 0
    for row in rows:
        found = bool(detect(row["text"]))
        expected = bool(row["kinds"])
        tp += found and expected
        fp += found and not expected
        fn += expected and not found
    return f"precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f} (n={len(rows)})"


def commitment_figures() -> None:
    print("== commitments")
    for name, detect in (("replies", find_commitments), ("questions", asks_for_commitment)):
        rows = load("promises" if name == "replies" else "asks")
        batches: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            batches[row.get("batch", "all")].append(row)
        print(f"{name}: {_scores(rows, detect)}")
        for batch, batch_rows in sorted(batches.items()):
            print(f"   {batch:<11} {_scores(batch_rows, detect)}")


def _sensitive_scores(rows: list[dict[str, Any]], classify: Callable[[str], Sensitivity | None]) -> str:
    tp = fp = fn = right = 0
    for row in rows:
        found, expected = classify(row["text"]), row["category"]
        tp += found is not None and expected is not None
        right += found is not None and found.category == expected
        fp += found is not None and expected is None
        fn += found is None and expected is not None
    return (f"precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f} "
            f"category accuracy {right / max(1, tp):.3f} (n={len(rows)})")  # fmt: skip


def sensitive_figures(embeddings: bool) -> None:
    rows = load("sensitive")
    print("== sensitive cases")
    print(f"cues only: {_sensitive_scores(rows, SensitiveDetector().classify)}")
    if not embeddings:
        print("(add --embeddings for the figures with the bundled model)")
        return
    from knowledge.embedder import load_embedder

    encode = load_embedder().encode
    for threshold in sorted({0.4, DEFAULT_THRESHOLD, 0.5, 0.55, 0.6}):
        detector = SensitiveDetector(embed=encode, threshold=threshold)
        marker = " (default)" if threshold == DEFAULT_THRESHOLD else ""
        print(f"cues + embeddings @ {threshold:.2f}{marker}: {_sensitive_scores(rows, detector.classify)}")
        for batch in sorted({row.get("batch", "all") for row in rows}):
            subset = [row for row in rows if row.get("batch", "all") == batch]
            print(f"   {batch:<11} {_sensitive_scores(subset, detector.classify)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="timing passes over the corpora")
    parser.add_argument("--embeddings", action="store_true", help="also measure with the bundled model")
    args = parser.parse_args()
    redaction_figures(args.repeat)
    commitment_figures()
    sensitive_figures(args.embeddings)


if __name__ == "__main__":
    main()
