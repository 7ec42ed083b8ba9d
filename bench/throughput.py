#!/usr/bin/env python
"""Questions per second for a burst through the real core, with and without
micro-batching of the embedding (issue 12, item 6).

Run by hand (numbers go in notes, never in tests)::

    python bench/throughput.py                          # SQLite and PostgreSQL, 10k entries
    python bench/throughput.py --stores sqlite --questions 200 --askers 40
    python bench/throughput.py --code /tmp/before       # the same burst on another checkout's code

What it measures, each in a fresh process on a fresh copy of one store of
``--entries`` entries (real questions, built once through the import path and
cached under ``bench/.cache/throughput``):

- **raw**: the bundled encoder alone, uncached, over the burst's questions, in
  batches of 1 and of 64, with the core's torch threads (``embed_threads``) and
  with every core: the rate the model allows;
- **burst**: ``--askers`` people ask ``--questions`` questions between them, all
  at once; each asker waits for the bot's reply before asking their next (so
  ``--askers`` questions are in flight). ``Core.handle`` end to end: cleaning,
  storing the event, embedding, search, policy, the case, the journey, the
  evidence log and the outbox, all committed. Questions per second over the
  burst's wall time, and p50/p99 of each question's time from arrival to its
  stored reply. Modes: ``batched`` (the settings' window and batch size) and
  ``unbatched`` (``embed_batch_max: 1``: one forward pass per question, still
  started as the question arrives); ``cached`` (batched, every question's
  vector in the embedder's cache beforehand: the core's own ceiling, with no
  model time at all);
- **one at a time**: p50/p99 per question with nobody else waiting (what a
  lone question pays, window included);
- **lock/q**: how long each event of the burst held the core's lock (its
  handling, taken in turns): once the embedding is batched outside it, the
  burst's rate is bounded by 1000 / lock/q per second.

PostgreSQL: a throwaway PostgreSQL 15 (``tests/pgserver.py``: initdb, pg_ctl,
fsync off) or ``--pg postgresql://…`` (a server where databases may be created);
the store is copied there with ``journeybot db migrate`` and cloned per run.
``--workers N``: each PostgreSQL burst runs on N worker processes on the one
store at once (the askers and questions shared out, started together once all
are warm); q/s over the wall time from the first start to the last end.

The machine's cores may be shared: figures are indicative; compare modes of one
run, not runs of different days.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CODE = Path(os.environ.get("THROUGHPUT_CODE") or ROOT)  # whose bot/ and knowledge/ the child runs
sys.path.insert(0, str(CODE))

CACHE = ROOT / "bench" / ".cache" / "throughput"
AT = datetime(2026, 3, 2, 9, tzinfo=UTC)
WARM = 20


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def questions_for(n: int) -> list[str]:
    """``n`` distinct real questions, none of them an entry's."""
    sys.path.insert(0, str(ROOT))
    from bench.latency import load_pool

    _, questions = load_pool(None)
    if len(questions) < n:
        raise SystemExit(f"only {len(questions)} questions in the pool, {n} asked for")
    return questions[:n]


# -- in the child process ------------------------------------------------------------


def raw_rates(threads: int, texts: list[str]) -> dict[str, Any]:
    from knowledge.embedder import load_embedder

    inner = load_embedder("minilm", threads=threads).inner
    inner.encode(texts[:64])  # warm the kernels
    out: dict[str, Any] = {"threads": threads}
    for size, count in ((1, min(100, len(texts))), (64, len(texts))):
        start = time.perf_counter()
        for at in range(0, count, size):
            inner.encode(texts[at : at + size])
        out[f"batch{size}_per_s"] = round(count / (time.perf_counter() - start), 1)
    return out


class HeldLock(asyncio.Lock):
    """The core's lock, timing how long each event holds it: what bounds a burst
    once embedding is out of the way."""

    def __init__(self) -> None:
        super().__init__()
        self.held = 0.0
        self.turns = 0
        self._since = 0.0

    async def acquire(self) -> bool:
        await super().acquire()
        self._since = time.perf_counter()
        return True

    def release(self) -> None:
        self.held += time.perf_counter() - self._since
        self.turns += 1
        super().release()


def forward_passes(core: Any) -> int | None:
    """How many batches the core has embedded (``None`` on code without batching)."""
    batcher = getattr(getattr(core.kb, "prefetcher", None), "asked", None)
    return getattr(batcher, "passes", None)


def message(i: int, user: str, text: str, prefix: str) -> Any:
    from bot.events import Message

    return Message(id=f"{prefix}{i}", at=AT + timedelta(milliseconds=i), user=user, channel="help", text=text)


async def burst(job: dict[str, Any]) -> dict[str, Any]:
    import bot
    from bot.core import Core
    from bot.settings import Settings

    extra = {k: job[k] for k in ("embed_batch_ms", "embed_batch_max") if k in job}
    core = await Core.open(Settings(db=job["db"], embed_threads=job["threads"], **extra))
    texts: list[str] = job["texts"]
    lock = core._lock = HeldLock()  # the pipeline's one lock (bench only)
    warm, single, asked = texts[:WARM], texts[WARM : WARM + job["single"]], texts[WARM + job["single"] :]
    me, workers = job.get("worker", 0), job.get("workers", 1)
    tag = f"{me}-" if workers > 1 else ""  # event ids and askers of one worker only
    asked = asked[me::workers]
    try:
        for i, text in enumerate(warm):
            await core.handle(message(i, f"warm{tag}", text, f"w{tag}"))
        alone: list[float] = []
        for i, text in enumerate(single):
            start = time.perf_counter()
            await core.handle(message(i, f"lone{tag}{i}", text, f"s{tag}"))
            alone.append((time.perf_counter() - start) * 1000)
        if job.get("cached"):
            for at in range(0, len(asked), 64):
                core.embedder.encode(asked[at : at + 64])
        passes_before = forward_passes(core)
        lock.held, lock.turns = 0.0, 0
        took: list[float] = []
        kinds: dict[str, int] = {}

        askers = max(1, job["askers"] // workers)

        async def asker(a: int) -> None:
            for i in range(a, len(asked), askers):
                start = time.perf_counter()
                actions = await core.handle(message(i, f"asker{tag}{a}", asked[i], f"b{tag}"))
                took.append((time.perf_counter() - start) * 1000)
                for action in actions:
                    kind = getattr(action, "kind", None) or type(action).__name__.lower()
                    kinds[kind] = kinds.get(kind, 0) + 1

        if workers > 1:
            await together(Path(job["barrier"]), me, workers)
        start = time.perf_counter()
        began = time.time()
        await asyncio.gather(*(asker(a) for a in range(askers)))
        wall = time.perf_counter() - start
        passes = forward_passes(core)
        return {
            "code": str(Path(bot.__file__).parent.parent), "questions": len(asked), "askers": askers,
            "per_s": round(len(asked) / wall, 1), "wall_s": round(wall, 2),
            "p50_ms": round(statistics.median(took), 1), "p99_ms": round(pct(took, 0.99), 1),
            "alone_p50_ms": round(statistics.median(alone), 1) if alone else None,
            "alone_p99_ms": round(pct(alone, 0.99), 1) if alone else None,
            "passes": None if passes is None else passes - (passes_before or 0),
            "lock_ms_per_question": round(lock.held / max(lock.turns, 1) * 1000, 2),
            "actions": kinds, "began": began, "ended": began + wall,
        }
    finally:
        await core.close()


async def together(barrier: Path, me: int, workers: int) -> None:
    """Wait until every worker of a several-worker burst is ready (each has started and warmed up)."""

    def ready() -> None:
        (barrier / f"ready-{me}").touch()
        while len(list(barrier.glob("ready-*"))) < workers:
            time.sleep(0.01)

    await asyncio.to_thread(ready)


def child(job: dict[str, Any]) -> None:
    result = raw_rates(job["threads"], job["texts"]) if job["kind"] == "raw" else asyncio.run(burst(job))
    print(json.dumps(result), flush=True)


# -- in the parent -------------------------------------------------------------------


def run_child(job: dict[str, Any], code: Path) -> dict[str, Any]:
    return run_children([job], code)[0]


def run_children(jobs: list[dict[str, Any]], code: Path) -> list[dict[str, Any]]:
    """Each job in a process of its own, all at once; their results in order."""
    env = {**os.environ, "THROUGHPUT_CODE": str(code), "PYTHONWARNINGS": "ignore"}
    running = []
    for n, job in enumerate(jobs):
        spec = CACHE / f"job-{n}.json"
        spec.write_text(json.dumps(job))
        running.append(subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", str(spec)],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env))
    results = []
    for job, process in zip(jobs, running, strict=True):
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"the {job['kind']} run failed:\n{err[-3000:]}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def run_workers(job: dict[str, Any], workers: int, mode: str, code: Path) -> dict[str, Any]:
    """The burst on one worker, or on ``workers`` at once (started together), as one run."""
    if workers == 1:
        return run_child(job, code)
    barrier = CACHE / f"barrier-{mode}"
    shutil.rmtree(barrier, ignore_errors=True)
    barrier.mkdir()
    return several(run_children([{**job, "worker": n, "workers": workers, "barrier": str(barrier)}
                                 for n in range(workers)], code))


def several(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several workers' bursts as one: questions over the wall time from the first start to the last end."""
    wall = max(r["ended"] for r in runs) - min(r["began"] for r in runs)
    questions = sum(r["questions"] for r in runs)
    kinds: dict[str, int] = {}
    for run in runs:
        for kind, n in run["actions"].items():
            kinds[kind] = kinds.get(kind, 0) + n
    return {**runs[0], "questions": questions, "askers": sum(r["askers"] for r in runs),
            "per_s": round(questions / wall, 1), "wall_s": round(wall, 2),
            "p50_ms": max(r["p50_ms"] for r in runs), "p99_ms": max(r["p99_ms"] for r in runs),
            "passes": sum(r["passes"] or 0 for r in runs),
            "lock_ms_per_question": max(r["lock_ms_per_question"] for r in runs),
            "actions": kinds, "workers": [{k: r[k] for k in ("per_s", "questions", "wall_s")} for r in runs]}


def sqlite_store(entries: int) -> Path:
    """A store of ``entries`` entries, built once (bench/latency.py's builder)."""
    path = CACHE / f"store-{entries}.db"
    if path.exists():
        return path
    from bench.latency import CACHE as POOL_CACHE
    from bench.latency import build_store, load_pool, pool_vectors
    from knowledge.embedder import MiniLMEmbedder

    pool, _ = load_pool(None)
    cached = POOL_CACHE / f"pool-{len(pool)}.npy"
    vectors = pool_vectors(pool, MiniLMEmbedder() if not cached.exists() else None)
    print(f"building a store of {entries} entries …", file=sys.stderr, flush=True)
    seconds = asyncio.run(build_store(entries, path, pool, vectors, MiniLMEmbedder()))
    print(f"  built in {seconds:.0f} s", file=sys.stderr, flush=True)
    return path


def fresh_copy(store: Path, name: str) -> Path:
    work = CACHE / f"work-{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.rmtree(str(work) + ".index", ignore_errors=True)
    shutil.copyfile(store, work)
    return work


class Postgres:
    """The store copied into PostgreSQL once, cloned (CREATE DATABASE … TEMPLATE) per run."""

    def __init__(self, url: str | None, store: Path, code: Path) -> None:
        self.server: Any = None
        if url is None:
            from tests.pgserver import TemporaryPostgres

            self.server = TemporaryPostgres().start()
            url = self.server.admin_url
        self.admin = url
        self.base = f"throughput_base_{os.getpid()}"
        self.made: list[str] = []
        self._sql(f'CREATE DATABASE "{self.base}"')
        self.made.append(self.base)
        done = subprocess.run([sys.executable, "-m", "bot", "db", "migrate", "--db", str(store),
                               "--to", self.url(self.base)], cwd=code, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"db migrate failed:\n{done.stderr[-3000:]}")

    def url(self, name: str) -> str:
        return self.admin.rsplit("/", 1)[0] + "/" + name

    def _sql(self, statement: str) -> None:
        import asyncpg

        async def go() -> None:
            connection = await asyncpg.connect(self.admin)
            try:
                await connection.execute(statement)
            finally:
                await connection.close()

        asyncio.run(go())

    def clone(self, name: str) -> str:
        name = f"throughput_{name}_{os.getpid()}"
        self._sql(f'DROP DATABASE IF EXISTS "{name}"')
        self._sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.base}"')
        self.made.append(name)
        return self.url(name)

    def close(self) -> None:
        try:
            for name in reversed(self.made):
                self._sql(f'DROP DATABASE IF EXISTS "{name}"')
        finally:
            if self.server is not None:
                self.server.stop()


def table(raw: list[dict[str, Any]], runs: list[dict[str, Any]]) -> str:
    lines = ["raw encoder (questions/s):"]
    for row in raw:
        lines.append(f"  torch threads {row['threads']}: batch 1 {row['batch1_per_s']}/s, "
                     f"batch 64 {row['batch64_per_s']}/s")
    lines.append(f"\n{'store':<10} {'mode':<10} {'q/s':>7} {'p50':>8} {'p99':>8} {'alone p50':>10} "
                 f"{'alone p99':>10} {'passes':>7} {'q/pass':>7} {'lock/q':>8}")
    for run in runs:
        per_pass = round(run["questions"] / run["passes"], 1) if run.get("passes") else "-"
        lines.append(f"{run['store']:<10} {run['mode']:<10} {run['per_s']:>7} {run['p50_ms']:>6}ms "
                     f"{run['p99_ms']:>6}ms {run['alone_p50_ms']!s:>8}ms {run['alone_p99_ms']!s:>8}ms "
                     f"{run['passes']!s:>7} {per_pass!s:>7} {run.get('lock_ms_per_question')!s:>6}ms")
    return "\n".join(lines)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--askers", type=int, default=100)
    parser.add_argument("--single", type=int, default=50, help="questions asked one at a time first")
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--modes", default="batched,unbatched,cached")
    parser.add_argument("--batch-ms", type=float, default=None, help="the batched mode's window (default: settings)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: settings)")
    parser.add_argument("--pg", help="a PostgreSQL URL where databases may be created (default: start one)")
    parser.add_argument("--code", type=Path, default=ROOT, help="run the bursts on this checkout's code")
    parser.add_argument("--workers", type=int, default=1,
                        help="PostgreSQL bursts on this many worker processes at once, askers shared out")
    parser.add_argument("--skip-raw", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args()


def main() -> None:
    args = arguments()
    if args.child is not None:
        child(json.loads(args.child.read_text()))
        return

    from bot.settings import Settings

    CACHE.mkdir(parents=True, exist_ok=True)
    threads = args.threads or Settings().embed_threads
    texts = questions_for(WARM + args.single + args.questions)
    store = sqlite_store(args.entries)
    results: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "cpus": os.cpu_count(),
                               "command": " ".join(sys.argv), "entries": args.entries,
                               "load_before": os.getloadavg(), "raw": [], "runs": []}
    if not args.skip_raw:
        for n in sorted({threads, os.cpu_count() or 1}):
            results["raw"].append(run_child({"kind": "raw", "threads": n, "texts": texts[WARM:]}, ROOT))
            print(results["raw"][-1], flush=True)
    pg = Postgres(args.pg, store, args.code) if "postgresql" in args.stores else None
    try:
        for name in args.stores.split(","):
            for mode in args.modes.split(","):
                job: dict[str, Any] = {"kind": "burst", "threads": threads, "texts": texts,
                                       "askers": args.askers, "single": args.single}
                if mode == "unbatched":
                    job.update(embed_batch_ms=0.0, embed_batch_max=1)
                elif mode == "cached":
                    job["cached"] = True
                elif args.batch_ms is not None:
                    job["embed_batch_ms"] = args.batch_ms
                job["db"] = pg.clone(mode) if name == "postgresql" and pg else str(fresh_copy(store, mode))
                workers = args.workers if name == "postgresql" else 1
                run = run_workers(job, workers, mode, args.code)
                run.update(store=name if workers == 1 else f"{name}×{workers}", mode=mode)
                results["runs"].append(run)
                print(run, flush=True)
    finally:
        if pg is not None:
            pg.close()
    results["load_after"] = os.getloadavg()
    out = args.out or ROOT / "bench" / "results" / f"throughput-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print("\n" + table(results["raw"], results["runs"]))
    print(f"load average before/after: {results['load_before']} / {results['load_after']}")
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
