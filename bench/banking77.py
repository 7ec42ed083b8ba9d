#!/usr/bin/env python
"""BANKING77 (Casanueva et al. 2020, github.com/PolyAI-LDN/task-specific-datasets,
CC BY 4.0) as a quality-benchmark dataset: 77 fine-grained banking intents, the
kind of stream issue 11 was filed on. No out-of-scope rows: every question has
an entry somewhere, half of them only after staff teach it.

The stream is the authors' test split (3,080 rows, 40 per intent); entry
questions are drawn from their train split.

    python bench/banking77.py --repo PATH/TO/task-specific-datasets   # writes bench/results/banking77.csv
    python bench/quality.py --datasets banking77 --seeds 0,1,2          # then use it like the others

``--repo`` is a git clone (or bare mirror) of the authors' repository.
"""

from __future__ import annotations

import argparse
import csv
import io
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results" / "banking77.csv"


def rows_of(repo: Path, split: str) -> list[dict[str, str]]:
    text = subprocess.run(["git", "-C", str(repo), "show", f"HEAD:banking_data/{split}.csv"], check=True,
                          capture_output=True, text=True).stdout
    return list(csv.DictReader(io.StringIO(text)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True, type=Path)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "intent", "split"])
        for split in ("train", "test"):
            for r in rows_of(args.repo, split):
                w.writerow([r["text"], r["category"], split])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
