#!/usr/bin/env python
"""How fast is the core, next to the unavoidable cost of one question?

Run by hand (numbers go in notes, never in tests)::

    python bench/latency.py                       # 1k, 10k and 100k entries
    python bench/latency.py --sizes 1000,10000 --questions 200

For each store size it measures, in one process and one run:

- **raw**: one embedding of a question (the model, uncached) plus one FAISS
  search over the store's vectors: the floor any bot pays;
- **per question through the core**: ``Core.handle(Message)`` end to end,
  for the same question right after its raw measurement:
  cleaning, redaction, storing the event, embedding, search, policy, the
  case, the journey, the evidence log and the outbox, all committed;
- the **CPU time** of both (the process's, every thread): on cores shared
  with other work the wall-clock ratio mostly measures the others, while
  the CPU the core spends beside the floor's changes far less;
- **teach → searchable**: ``Core.handle`` of a staff reply on a card, after
  which the taught entry is the best hit for its question (checked);
- **start-up** (in a fresh process): imports, the model and the index from
  the stored vectors (no re-embedding), until the first question can be
  handled; and the process's **peak memory** after answering questions;
- **exact vs HNSW**: search time and recall@10 of each index kind, and the
  HNSW build time, at each size (where the switch pays).

Entries are real questions from the public datasets in ``../shared/data``
(or ``--texts``); beyond the pool, entries are distinct variants whose
vectors are the pool's perturbed by small noise (so 100k entries do not
need 100k model runs). Stores are cached under ``bench/.cache/latency``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data"
CACHE = ROOT / "bench" / ".cache" / "latency"
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load_pool(path: Path | None) -> tuple[list[str], list[str]]:
    """(entry texts, question texts): disjoint real phrasings."""
    if path is not None:
        texts = [t.strip() for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
        half = len(texts) * 9 // 10
        return texts[:half], texts[half:]
    rows = list(csv.DictReader((DATA / "clinc150_full.csv").open(encoding="utf-8")))
    entries = [r["text"] for r in rows if r["split"] in ("train", "val")]
    questions = [r["text"] for r in rows if r["split"] == "test"]
    for line in (DATA / "stackfaq.jsonl").open(encoding="utf-8"):
        faq = json.loads(line)
        entries.append(faq["question"])
        questions.extend(faq["paraphrases"][:2])
    return list(dict.fromkeys(entries)), list(dict.fromkeys(questions))


def pool_vectors(texts: list[str], embedder) -> np.ndarray:  # type: ignore[no-untyped-def]
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"pool-{len(texts)}.npy"
    if path.exists():
        return np.load(path)
    print(f"embedding the pool of {len(texts)} entry texts once (cached in {path}) …", flush=True)
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    for start in range(0, len(texts), 128):
        out[start : start + 128] = embedder.encode(texts[start : start + 128])
    np.save(path, out)
    return out


class Precomputed:
    """The real embedder, except for texts whose vectors we already hold."""

    def __init__(self, inner, known: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.known = known
        self.name = inner.name
        self.dim = inner.dim

    def encode(self, texts):  # type: ignore[no-untyped-def]
        missing = [t for t in texts if t not in self.known]
        fresh = dict(zip(missing, self.inner.encode(missing), strict=True)) if missing else {}
        return np.stack([self.known.get(t, fresh.get(t)) for t in texts]).astype(np.float32)

    async def embed(self, texts):  # type: ignore[no-untyped-def]
        return await asyncio.to_thread(self.encode, list(texts))


def entry_set(size: int, pool: list[str], vectors: np.ndarray, seed: int = 7) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    texts, rows = [], []
    for i in range(size):
        base = i % len(pool)
        round_ = i // len(pool)
        texts.append(pool[base] if round_ == 0 else f"{pool[base]} (variant {round_})")
        rows.append(base)
    vecs = vectors[rows].copy()
    variants = np.array([i // len(pool) > 0 for i in range(size)])
    if variants.any():
        noise = rng.normal(0, 0.02, size=(int(variants.sum()), vecs.shape[1])).astype(np.float32)
        vecs[variants] += noise
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return texts, vecs


async def build_store(size: int, db_path: Path, pool: list[str], vectors: np.ndarray, embedder) -> float:  # type: ignore[no-untyped-def]
    """Create a store of ``size`` entries through the real import path."""
    from knowledge.base import KnowledgeBase
    from knowledge.embedder import CachedEmbedder
    from knowledge.entries import Draft
    from knowledge.importer import import_drafts
    from storage.database import Database

    texts, vecs = entry_set(size, pool, vectors)
    pre = Precomputed(embedder, dict(zip(texts, vecs, strict=True)))
    drafts = [Draft(questions=(t,), answer=f"Answer number {i}: see the guide.", id=f"e{i}")
              for i, t in enumerate(texts)]
    start = time.perf_counter()
    async with Database(str(db_path)) as db:
        kb = KnowledgeBase(db, CachedEmbedder(pre, size=16), hnsw_min=10**9)
        await kb.open()
        report = await import_drafts(kb, drafts, author="bench", at=AT - timedelta(days=1),
                                     progress=lambda d, t: None)
        assert len(report.created) == size, report.problems[:3]
    return time.perf_counter() - start


async def measure_size(size: int, db_path: Path, questions: list[str], n_questions: int,
                       hnsw_min: int) -> dict[str, object]:
    from bot.core import Core
    from bot.events import Message
    from bot.settings import Settings

    settings = Settings(db=str(db_path), index_hnsw_min=hnsw_min)
    core = await Core.open(settings)
    inner = core.embedder.inner
    index = core.kb.index_of("default")
    try:
        asked = questions[: n_questions + 20]
        # warm up: torch kernels, sqlite pages, the first FAISS call
        for i, text in enumerate(asked[:20]):
            await core.handle(Message(id=f"w{i}", at=AT, user="warm", channel="help", text=text))
        # The same question, one after the other: the floor (one embedding of it,
        # uncached, plus one search) and the whole core. Embedding time depends
        # on the question's length, so both must see the same texts.
        raw: list[float] = []
        through: list[float] = []
        cpu: dict[str, list[float]] = {"raw": [], "core": []}
        routed: list[str] = []
        for i, text in enumerate(asked[20 : 20 + n_questions]):
            c0, t0 = time.process_time(), time.perf_counter()
            vector = inner.encode([text])
            index.search(vector, 48)
            raw.append((time.perf_counter() - t0) * 1000)
            cpu["raw"].append((time.process_time() - c0) * 1000)
            event = Message(id=f"q{i}", at=AT + timedelta(seconds=i), user=f"u{i}", channel="help", text=text)
            c0, t0 = time.process_time(), time.perf_counter()
            actions = await core.handle(event)
            through.append((time.perf_counter() - t0) * 1000)
            cpu["core"].append((time.process_time() - c0) * 1000)
            if any(type(a).__name__ == "Route" for a in actions):
                routed.append(event.id)
        teach: list[float] = []
        found = 0
        for j, key in enumerate(routed[:40]):
            case = await core.cases.get("default", key)
            assert case is not None
            answer = f"Taught answer {j}: use the new flow under Settings → Labs."
            event = Message(id=f"s{j}", at=AT + timedelta(hours=1, seconds=j), user="alice",
                            roles=("staff",), channel="staff", thread=f"card:{key}", text=answer)
            t0 = time.perf_counter()
            actions = await core.handle(event)
            teach.append((time.perf_counter() - t0) * 1000)
            learned = [a for a in actions if type(a).__name__ == "Learned"]
            vector = (await core.embedder.embed([learned[0].question]))[0]  # type: ignore[attr-defined]
            hits = await core.kb.search("default", vector)
            found += bool(hits) and hits[0].entry.id == learned[0].entry  # type: ignore[attr-defined]
        return {
            "entries": size, "index": index.kind,
            "raw_p50_ms": round(statistics.median(raw), 2), "raw_p99_ms": round(pct(raw, 0.99), 2),
            "core_p50_ms": round(statistics.median(through), 2), "core_p99_ms": round(pct(through, 0.99), 2),
            "core_over_raw_p50": round(statistics.median(through) / statistics.median(raw), 2),
            "raw_cpu_p50_ms": round(statistics.median(cpu["raw"]), 2),
            "core_cpu_p50_ms": round(statistics.median(cpu["core"]), 2),
            "core_over_raw_cpu_p50": round(statistics.median(cpu["core"]) / statistics.median(cpu["raw"]), 2),
            "teach_p50_ms": round(statistics.median(teach), 2) if teach else None,
            "teach_p99_ms": round(pct(teach, 0.99), 2) if teach else None,
            "taught_searchable": f"{found}/{len(teach)}",
            "questions": n_questions, "routed": len(routed),
        }
    finally:
        await core.close()


def startup_in_fresh_process(db_path: Path, hnsw_min: int, questions: list[str]) -> dict[str, object]:
    code = f"""
import asyncio, json, resource, sys, time
t0 = time.perf_counter()
sys.path.insert(0, {str(ROOT)!r})
from datetime import datetime, UTC
from bot.core import Core
from bot.events import Message
from bot.settings import Settings
async def main():
    core = await Core.open(Settings(db={str(db_path)!r}, index_hnsw_min={hnsw_min}))
    ready = time.perf_counter() - t0
    questions = {questions[:100]!r}
    t1 = time.perf_counter()
    for i, q in enumerate(questions):
        await core.handle(Message(id=f"p{{i}}", at=datetime(2026, 3, 3, tzinfo=UTC), user="p", channel="help", text=q))
    kind = core.kb.index_of("default").kind
    forms = core.kb.size()
    await core.close()
    print(json.dumps({{"startup_s": round(ready, 2), "index": kind, "forms": forms,
                      "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}}))
asyncio.run(main())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    return json.loads(out.stdout.strip().splitlines()[-1])


def index_kinds(vectors: np.ndarray, queries: np.ndarray, sizes: list[int]) -> list[dict[str, object]]:
    from knowledge.vectors import VectorIndex

    rows = []
    for size in sizes:
        data = vectors[:size]
        ids = np.arange(size, dtype=np.int64)
        exact = VectorIndex(data.shape[1], kind="exact")
        exact.add(ids, data)
        t0 = time.perf_counter()
        hnsw = VectorIndex(data.shape[1], kind="hnsw")
        hnsw.add(ids, data)
        build = time.perf_counter() - t0
        times = {"exact": [], "hnsw": []}  # type: dict[str, list[float]]
        recall = []
        for q in queries[:200]:
            t0 = time.perf_counter()
            _, truth = exact.search(q, 10)
            times["exact"].append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            _, got = hnsw.search(q, 10)
            times["hnsw"].append((time.perf_counter() - t0) * 1000)
            recall.append(len(set(truth[0]) & set(got[0])) / 10)
        rows.append({"vectors": size, "exact_p50_ms": round(statistics.median(times["exact"]), 3),
                     "hnsw_p50_ms": round(statistics.median(times["hnsw"]), 3),
                     "hnsw_recall@10": round(float(np.mean(recall)), 3), "hnsw_build_s": round(build, 1)})
        print(f"  index kinds at {size}: {rows[-1]}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--questions", type=int, default=300)
    parser.add_argument("--texts", type=Path, help="a file of texts, one per line, instead of the datasets")
    parser.add_argument("--hnsw-min", type=int, default=None, help="override the HNSW switch (default: settings)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--skip-index-kinds", action="store_true")
    args = parser.parse_args()

    from bot.settings import Settings
    from knowledge.embedder import TransformersEmbedder

    sizes = [int(s) for s in args.sizes.split(",")]
    hnsw_min = args.hnsw_min or Settings().index_hnsw_min
    pool, questions = load_pool(args.texts)
    embedder = TransformersEmbedder()
    vectors = pool_vectors(pool, embedder)
    CACHE.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {"when": datetime.now(UTC).isoformat(), "cpus": os.cpu_count(),
                                  "hnsw_min": hnsw_min, "sizes": []}
    for size in sizes:
        db_path = CACHE / f"store-{size}.db"
        if not db_path.exists():
            print(f"building a store of {size} entries …", flush=True)
            seconds = asyncio.run(build_store(size, db_path, pool, vectors, embedder))
            print(f"  built in {seconds:.1f} s", flush=True)
        # Start-up first (this also writes the HNSW snapshot on a large store's first open).
        first = startup_in_fresh_process(db_path, hnsw_min, questions)
        startup = startup_in_fresh_process(db_path, hnsw_min, questions) if first["index"] == "hnsw" else first
        work = CACHE / f"work-{size}.db"
        work.unlink(missing_ok=True)
        for suffix in ("-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
        subprocess.run(["cp", str(db_path), str(work)], check=True)
        row = asyncio.run(measure_size(size, work, questions, args.questions, hnsw_min))
        row.update({"startup_s": startup["startup_s"], "startup_index": startup["index"],
                    "first_open_s": first["startup_s"], "peak_rss_mb": startup["peak_rss_mb"]})
        print(json.dumps(row), flush=True)
        results["sizes"].append(row)  # type: ignore[union-attr]
    if not args.skip_index_kinds:
        _, vecs = entry_set(max(sizes), pool, vectors)
        qv = embedder.encode(questions[:200])
        results["index_kinds"] = index_kinds(vecs, qv, [s for s in (1000, 10_000, 50_000, 100_000) if s <= max(sizes)])
    results["peak_rss_mb_this_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out = args.out or ROOT / "bench" / "results" / f"latency-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\n{'entries':>8} {'index':>6} {'raw p50':>8} {'core p50':>9} {'×raw':>5} {'cpu ×raw':>8} "
          f"{'core p99':>9} {'teach p50':>10} {'start-up':>9} {'peak MB':>8}")
    for row in results["sizes"]:  # type: ignore[union-attr]
        print(f"{row['entries']:>8} {row['index']:>6} {row['raw_p50_ms']:>7}ms {row['core_p50_ms']:>8}ms "
              f"{row['core_over_raw_p50']:>5} {row['core_over_raw_cpu_p50']:>8} {row['core_p99_ms']:>8}ms {row['teach_p50_ms']!s:>9}ms "
              f"{row['startup_s']:>8}s {row['peak_rss_mb']:>8}")
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
