#!/usr/bin/env python
"""An offline simulator of the quality benchmark's protocol, at the embedding level.

No replay process: the stream, the knowledge file and the staff answers are
drawn exactly as ``bench/quality_data.py`` draws them; retrieval is a dot
product over the question forms' vectors; the decision, the teaching (a routed
in-scope question becomes a form of its label's entry), encoder adaptation and
calibration are played in process. It is a research tool for choosing a
design in minutes, not a measurement of the product: ``bench/quality.py``
measures the product.

    python bench/sim_adapt.py --datasets clinc150 --seeds 0 --rule policy      # today's policy
    python bench/sim_adapt.py --rule calibrated --adapt top2 --every 150

Outputs one line per dataset/seed and the mean: direct, clarified, wrong,
did-you-mean asked, out-of-scope abstained, direct per quarter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality_data import DATASETS, EXTRA_DATASETS, REPO_ROOT, build_dataset
from learning.adapt import AdaptConfig, Calibrated, calibrate
from learning.calibration import Calibrator
from learning.heldout import better, evaluate, features_of, is_held_out, rank_entries
from learning.tuning import TopLayers, TrainConfig, train

CACHE = REPO_ROOT / "bench" / "results" / "sim-cache"


class Encoder:
    """Lower states cached per text; upper weights per model version."""

    def __init__(self, model: TopLayers, dataset: str) -> None:
        self.model = model
        self.dataset = dataset
        self.states: dict[str, torch.Tensor] = {}
        path = CACHE / f"{dataset}-lower-{model.tokenizer.truncation['max_length']}.pt"
        if path.exists():
            self.states = torch.load(path)
        self._path = path

    def prepare(self, texts: list[str]) -> None:
        missing = [t for t in dict.fromkeys(texts) if t not in self.states]
        if missing:
            for t, s in zip(missing, self.model.lower(missing), strict=True):
                self.states[t] = s
            CACHE.mkdir(parents=True, exist_ok=True)
            torch.save(self.states, self._path)

    def encode(self, texts: list[str], weights: dict | None) -> np.ndarray:
        return self.model.encode_states([self.states[t] for t in texts], weights)


@dataclass
class Form:
    text: str
    label: str
    taught: bool


@dataclass
class Sim:
    forms: list[Form] = field(default_factory=list)
    vectors: np.ndarray | None = None
    weights: dict | None = None
    version: int = 0
    lessons: int = 0
    outcomes: list[tuple[np.ndarray, int, int]] = field(default_factory=list)  # live calibration examples
    pairs_extra: list[Form] = field(default_factory=list)  # clarify picks (pairs, not forms)


def policy_decide(ranked: list[dict]) -> tuple[str, list[str]]:
    """Today's hand-set policy (bot/policy.py defaults), for reference."""
    if not ranked:
        return "route", []
    top = ranked[0]
    score = top["score"]
    margin = score - ranked[1]["score"] if len(ranked) > 1 else score
    if score < 0.55:
        return "route", []
    agreed = top["second"] is not None and top["second"] >= score - 0.15
    floor = 0.64 if agreed else 0.76
    if (score >= 0.90 and margin >= 0.05) or (score >= floor and margin >= 0.15):
        return "answer", [top["entry"]]
    choices = [r["entry"] for r in ranked if score - r["score"] <= 0.14 and r["score"] >= 0.50][:3]
    if len(choices) >= 2:
        return "clarify", choices
    return "route", []


def calibrated_decide(probs: list[float], together: tuple[float, float], ranked: list[dict],
                      answer_at: float, clarify_at: float) -> tuple[str, list[str]]:
    """``bot.policy.decide_calibrated``, without stale entries, conflicts or hold-backs."""
    if not ranked:
        return "route", []
    if probs[0] >= answer_at:
        return "answer", [ranked[0]["entry"]]
    for n, p in zip((2, 3), together, strict=True):
        if n <= len(ranked) and p >= clarify_at:
            return "clarify", [r["entry"] for r in ranked[:n]]
    return "route", []


def held_out(form: Form) -> bool:
    return form.taught and is_held_out(form.text)


def fit_calib(sim: Sim, vectors: np.ndarray, args: argparse.Namespace,
              usable: np.ndarray | None = None) -> Calibrated:
    config = AdaptConfig(target=args.target, answer_floor=args.floor, prior_strength=args.strength,
                         unknown_weight=args.unknown_weight, seed=len(sim.forms), expected=args.expected)
    live = None
    if args.live and sim.outcomes:
        live = (np.array([o[0] for o in sim.outcomes]), np.array([float(o[1]) for o in sim.outcomes]),
                np.array([o[2] for o in sim.outcomes], dtype=int))
    return calibrate([f.text for f in sim.forms], [f.label for f in sim.forms], vectors, config,
                     usable=usable, live=live)


def run(name: str, seed: int, args: argparse.Namespace, enc: Encoder) -> dict:
    ds = build_dataset(name, seed)
    stream = ds.stream[: args.limit] if args.limit else ds.stream
    sim = Sim()
    for e in ds.entries:
        for q in e["questions"]:
            sim.forms.append(Form(q, e["id"], False))
    enc.prepare([f.text for f in sim.forms] + [r.text for r in stream])
    sim.vectors = enc.encode([f.text for f in sim.forms], None)
    stream_vecs = enc.encode([r.text for r in stream], None)
    calib = Calibrated(Calibrator.prior(), 0.9)
    if args.rule == "calibrated":
        calib = fit_calib(sim, sim.vectors, args)
    outcomes = []
    trace: list[tuple[float, int, int, int]] = []
    quarter = max(1, len(stream) // 4)
    direct_q = [0, 0, 0, 0]
    t0 = time.perf_counter()
    train_s = 0.0
    promotions = []
    for i, row in enumerate(stream):
        labels = [f.label for f in sim.forms]
        scores = sim.vectors @ stream_vecs[i]
        ranked = [{"entry": r.entry, "score": r.score, "second": r.second, "support": r.support}
                  for r in rank_entries(scores, labels)]
        forms_of: dict[str, list[str]] = defaultdict(list)
        for f in sim.forms:
            forms_of[f.label].append(f.text)
        feats = features_of(row.text, rank_entries(scores, labels), forms_of)
        if args.rule == "policy":
            kind, opts = policy_decide(ranked)
        else:
            probs = calib.model.probs(feats)
            together = calib.together(feats[0]) if feats else (0.0, 0.0)
            kind, opts = calibrated_decide(probs, together, ranked, calib.answer_at, args.clarify_target)
        if feats:
            trace.append((calib.model.prob(feats[0]), int(row.in_scope and ranked[0]["entry"] == row.label),
                          int(row.in_scope), i))
        outcome = "abstained"
        routed = False
        clar = kind == "clarify"
        if kind == "answer":
            outcome = "correct" if row.in_scope and opts[0] == row.label else "wrong"
        elif kind == "clarify":
            if row.in_scope and row.label in opts:
                outcome = "clarified_correct"
                sim.pairs_extra.append(Form(row.text, row.label, True))
                where = next((k for k, r in enumerate(ranked[:3]) if r["entry"] == row.label), 99)
                sim.outcomes.append((feats[0], 1 if where == 0 else 0, where))
            else:
                routed = True
        else:
            routed = True
        if routed and row.in_scope:
            # staff teach: a new form of the label's entry (new entry if unknown)
            if feats:
                where = next((k for k, r in enumerate(ranked[:3]) if r["entry"] == row.label), 99)
                sim.outcomes.append((feats[0], 1 if where == 0 else 0, where))
            sim.forms.append(Form(row.text, row.label, True))
            sim.vectors = np.vstack([sim.vectors, stream_vecs[i][None, :]])
            sim.lessons += 1
        outcomes.append((outcome, clar, row.in_scope))
        if outcome == "correct":
            direct_q[min(3, i // quarter)] += 1
        due = args.adapt != "none" and sim.lessons >= args.every
        if due or (args.rule == "calibrated" and routed and row.in_scope and sim.lessons % args.recalibrate == 0):
            t1 = time.perf_counter()
            if due:
                sim.lessons = 0
                cand = adapt(sim, enc, args, seed + i)
                cand_vecs = enc.encode([f.text for f in sim.forms], cand)
                held = np.array([held_out(f) for f in sim.forms])
                texts = [f.text for f in sim.forms]
                labs = [f.label for f in sim.forms]
                cur_c = fit_calib(sim, sim.vectors, args, usable=~held)
                new_c = fit_calib(sim, cand_vecs, args, usable=~held)
                cur = evaluate(texts, labs, sim.vectors, held, cur_c.model, cur_c.answer_at)
                new = evaluate(texts, labs, cand_vecs, held, new_c.model, new_c.answer_at)
                ok = better(new, cur)
                promotions.append((i, cur.as_dict(), new.as_dict(), round(cur_c.answer_at, 3),
                                   round(new_c.answer_at, 3), ok))
                cur_calib = fit_calib(sim, sim.vectors, args)
                new_calib = fit_calib(sim, cand_vecs, args)
                if ok or args.always_promote:
                    sim.weights = cand
                    sim.version += 1
                    sim.vectors = cand_vecs
                    rest = [r.text for r in stream[i + 1:]]
                    if rest:
                        stream_vecs[i + 1:] = enc.encode(rest, cand)
                    calib = new_calib
                else:
                    calib = cur_calib
            else:
                calib = fit_calib(sim, sim.vectors, args)
            train_s += time.perf_counter() - t1
    n = len(outcomes)
    oos = [o for o in outcomes if not o[2]]
    res = {
        "dataset": name, "seed": seed, "n": n,
        "direct": 100 * sum(o[0] == "correct" for o in outcomes) / n,
        "clarified": 100 * sum(o[0] == "clarified_correct" for o in outcomes) / n,
        "wrong": 100 * sum(o[0] == "wrong" for o in outcomes) / n,
        "dym": 100 * sum(o[1] for o in outcomes) / n,
        "oos_abst": 100 * sum(o[0] != "wrong" for o in oos) / len(oos) if oos else None,
        "quarters": [100 * d / quarter for d in direct_q],
        "answer_at": round(calib.answer_at, 3), "versions": sim.version, "promotions": promotions, "train_s": round(train_s, 1),
        "wall_s": round(time.perf_counter() - t0, 1),
        "trace": trace,
    }
    return res


def adapt(sim: Sim, enc: Encoder, args: argparse.Namespace, seed: int) -> dict:
    rows = [f for f in sim.forms if not (f.taught and held_out(f))] + sim.pairs_extra
    states = [enc.states[f.text] for f in rows]
    labels = [f.label for f in rows]
    confusions: dict[str, str] = {}
    if args.hard:
        # the entry each entry's forms are closest to (by centroid), under the current model
        labs = sorted(set(labels))
        vec = sim.vectors
        all_labels = [f.label for f in sim.forms]
        cent = np.stack([vec[[j for j, x in enumerate(all_labels) if x == lab]].mean(0) for lab in labs])
        cent /= np.linalg.norm(cent, axis=1, keepdims=True)
        cs = cent @ cent.T
        np.fill_diagonal(cs, -2)
        confusions = {lab: labs[int(np.argmax(cs[k]))] for k, lab in enumerate(labs)}
    cfg = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=seed, hard_negatives=args.hard)
    start = None if args.fresh else sim.weights
    return train(enc.model, states, labels, start, cfg, confusions)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="clinc150,sofmattress,stackfaq")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--rule", default="calibrated", choices=["policy", "calibrated"])
    ap.add_argument("--adapt", default="none", choices=["none", "top2"])
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--hard", action="store_true")
    ap.add_argument("--fresh", action="store_true", help="train from the base model every time")
    ap.add_argument("--always-promote", action="store_true")
    ap.add_argument("--target", type=float, default=0.01)
    ap.add_argument("--clarify-target", type=float, default=0.85)
    ap.add_argument("--unknown-weight", type=float, default=1.0)
    ap.add_argument("--live", type=float, default=1.0, help="weight of live outcomes in calibration")
    ap.add_argument("--recalibrate", type=int, default=100)
    ap.add_argument("--floor", type=float, default=0.9)
    ap.add_argument("--expected", action="store_true", help="operating point from expected error, not labels")
    ap.add_argument("--strength", type=float, default=20.0)
    ap.add_argument("--fixed", type=float, default=None, help="answer at this probability (no operating point)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    from knowledge.embedder import model_path

    model = TopLayers(model_path())
    results = []
    for name in args.datasets.split(","):
        assert name in DATASETS + EXTRA_DATASETS
        enc = Encoder(model, name)
        for seed in (int(s) for s in args.seeds.split(",")):
            r = run(name, seed, args, enc)
            results.append(r)
            q = " ".join(f"{x:.1f}" for x in r["quarters"])
            for pr in r["promotions"]:
                print("   adapt at", pr, flush=True)
            print(f"{name:12s} s{seed} n={r['n']:5d} direct {r['direct']:5.1f} +clar {r['clarified']:5.1f} "
                  f"= {r['direct'] + r['clarified']:5.1f} wrong {r['wrong']:4.2f} dym {r['dym']:5.1f} "
                  f"oos {r['oos_abst'] if r['oos_abst'] is None else round(r['oos_abst'], 1)} "
                  f"q[{q}] at {r['answer_at']} v{r['versions']} train {r['train_s']}s wall {r['wall_s']}s", flush=True)
        for tau in (0.5, 0.7, 0.8, 0.9, 0.95, 0.97, 0.99):
            tr = r["trace"]
            ans = [t for t in tr if t[0] >= tau]
            print(f"   p>={tau}: top-right {100 * sum(t[1] for t in ans) / r['n']:.1f} "
                  f"top-wrong {100 * sum(1 - t[1] for t in ans) / r['n']:.2f} "
                  f"(mean 1-p {100 * sum(1 - t[0] for t in ans) / r['n']:.2f})")
    if args.out:
        Path(args.out).write_text(json.dumps({"args": vars(args), "results": results}, default=str))


if __name__ == "__main__":
    main()
