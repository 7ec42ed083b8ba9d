#!/usr/bin/env python
"""Why each wrong answer and each "did you mean" of a quality run happened.

Joins the real bot's per-row outcomes (``bench/quality.py --save-rows``) with
the decision it logged for that row (``--keep-stores DIR``: each dataset and
seed keeps its store as ``DIR/<dataset>-<seed>.db``). Per dataset and seed:

* every wrong answer: the row's label, whether it had an entry at that moment,
  the answering entry and the three best candidates (score / second form /
  centroid), and the rule's reason;
* the "did you mean" questions asked, by kind (one option to confirm, several
  options) and outcome (the right entry among the options or not), and of the
  failed ones how many had no entry for their label at that moment (no option
  could have been right).

    python bench/quality.py --datasets stackfaq --seeds 0 --save-rows --keep-stores /tmp/q --out /tmp/q/r.json
    python bench/quality_why.py /tmp/q/r.json /tmp/q
    python bench/quality_why.py /tmp/q/r.json /tmp/q --set sure_centroid_floor=0.5

With ``--set`` it also replays every row's logged question/answer decision under
other policy settings (``bot.policy.decide_forms`` on the logged candidates) and
prints direct / direct + clarified / wrong / asked before and after: a guide,
not a measurement (what was learned stays as the run learned it; an option
offered is taken as picked when it holds the row's label).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any


def decisions(store: Path) -> dict[str, dict[str, Any]]:
    """The first decision logged for each event id (a row's question is ``q<i>``)."""
    out: dict[str, dict[str, Any]] = {}
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
        for event, body in conn.execute("SELECT event_id, body FROM log WHERE kind = 'decision' ORDER BY seq"):
            out.setdefault(str(event), json.loads(body))
    return out


def _num(x: object) -> str:
    return "-" if x is None else f"{float(str(x)):.2f}"


def candidates(decision: dict[str, Any], n: int = 3) -> str:
    return " ".join(f"{c['entry']}:{_num(c.get('score'))}/{_num(c.get('second'))}/{_num(c.get('centroid'))}"
                    for c in decision.get("candidates", [])[:n])


def explain(rows: list[dict[str, Any]], decided: dict[str, dict[str, Any]]) -> tuple[list[str], Counter[str]]:
    """Lines for the wrong answers, and the "did you mean" tally."""
    lines: list[str] = []
    asked: Counter[str] = Counter()
    for row in rows:
        decision = decided.get(f"q{row['i']}")
        if decision is None:
            continue
        had_entry = bool(row["in_scope"] and (row["known_at_start"] or row["taught_before"]))
        if row["outcome"] == "wrong":
            lines.append(f"  wrong  row {row['i']:>5} label {row['label']} ({'in scope' if row['in_scope'] else 'oos'}, "
                         f"{'had an entry' if had_entry else 'no entry'}) answered {row['entry']} "
                         f"[{decision.get('decision')}] {candidates(decision)}  {decision.get('why', '')}")
        if decision.get("decision") == "clarify":
            kind = "one option" if len(decision.get("options", [])) == 1 else "several options"
            ok = row["outcome"] == "clarified_correct"
            asked[f"{kind}: {'right one offered' if ok else 'not offered'}"] += 1
            if not ok and not had_entry:
                asked[f"{kind}: not offered, no entry for the label yet"] += 1
    return lines, asked


def _options(decision: dict[str, Any]) -> list[Any]:
    from bot.policy import Option

    probs = decision.get("probabilities") or []
    return [Option(entry=c["entry"], score=c["score"], support=c.get("support", 1), second=c.get("second"),
                   centroid=c.get("centroid"), stale=bool(c.get("stale", False)),
                   probability=probs[k] if k < len(probs) else None)
            for k, c in enumerate(decision.get("candidates", [])) if c.get("kind", "curated") != "docs"]


def replayed(row: dict[str, Any], decision: dict[str, Any] | None, t: Any, label_of: dict[str, str]
             ) -> tuple[str, bool]:
    """(outcome, asked) of ``row`` were its question decided under settings ``t``."""
    from bot.policy import Signals, decide_forms

    logged = (row["outcome"], bool(row["clarify_rounds"]))
    if (decision is None or decision.get("decision") not in ("answer", "clarify", "route")
            or decision.get("reason") in ("human_requested", "sensitive") or not decision.get("candidates")):
        return logged
    new = decide_forms(_options(decision), Signals(), t)
    if (new.kind, new.entry, list(new.options)) == (decision["decision"], decision.get("entry"),
                                                    decision.get("options", [])):
        return logged

    def right(entry: str | None) -> bool:
        return bool(row["in_scope"] and entry is not None and label_of.get(entry, entry) == row["label"])

    if new.kind == "answer":
        return ("correct" if right(new.entry) else "wrong"), False
    if new.kind == "clarify":
        return ("clarified_correct" if any(right(e) for e in new.options) else "abstained"), True
    return "abstained", False


def tally(outcomes: list[tuple[str, bool]]) -> str:
    n = max(len(outcomes), 1)
    direct = sum(o == "correct" for o, _ in outcomes)
    both = direct + sum(o == "clarified_correct" for o, _ in outcomes)
    return (f"{100 * direct / n:.2f} / {100 * both / n:.2f} / {100 * sum(o == 'wrong' for o, _ in outcomes) / n:.2f}"
            f" / asked {100 * sum(a for _, a in outcomes) / n:.2f} %")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("result", help="bench/quality.py JSON written with --save-rows")
    ap.add_argument("stores", help="the --keep-stores directory of that run")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="replay the decisions under this policy setting too (may repeat)")
    args = ap.parse_args()
    from bot.settings import PolicySettings

    changed = PolicySettings().model_copy(update={k: float(v) for k, v in (a.split("=", 1) for a in args.set)})
    result = json.loads(Path(args.result).read_text(encoding="utf-8"))
    for name, data in result["datasets"].items():
        for seed, run in data["seeds"].items():
            store = Path(args.stores) / f"{name}-{seed}.db"
            if "rows" not in run or not store.exists():
                print(f"{name} seed {seed}: no rows or no store ({store})")
                continue
            decided = decisions(store)
            lines, asked = explain(run["rows"], decided)
            n = len(run["rows"])
            print(f"{name} seed {seed}: {n} rows, {len(lines)} wrong, "
                  f"{sum(v for k, v in asked.items() if 'yet' not in k)} asked")
            print("\n".join(lines))
            for key in sorted(asked):
                print(f"  asked  {key}: {asked[key]}")
            if args.set:
                label_of = {r["entry"]: r["label"] for r in run["rows"]
                            if r["entry"] and r["outcome"] in ("correct", "clarified_correct")}
                before = [(r["outcome"], bool(r["clarify_rounds"])) for r in run["rows"]]
                after = [replayed(r, decided.get(f"q{r['i']}"), changed, label_of) for r in run["rows"]]
                print(f"  replay direct / incl. clarified / wrong: {tally(before)} -> {tally(after)} "
                      f"with {', '.join(args.set)}")


if __name__ == "__main__":
    main()
