#!/usr/bin/env python
"""The quality benchmark v1 (``../shared/spec/quality-benchmark.md``).

Streams public datasets through a bot that speaks the replay contract
(``replay.md``), plays the askers and the staff, and scores how well the bot
decides between answering and handing over, and how much it learns.

Run (from the repository root, venv active)::

    python bench/quality.py                                   # the bot: python -m bot replay - --kb KB
    python bench/quality.py --datasets clinc150 --seeds 0 --limit 500
    python bench/quality.py --cmd "python bench/baseline_bot.py --threshold 0.70"
    python bench/quality.py --cmd "python bench/baseline_bot.py --kb {kb}" --workers 2

``--cmd`` is split like a shell command line (no shell is run) and started
with the repository root as working directory.  ``{kb}`` in it is replaced by
the knowledge file's path; without ``{kb}`` the driver appends ``--kb PATH``.
``{python}`` and a leading ``python``/``python3`` become this interpreter.

Draws (the spec's protocol, read literally; one ``random.Random(seed)`` per
dataset and seed, used in exactly this order):

1. ``labels = sorted(in_scope_labels)``; ``rng.shuffle(labels)``;
   ``known = labels[:len(labels) // 2]``.  (StackFAQ: the labels are the
   integer ``faq_id`` values, sorted numerically; entry ids are ``str(faq_id)``.)
2. For each known label, *in that shuffled order* (the order of ``known``),
   ``rng.sample(train_texts_of_label, min(3, n))``; the population is the
   label's train rows in file order.  StackFAQ draws nothing here (the
   entry's question is the thread title, its answer the first answer).
   The knowledge file lists the entries in the same order.
3. ``stream = test rows in file order`` (out-of-scope rows included where the
   dataset has them; StackFAQ: every paraphrase of every thread, threads in
   file order, paraphrases in their order); ``rng.shuffle(stream)``.

The alternative reading of step 2 (sampling in *sorted* known-label order)
gives different knowledge files; the literal reading above reproduces the
spec's check figure (CLINC150, seed 0, baseline at cosine 0.70:
45.0 / 3.2 / 51.8) - see ``bench/README.md``.

Datasets: ``clinc150`` (test split incl. ``oos`` streamed, train split for
entry questions; in scope: every intent but ``oos``), ``sofmattress`` and
``curekart`` (HINT3 v2, one dataset per bot; out of scope:
``NO_NODES_DETECTED``), ``stackfaq`` (every label in scope).  For CLINC150 and
HINT3 the answer of a label (in the knowledge file and from staff) is
``label_answer(label)``.

Scoring decisions where the spec leaves room (all documented in the JSON):

* The outcome of a question is decided by the first ``reply`` of kind
  ``answer`` or ``clarify`` among the actions before its ``done``.  An answer
  with no ``sources`` or an unknown entry id is wrong.
* ``clarify`` with ``options`` containing an entry of the row's label: the
  asker answers in the thread with the 1-based option number; otherwise with
  ``none``.  The reply that follows is handled the same way (at most
  ``MAX_CLARIFY_ROUNDS`` clarifies per question).  An answer reached after a
  clarify counts as ``clarified_correct`` when right and ``wrong`` when not.
* Not answered (routed, clarified without an answer, or nothing at all) is
  ``abstained``.  Only rows with a ``route`` action (and no answer) get a
  staff answer, and only in-scope rows.
* ``first_half_correct`` / ``second_half_correct``: the stream's first
  ``n // 2`` rows and the rest.  ``after_teach_correct``: rows whose label was
  in scope but not known at the start and for which a ``learned`` action had
  mapped an entry to that label before the row was asked.  These use
  ``correct`` (direct answers); ``*_incl_clarified`` variants are in the
  JSON.  Zero denominators give ``null``.
* Latency: wall time from writing a question's line to reading its ``done``
  (clarify follow-ups and staff messages are timed separately).  Before the
  first question the driver sends one ``tick`` (id ``warmup``, at the stream's
  start time) and times it as ``startup_s``, so model loading does not land
  in the first question's latency (``--no-warmup`` turns this off).
* Entries at the end: the distinct entry ids of the knowledge file plus every
  ``learned`` entry id seen.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as ``python bench/quality.py``
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality_data import (  # noqa: F401  (re-exported: tests and scripts use bench.quality)
    BASELINE,
    BASELINE_CHECK,
    DATA_DIR,
    DATASETS,
    EXTRA_DATASETS,
    MAX_CLARIFY_ROUNDS,
    REPO_ROOT,
    STAFF_USER,
    START,
    TITLES,
    Dataset,
    Row,
    build_dataset,
    build_labelled,
    build_stackfaq,
    label_answer,
    write_knowledge_file,
)
from bench.quality_driver import (  # noqa: F401
    BotError,
    BotProcess,
    RowResult,
    RunResult,
    bot_argv,
    run_stream,
)

# --------------------------------------------------------------------------
# Figures


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default), ``None`` when empty."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _pct(num: int, den: int) -> float | None:
    return None if den == 0 else 100.0 * num / den


def figures(run: RunResult) -> dict[str, Any]:
    rows = run.rows
    n = len(rows)

    def count(rs: Iterable[RowResult], *outcomes: str) -> int:
        return sum(1 for r in rs if r.outcome in outcomes)

    oos = [r for r in rows if not r.in_scope]
    first, second = rows[: n // 2], rows[n // 2:]
    after = [r for r in rows if r.taught_before]
    lat_ms = [r.latency_s * 1000 for r in rows]
    quarters = [rows[n * k // 4: n * (k + 1) // 4] for k in range(4)]
    return {
        "size": n,
        "correct": _pct(count(rows, "correct"), n),
        "clarified_correct": _pct(count(rows, "clarified_correct"), n),
        "correct_incl_clarified": _pct(count(rows, "correct", "clarified_correct"), n),
        "wrong": _pct(count(rows, "wrong"), n),
        "abstained": _pct(count(rows, "abstained"), n),
        "clarified": _pct(sum(1 for r in rows if r.clarify_rounds), n),
        "routed": _pct(sum(1 for r in rows if r.routed), n),
        "oos_rows": len(oos),
        "oos_abstained": _pct(sum(1 for r in oos if not r.answered), len(oos)),
        "first_half_correct": _pct(count(first, "correct"), len(first)),
        "second_half_correct": _pct(count(second, "correct"), len(second)),
        "first_half_correct_incl_clarified": _pct(count(first, "correct", "clarified_correct"), len(first)),
        "second_half_correct_incl_clarified": _pct(count(second, "correct", "clarified_correct"), len(second)),
        "quarter_correct": [_pct(count(q, "correct"), len(q)) for q in quarters],
        "quarter_correct_incl_clarified": [_pct(count(q, "correct", "clarified_correct"), len(q))
                                           for q in quarters],
        "quarter_model": [next((r.model for r in reversed(q) if r.model), None) for q in quarters],
        "models_seen": sorted({r.model for r in rows if r.model}),
        "after_teach_rows": len(after),
        "after_teach_correct": _pct(count(after, "correct"), len(after)),
        "after_teach_correct_incl_clarified": _pct(count(after, "correct", "clarified_correct"), len(after)),
        "latency_p50_ms": percentile(lat_ms, 50),
        "latency_p99_ms": percentile(lat_ms, 99),
        "staff_latency_p50_ms": percentile([x * 1000 for x in run.staff_latency_s], 50),
        "kb_entries": run.kb_entries,
        "learned": run.learned,
        "staff_answers": sum(1 for r in rows if r.staff_answered),
        "entries_end": run.entries_end,
        "startup_s": run.startup_s,
        "runtime_s": run.runtime_s,
    }


def mean_figures(per_seed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in per_seed[0] if per_seed else ():
        if key in ("quarter_correct", "quarter_correct_incl_clarified"):
            cols = [f[key] for f in per_seed if isinstance(f.get(key), list)]
            out[key] = [None if any(c[k] is None for c in cols) else sum(c[k] for c in cols) / len(cols)
                        for k in range(4)] if cols else None
            continue
        if key in ("quarter_model", "models_seen"):
            out[key] = [f.get(key) for f in per_seed]
            continue
        vals = [f[key] for f in per_seed if isinstance(f.get(key), (int, float))]
        out[key] = sum(vals) / len(vals) if vals else None
    return out


# --------------------------------------------------------------------------
# Report


def _f(x: Any, nd: int = 1) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def render(results: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title="journeybot quality benchmark v1: mean of seeds, % of streamed questions")
    for col in ("dataset", "run", "n", "correct", "+clar.", "wrong", "abst.", "oos abst.", "1st→2nd half",
                "after teach", "p50/p99 ms", "entries", "Δ vs base"):
        table.add_column(col, justify="left" if col in ("dataset", "run") else "right", no_wrap=True)
    for name, res in results["datasets"].items():
        m = res.get("mean") or {}
        base = BASELINE.get(name)
        seeds_done = len(res.get("seeds", {}))
        label = TITLES.get(name, name)
        if m:
            cc = m.get("correct_incl_clarified")
            delta = "—"
            if base and cc is not None and m.get("wrong") is not None:
                b = base["0.70"]
                delta = f"{cc - b[0]:+.1f} / {m['wrong'] - b[1]:+.1f}"
            table.add_row(
                label, f"ours ×{seeds_done}", f"{m['size']:.0f}",
                _f(m["correct"]), _f(m["clarified_correct"]), _f(m["wrong"]), _f(m["abstained"]),
                _f(m["oos_abstained"]),
                f"{_f(m['first_half_correct'])} → {_f(m['second_half_correct'])}",
                _f(m["after_teach_correct"]),
                f"{_f(m['latency_p50_ms'], 0)} / {_f(m['latency_p99_ms'], 0)}",
                _f(m["entries_end"], 0), delta,
            )
        else:
            table.add_row(label, "[red]failed[/red]", *["—"] * 11)
        if base:
            for key, tag in (("0.70", "baseline"), ("0.60", "cos≥0.60")):
                c, w, a = base[key]
                oos = _f(base["oos_abstained_0.70"]) if key == "0.70" else ""
                table.add_row("", f"[dim]{tag}[/dim]", "", f"[dim]{c:.1f}[/dim]", "", f"[dim]{w:.1f}[/dim]",
                              f"[dim]{a:.1f}[/dim]", f"[dim]{oos}[/dim]", "", "", "", "", "")
        table.add_section()
    console.print(table)
    console.print("baseline = the spec's nearest-neighbour bot at cosine ≥ 0.70 (cos≥0.60 for reference). "
                  "Read correct + clarified against its correct, at no more wrong: "
                  "Δ vs base = Δ(correct + clarified) / Δwrong.")
    for name, res in results["datasets"].items():
        m = res.get("mean") or {}
        if m.get("quarter_correct"):
            curve = " → ".join(_f(x) for x in m["quarter_correct"])
            clar = " → ".join(_f(x) for x in m.get("quarter_correct_incl_clarified") or [])
            models = "; ".join(" → ".join(str(x or "—").replace("all-MiniLM-L6-v2", "base") for x in seed)
                               for seed in (m.get("quarter_model") or []) if seed)
            console.print(f"learning curve, {TITLES.get(name, name)}: direct per quarter {curve} "
                          f"(incl. clarified {clar}); model at the end of each quarter: {models or '—'}")
    if results.get("limit"):
        console.print(f"[yellow]--limit {results['limit']}: streams are truncated; the baseline rows are "
                      f"not comparable.[/yellow]")
    if results.get("workers", 1) > 1:
        console.print("[yellow]runs were parallel: latencies are not comparable with a sequential run.[/yellow]")
    for err in results.get("failures", []):
        console.print(f"[red]FAILED {err['dataset']} seed {err['seed']}:[/red]\n{err['error']}")


# --------------------------------------------------------------------------
# CLI


def _job(name: str, seed: int, args: argparse.Namespace, env: dict[str, str], log: Callable[[str], None]
         ) -> dict[str, Any]:
    ds = build_dataset(name, seed, Path(args.data_dir))
    if args.limit is not None:
        ds.stream = ds.stream[: args.limit]
    step = max(1, ds.size // 10)
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if done % step == 0 or done == total:
            rate = done / max(time.perf_counter() - t0, 1e-9)
            log(f"{name} seed {seed}: {done}/{total} rows ({rate:.1f} rows/s)")

    log(f"{name} seed {seed}: {ds.size} rows, {len(ds.entries)} entries, starting the bot")
    cmd = args.cmd
    if args.keep_stores:  # the default bot keeps its store, so quality_why.py can read each decision
        store = Path(args.keep_stores) / f"{name}-{seed}.db"
        store.parent.mkdir(parents=True, exist_ok=True)
        for old in store.parent.glob(store.name + "*"):
            if old.is_file():
                old.unlink()
        cmd = f"python -m bot replay - --kb {{kb}} --db {shlex.quote(str(store))}"
    run = run_stream(ds, cmd, timeout=args.timeout, startup_timeout=args.startup_timeout,
                     warmup=not args.no_warmup, env=env, progress=progress)
    out = {"figures": figures(run), "protocol": run.protocol}
    if args.save_rows:
        out["rows"] = [asdict(r) for r in run.rows]
    log(f"{name} seed {seed}: done in {run.runtime_s:.1f} s")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated: " + ", ".join(DATASETS))
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--limit", type=int, default=None, help="stream at most N rows (quick runs)")
    ap.add_argument("--cmd", default=None,
                    help='bot command; "{kb}" is replaced by the knowledge file (else "--kb FILE" is appended). '
                         'Default: python -m bot replay - --kb FILE')
    ap.add_argument("--out", default=None, help="JSON output (default bench/results/quality-<timestamp>.json)")
    ap.add_argument("--workers", type=int, default=1, help="dataset/seed runs in parallel (default 1)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per event before the bot counts as stalled")
    ap.add_argument("--startup-timeout", type=float, default=600.0, help="seconds for the first event")
    ap.add_argument("--no-warmup", action="store_true", help="do not send the warm-up tick")
    ap.add_argument("--save-rows", action="store_true", help="also write every row's outcome to the JSON")
    ap.add_argument("--keep-stores", default=None, metavar="DIR",
                    help="the default bot keeps its store as DIR/<dataset>-<seed>.db (read by bench/quality_why.py)")
    ap.add_argument("--data-dir", default=str(DATA_DIR))
    args = ap.parse_args(argv)
    if args.keep_stores and args.cmd:
        ap.error("--keep-stores keeps the default bot's store; it cannot be combined with --cmd")

    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    err_console = Console(stderr=True)
    names = [d.strip() for d in args.datasets.split(",") if d.strip()]
    for name in names:
        if name not in DATASETS + EXTRA_DATASETS:
            ap.error(f"unknown dataset {name!r}")
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    env = dict(os.environ)
    if args.workers > 1 and "OMP_NUM_THREADS" not in env:
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.workers))
    lock = threading.Lock()

    def log(msg: str) -> None:
        with lock:
            err_console.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {msg}", highlight=False)

    started = datetime.now(UTC)
    t0 = time.perf_counter()
    jobs = [(name, seed) for name in names for seed in seeds]
    outcomes: dict[tuple[str, int], dict[str, Any] | BaseException] = {}

    def run_one(job: tuple[str, int]) -> None:
        try:
            outcomes[job] = _job(job[0], job[1], args, env, log)
        except Exception as e:
            outcomes[job] = e
            log(f"[red]{job[0]} seed {job[1]} failed:[/red] {e}")

    try:
        if args.workers <= 1:
            for job in jobs:
                run_one(job)
        else:
            with ThreadPoolExecutor(max_workers=args.workers) as pool:
                list(pool.map(run_one, jobs))
    except KeyboardInterrupt:
        log("[red]interrupted[/red]")
        return 130

    results: dict[str, Any] = {
        "benchmark": "quality-benchmark v1",
        "started": started.isoformat(timespec="seconds"),
        "wall_s": time.perf_counter() - t0,
        "cmd": args.cmd or "python -m bot replay - --kb {kb}",
        "seeds": seeds,
        "limit": args.limit,
        "workers": args.workers,
        "warmup": not args.no_warmup,
        "host": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                 "omp_num_threads": env.get("OMP_NUM_THREADS")},
        "datasets": {},
        "failures": [],
        "baseline": {"table": BASELINE, "check": BASELINE_CHECK},
    }
    for name in names:
        per_seed: dict[str, Any] = {}
        for seed in seeds:
            o = outcomes.get((name, seed))
            if isinstance(o, dict):
                per_seed[str(seed)] = o
            else:
                results["failures"].append({"dataset": name, "seed": seed, "error": str(o)})
        mean = mean_figures([s["figures"] for s in per_seed.values()]) if per_seed else None
        results["datasets"][name] = {"title": TITLES[name], "mean": mean, "seeds": per_seed,
                                     "complete": len(per_seed) == len(seeds)}

    out = Path(args.out) if args.out else REPO_ROOT / "bench" / "results" / (
        f"quality-{started.strftime('%Y%m%dT%H%M%SZ')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    render(results, console)
    console.print(f"wall time {results['wall_s']:.0f} s; JSON: {out}")
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
