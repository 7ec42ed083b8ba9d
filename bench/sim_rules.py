#!/usr/bin/env python
"""Research: how well does each confidence separate right answers from wrong
ones, on a trace written by ``bench/sim_trace.py``?

For each confidence (top score, lead, vote share, centroid similarity, and
combinations), the frontier: the most direct answers reachable at a given
wrong rate if the threshold were chosen with hindsight. A frontier says what
a feature *can* do; choosing the threshold without hindsight is the other half
of the problem.

    python bench/sim_rules.py bench/results/trace-clinc150-0.json

It also replays the trace's decisions under the form rule and the centroid rule
(``bot/policy.py``), keeping what the trace's run learned: a guide, not a
measurement (``bench/quality.py`` is that).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

Row = dict


def lead(r: Row) -> float:
    t = r["top"]
    return t[0][1] - (t[1][1] if len(t) > 1 else 0.0)


CONFIDENCES: dict[str, Callable[[Row], float]] = {
    "score": lambda r: r["top"][0][1],
    "lead": lead,
    "score+lead": lambda r: r["top"][0][1] + lead(r),
    "score+2lead": lambda r: r["top"][0][1] + 2 * lead(r),
    "vote": lambda r: r["top"][0][4],
    "centroid": lambda r: r["top"][0][5],
    "centroid lead": lambda r: r["top"][0][5] - max((t[5] for t in r["top"][1:]), default=0.0),
    "score+vote": lambda r: r["top"][0][1] + 0.2 * r["top"][0][4],
}


def outcome(r: Row) -> tuple[bool, bool]:
    """(right if answered, wrong if answered)."""
    right = bool(r["in"] and r["top"] and r["top"][0][0] == r["label"])
    return right, not right


def frontier(rows: list[Row], conf: Callable[[Row], float], budgets: tuple[float, ...]) -> list[float]:
    rows = [r for r in rows if r["top"]]
    c = np.array([conf(r) for r in rows])
    right = np.array([outcome(r)[0] for r in rows], dtype=float)
    order = np.argsort(-c, kind="stable")
    cr, cw = np.cumsum(right[order]), np.cumsum(1 - right[order])
    n = len(rows)
    out = []
    for b in budgets:
        ok = np.flatnonzero(cw <= b * n / 100)
        out.append(100 * cr[ok[-1]] / n if len(ok) else 0.0)
    return out


def form_rule(t: list) -> bool:
    """Today's form rule (bot/policy.py with centroid_lead 0)."""
    s, m = t[0][1], lead({"top": t})
    floor = 0.64 if t[0][2] is not None and t[0][2] >= s - 0.15 else 0.76
    return s >= 0.55 and ((s >= 0.9 and m >= 0.05) or (s >= floor and m >= 0.15))


def centroid_rule(t: list, c_lead: float = 0.12, floor: float = 0.64, margin: float = 0.05) -> bool:
    """The centroid rule (bot/policy.py defaults): the best entry's centroid leads every other's."""
    m = lead({"top": t})
    sure = t[0][1] >= 0.9 and m >= 0.05
    return sure or (CONFIDENCES["centroid lead"]({"top": t}) >= c_lead and t[0][1] >= floor and m >= margin)


def offered(t: list) -> list[str]:
    """The options a 'did you mean' offers (bot/policy.py defaults), or none."""
    s = t[0][1]
    if s < 0.55:
        return []
    c = [x[0] for x in t if s - x[1] <= 0.14 and x[1] >= 0.50][:3]
    return c if len(c) >= 2 else []


def played(rows: list[Row], answer: Callable[[list], bool]) -> tuple[float, float, float, float, float]:
    """direct, direct + clarified, wrong, asked, out-of-scope answered (% of stream / of oos rows),
    deciding each row of the trace again (what was learned stays as the trace's rule learned it)."""
    direct = clarified = wrong = asked = oos_answered = 0
    for r in rows:
        t = r["top"]
        if not t:
            continue
        if answer(t):
            direct += bool(r["in"] and t[0][0] == r["label"])
            wrong += not (r["in"] and t[0][0] == r["label"])
            oos_answered += not r["in"]
        elif opts := offered(t):
            asked += 1
            clarified += bool(r["in"] and r["label"] in opts)
    n, oos = len(rows), max(sum(1 for r in rows if not r["in"]), 1)
    return (100 * direct / n, 100 * (direct + clarified) / n, 100 * wrong / n, 100 * asked / n,
            100 * oos_answered / oos)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--budgets", default="0.25,0.5,1.0,1.5")
    args = ap.parse_args()
    budgets = tuple(float(b) for b in args.budgets.split(","))
    for path in args.traces:
        data = json.loads(Path(path).read_text())
        rows = data["trace"]
        q = len(rows) // 4
        print(f"{data['dataset']} s{data['seed']}: {len(rows)} rows; direct at wrong ≤ {budgets} (% of stream)")
        for name, conf in CONFIDENCES.items():
            whole = frontier(rows, conf, budgets)
            last = frontier(rows[3 * q:], conf, budgets)
            print(f"  {name:14s} all {' '.join(f'{x:5.1f}' for x in whole)}   last quarter "
                  f"{' '.join(f'{x:5.1f}' for x in last)}")
        for name, rule in (("form rule", form_rule), ("centroid rule", centroid_rule)):
            d, dc, w, a, o = played(rows, rule)
            print(f"  {name:14s} direct {d:.1f}, incl. clarified {dc:.1f}, wrong {w:.2f}, asked {a:.1f} %, "
                  f"out of scope answered {o:.2f} %")


if __name__ == "__main__":
    main()
