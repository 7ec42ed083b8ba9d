#!/usr/bin/env python
"""Research: one stream played with today's thresholds and encoder adaptation,
every question's retrieval written down, so decision rules can be compared
offline (``bench/sim_rules.py``) without replaying the stream each time.

Per question: the model version, the row's label, whether it is in scope and
whether its label had an entry at that moment, the ten best entries (score,
second-best form, support among the five nearest forms), the entries'
kNN vote shares and centroid similarities. Per adaptation: the held-out taught
pairs asked against the rest of the store under the new model (what the bot
itself can measure).

    python bench/sim_trace.py --dataset clinc150 --seed 0 --out bench/results/trace-clinc150-0.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quality_data import build_dataset
from bench.sim_adapt import Encoder, Form, policy_decide
from learning.heldout import better, is_held_out, rank_entries
from learning.rule import FormRule, evaluate_rule
from learning.tuning import TopLayers, TrainConfig, train

TOP = 10


def describe(scores: np.ndarray, labels: list[str], vectors: np.ndarray, q: np.ndarray,
             by_label: dict[str, list[int]]) -> list[list]:
    """[entry, score, second, support, vote share (tau .05), centroid cosine, coherence (norm of the
    mean of its unit form vectors: the mean cosine of its forms to their centroid), forms] of the best entries."""
    ranked = rank_entries(scores, labels)[:TOP]
    k = min(20, len(scores))
    near = np.argpartition(-scores, k - 1)[:k]
    w = np.exp((scores[near] - scores[near].max()) / 0.05)
    votes: dict[str, float] = defaultdict(float)
    for i, weight in zip(near, w, strict=True):
        votes[labels[i]] += float(weight)
    total = sum(votes.values())
    out = []
    for r in ranked:
        own = vectors[by_label[r.entry]]
        cent = own.mean(0)
        coherence = float(np.linalg.norm(cent))
        cent /= max(coherence, 1e-9)
        out.append([r.entry, round(r.score, 4), None if r.second is None else round(r.second, 4), r.support,
                    round(votes.get(r.entry, 0.0) / total, 4), round(float(cent @ q), 4),
                    round(coherence, 4), len(own)])
    return out


def adapt(enc: Encoder, forms: list[Form], extra: list[Form], weights: dict | None, vectors: np.ndarray,
          args: argparse.Namespace, seed: int) -> dict:
    rows = [f for f in forms if not (f.taught and is_held_out(f.text))] + extra
    labels = [f.label for f in rows]
    names = sorted({f.label for f in forms})
    all_labels = [f.label for f in forms]
    cent = np.stack([vectors[[j for j, x in enumerate(all_labels) if x == n]].mean(0) for n in names])
    cent /= np.linalg.norm(cent, axis=1, keepdims=True)
    cs = cent @ cent.T
    np.fill_diagonal(cs, -2)
    confusions = {n: names[int(np.argmax(cs[k]))] for k, n in enumerate(names)}
    cfg = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=seed, hard_negatives=True)
    return train(enc.model, [enc.states[f.text] for f in rows], labels, weights, cfg, confusions)


def held_out_view(forms: list[Form], vectors: np.ndarray) -> list[dict]:
    """Each held-out taught pair asked against the rest (its own entry kept, then removed)."""
    held = np.array([f.taught and is_held_out(f.text) for f in forms])
    labels = [f.label for f in forms]
    labels_arr = np.array(labels)
    out = []
    for i in np.flatnonzero(held):
        s = vectors @ vectors[i]
        s[held] = -2.0
        known = [[r.entry, round(r.score, 4), None if r.second is None else round(r.second, 4), r.support]
                 for r in rank_entries(s, labels)[:5]]
        s[labels_arr == labels[i]] = -2.0
        unknown = [[r.entry, round(r.score, 4), None if r.second is None else round(r.second, 4), r.support]
                   for r in rank_entries(s, labels)[:5]]
        out.append({"label": labels[i], "known": known, "unknown": unknown})
    return out


def accuracy(view: list[dict]) -> float:
    return sum(1 for v in view if v["known"] and v["known"][0][0] == v["label"]) / max(len(view), 1)


def promoted(args: argparse.Namespace, forms: list[Form], before: list[dict], after: list[dict],
             vectors: np.ndarray, cand_vecs: np.ndarray) -> bool:
    """By held-out top-1 accuracy, or (``--by-rule``) as the bot does by default."""
    if args.always:
        return True
    if not args.by_rule:
        return accuracy(after) > accuracy(before)
    held = np.array([f.taught and is_held_out(f.text) for f in forms])
    labels = [f.label for f in forms]
    return better(evaluate_rule(labels, cand_vecs, held, FormRule()), evaluate_rule(labels, vectors, held, FormRule()))


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    from knowledge.embedder import model_path

    enc = Encoder(TopLayers(model_path()), args.dataset)
    ds = build_dataset(args.dataset, args.seed)
    stream = ds.stream[: args.limit] if args.limit else ds.stream
    forms = [Form(q, e["id"], False) for e in ds.entries for q in e["questions"]]
    extra: list[Form] = []
    enc.prepare([f.text for f in forms] + [r.text for r in stream])
    weights = None
    vectors = enc.encode([f.text for f in forms], None)
    stream_vecs = enc.encode([r.text for r in stream], None)
    version, lessons = 0, 0
    trace, adaptations = [], []
    started = time.perf_counter()
    for i, row in enumerate(stream):
        labels = [f.label for f in forms]
        by_label: dict[str, list[int]] = defaultdict(list)
        for j, lab in enumerate(labels):
            by_label[lab].append(j)
        q = stream_vecs[i]
        scores = vectors @ q
        top = describe(scores, labels, vectors, q, by_label)
        known = row.label in by_label
        trace.append({"i": i, "v": version, "label": row.label, "in": row.in_scope, "known": known,
                      "forms": len(forms), "n_label": len(by_label.get(row.label, [])), "top": top,
                      "text": row.text})
        ranked = [{"entry": t[0], "score": t[1], "second": t[2], "support": t[3]} for t in top]
        kind, opts = policy_decide(ranked)
        routed = kind == "route" or (kind == "clarify" and not (row.in_scope and row.label in opts))
        if kind == "clarify" and row.in_scope and row.label in opts:
            extra.append(Form(row.text, row.label, True))
        if routed and row.in_scope:
            forms.append(Form(row.text, row.label, True))
            vectors = np.vstack([vectors, q[None, :]])
            lessons += 1
        trace[-1]["decision"] = kind
        if args.every and lessons >= args.every:
            lessons = 0
            t0 = time.perf_counter()
            cand = adapt(enc, forms, extra, weights, vectors, args, args.seed + i)
            cand_vecs = enc.encode([f.text for f in forms], cand)
            before, after = held_out_view(forms, vectors), held_out_view(forms, cand_vecs)
            promote = promoted(args, forms, before, after, vectors, cand_vecs)
            adaptations.append({"i": i, "from": version, "promoted": promote, "acc_before": accuracy(before),
                                "acc_after": accuracy(after), "held": after if promote else before,
                                "seconds": round(time.perf_counter() - t0, 1)})
            print(f"  row {i}: held-out top-1 {accuracy(before):.3f} -> {accuracy(after):.3f}"
                  f" {'promoted' if promote else 'rejected'} ({time.perf_counter() - t0:.0f} s)", flush=True)
            if promote:
                weights, vectors, version = cand, cand_vecs, version + 1
                rest = [r.text for r in stream[i + 1:]]
                if rest:
                    stream_vecs[i + 1:] = enc.encode(rest, cand)
    print(f"{args.dataset} s{args.seed}: {len(stream)} rows, {version} promotions, "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return {"dataset": args.dataset, "seed": args.seed, "entries": [e["id"] for e in ds.entries],
            "trace": trace, "adaptations": adaptations}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="clinc150")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--always", action="store_true", help="promote every candidate")
    ap.add_argument("--by-rule", action="store_true",
                    help="promote as the bot does by default (learning.rule: the centroid rule on held-out pairs)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    Path(args.out).write_text(json.dumps(run(args)))


if __name__ == "__main__":
    main()
