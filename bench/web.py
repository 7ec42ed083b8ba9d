#!/usr/bin/env python
"""How fast does each page of the web console answer over a large store?

Run by hand (numbers go in notes, never in tests)::

    python bench/web.py                          # 10k entries, 100k logged events
    python bench/web.py --entries 1000 --events 10000 --requests 20

It builds a store (cached under ``bench/.cache/web``) with ``--entries``
knowledge entries and an event log holding ``--events`` inbound events (with
everything the core logged about them: cases, decisions, actions, cards,
lessons), spread over twelve weeks; then starts ``journeybot web`` on it in
its own process, exactly as an operator would, and times each page over real
HTTP from this process:

- **cold**: the first request to each page after start (the scorecard and its
  charts compute from the whole log then; later periods reuse what is over);
- **warm**: ``--requests`` more requests per page: p50, p95 and max;
- **while the bot works**: the scorecard and the case queue while members ask
  questions on the chat page between requests (the log grows under them).

How the store is made: a few dozen real conversations are played through the
core (answered and confirmed, answered and not solved, handed to staff and
taught, left waiting …); their log records are then copied with fresh ids,
users and times until the log holds ``--events`` events. Entries beyond the
demo's are distinct entries with random unit vectors (no model runs needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench" / ".cache" / "web"
DEMO = ROOT / "data" / "demo" / "knowledge.yaml"
WEEKS = 12

KNOWN = ["how do I rotate my api key", "what is the API rate limit?", "I forgot my password",
         "how do I turn on 2FA", "how do I change my email", "are failed webhooks retried?",
         "how does pagination work in the api", "how do I set up webhooks"]
UNKNOWN = ["does tidepool have a gantt chart view?", "can I run tidepool on premises?",
           "is there a dark mode on android?", "does the API support GraphQL?",
           "can I schedule a notebook to run nightly?", "can I embed a notebook in confluence?"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- building the store ------------------------------------------------------------


async def play_templates(core: Any, start: datetime) -> list[str]:
    """Real conversations through the core; returns their case keys."""
    from bot.actions import Route
    from bot.events import Feedback, Message

    now = start
    keys: list[str] = []

    async def send(event: Any) -> list[Any]:
        actions = await core.handle(event)
        for action in actions:
            await core.performed(action, action.card if isinstance(action, Route) else None)
        return actions

    for n in range(36):
        key, user = f"TMPLQ{n:04d}X", f"TMPLU{n:04d}X"
        kind = n % 6
        text = UNKNOWN[n % len(UNKNOWN)] if kind in (3, 4) else KNOWN[n % len(KNOWN)]
        actions = await send(Message(id=key, at=now, space="default", user=user, user_name=f"Member {n}",
                                     channel="help", text=text))
        keys.append(key)
        now += timedelta(minutes=3)
        if kind == 0:
            await send(Feedback(id=f"TMPLF{n:04d}X", at=now, space="default", user=user, about=key, value="solved"))
        elif kind == 1:
            await send(Feedback(id=f"TMPLF{n:04d}X", at=now, space="default", user=user, about=key,
                                value="not_solved"))
        elif kind == 3:
            card = next((a.card for a in actions if isinstance(a, Route)), None)
            if card:
                await send(Message(id=f"TMPLS{n:04d}X", at=now + timedelta(minutes=20), space="default",
                                   user="TMPLSTAFFX", user_name="Alice", roles=("staff",), channel="staff",
                                   thread=card, text=f"Not yet, but it is on the roadmap (note {n})."))
        elif kind == 5:
            await send(Message(id=f"TMPLM{n:04d}X", at=now, space="default", user=user, channel="help",
                               thread=key, text="thanks, that worked"))
        now += timedelta(minutes=30)
    return keys


async def build(path: Path, *, entries: int, events: int, seed: int) -> dict[str, Any]:
    """The store at ``path``: the demo's knowledge, synthetic entries, and a log
    grown from real conversations to ``events`` inbound events."""
    from bot.cases import _CASE, CaseStore
    from bot.cli import import_knowledge
    from bot.core import Core
    from bot.settings import load_settings
    from knowledge.entries import Draft
    from storage.eventlog import EventLog

    rng = random.Random(seed)
    settings = load_settings(db=str(path))
    core = await Core.open(settings)
    now = datetime.now(UTC).replace(microsecond=0)
    first = now - timedelta(weeks=WEEKS)
    started = time.perf_counter()
    try:
        await import_knowledge(core, DEMO, space=None, quiet=True)
        vectors = np.random.default_rng(seed).standard_normal((entries, 2, core.kb.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
        for start in range(0, entries - 30, 500):
            async with core.db.transaction():
                for i in range(start, min(start + 500, entries - 30)):
                    stale = i % 50 == 0
                    draft = Draft(questions=(f"How do I configure widget {i}?", f"widget {i} settings"),
                                  answer=f"Open Settings → Widgets → {i} and choose a mode. (bench entry {i})",
                                  space="default" if i % 5 else "acme", tags=("bench",),
                                  review_after=(now - timedelta(days=10)).date() if stale else None,
                                  status="pending" if i % 97 == 0 else "live")
                    await core.kb.create(draft, author="bench", origin="import", at=first, vectors=vectors[i],
                                         entry_id=f"w{i}")
        async with core.db.transaction():
            for i in range(0, 400, 8):
                await core.kb.store.flag_conflict(f"w{i + 1}", f"w{i + 2}", "default", first)
        keys = await play_templates(core, first)
        log = EventLog(core.db)
        templates = []
        cases = CaseStore(core.db)
        for key in keys:
            mine = [r async for r in log.records(case=key)]
            ids = {r.event_id for r in mine if r.event_id}
            evs = [r async for r in log.records(kinds=("event",)) if r.event_id in ids]
            records = sorted(mine + evs, key=lambda r: r.seq)
            state = await cases.get("default", key)
            templates.append((key, records, state))
        count = sum(1 for _, recs, _ in templates for r in recs if r.kind == "event")
        span = (now - first).total_seconds()
        made = 0
        while count < events:
            async with core.db.transaction():
                for _ in range(2000):
                    if count >= events:
                        break
                    key, records, state = templates[rng.randrange(len(templates))]
                    made += 1
                    new = f"c{made:07d}"
                    user = f"u{rng.randrange(5000)}"
                    at0 = first + timedelta(seconds=rng.random() * span)
                    shift = at0 - records[0].at
                    old_user = state.user if state else ""

                    def swap(text: str, key: str = key, new: str = new, old_user: str = old_user,
                             user: str = user) -> str:
                        text = text.replace(key, new).replace("TMPLF0", f"f{new}-0").replace("TMPLS0", f"s{new}-0")
                        text = text.replace("TMPLM0", f"m{new}-0")
                        return text.replace(old_user, user) if old_user else text

                    for record in records:
                        body = json.loads(swap(json.dumps(record.body, ensure_ascii=False)))
                        await log.append(record.kind, at=record.at + shift, space=record.space,
                                         body=body, case=swap(record.case) if record.case else None,
                                         event_id=swap(record.event_id) if record.event_id else None)
                        count += record.kind == "event"
                    if state is not None:
                        copy = _CASE.validate_python(json.loads(swap(json.dumps(
                            _CASE.dump_python(state, mode="json"), ensure_ascii=False))))
                        from dataclasses import replace

                        copy = replace(copy, opened_at=state.opened_at + shift, updated_at=state.updated_at + shift)
                        await cases.save(copy)
        head, _ = await log.head()
    finally:
        await core.close()
    return {"entries": entries, "events": count, "records": head, "cases": made + len(keys),
            "built_s": round(time.perf_counter() - started, 1)}


# -- measuring -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pages(sample_case: str, sample_entry: str) -> dict[str, str]:
    return {
        "scorecard": "/scorecard",
        "scorecard charts (weeks)": "/scorecard/charts?bucket=week",
        "scorecard, one space": "/scorecard?space=acme",
        "knowledge list": "/knowledge",
        "knowledge search": "/knowledge?q=widget+42",
        "knowledge stale": "/knowledge?stale=1",
        "entry + history": f"/knowledge/{sample_entry}",
        "review queues": "/knowledge/review",
        "case queue": "/cases?status=open",
        "case story": f"/cases/default/{sample_case}",
        "chat": "/chat",
        "import": "/knowledge/import",
    }


async def measure(base: str, *, requests: int, sample_case: str) -> dict[str, Any]:
    import httpx

    out: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        # The console counts the scorecard, its weekly charts and the answers per entry
        # in the background from start; pages answer at once meanwhile ("being counted").
        started = time.perf_counter()
        waits = {"/scorecard": "being counted", "/scorecard/charts?bucket=week": "Counting each period",
                 "/knowledge": "still being counted", "/scorecard?space=acme": "being counted"}
        ready: dict[str, float] = {}
        while len(ready) < len(waits) and time.perf_counter() - started < 1800:
            for path, pending in waits.items():
                if path not in ready and pending not in (await client.get(path)).text:
                    ready[path] = time.perf_counter() - started
                    print(f"  {path:36} counted {ready[path]:6.1f} s after the server was up", flush=True)
            await asyncio.sleep(1)
        out["counted_after_start_s"] = {k: round(v, 1) for k, v in ready.items()}
        for name, path in pages(sample_case, "api-key-rotate").items():
            t = time.perf_counter()
            first = await client.get(path)
            cold = (time.perf_counter() - t) * 1000
            assert first.status_code == 200, (path, first.status_code, first.text[:300])
            times = []
            for _ in range(requests):
                t = time.perf_counter()
                answer = await client.get(path)
                times.append((time.perf_counter() - t) * 1000)
                assert answer.status_code == 200
                # Timed only when the page shows what it is for, not a "being counted" stand-in.
                assert "being counted" not in answer.text, path
                assert "Counting each period" not in answer.text, path
                assert "charts" not in path or "<svg" in answer.text, path
            out[name] = {"cold_ms": round(cold), "p50_ms": round(statistics.median(times), 1),
                         "p95_ms": round(pct(times, 0.95), 1), "max_ms": round(max(times), 1)}
            print(f"  {name:28} cold {cold:7.0f} ms   p50 {out[name]['p50_ms']:6.1f}   "
                  f"p95 {out[name]['p95_ms']:6.1f}   max {out[name]['max_ms']:6.1f}", flush=True)
        # While the bot works: a member asks between page loads, so the log grows.
        csrf_page = await client.get("/chat")
        token = csrf_page.text.split('name="csrf" value="')[1].split('"')[0]
        busy: dict[str, list[float]] = {"scorecard": [], "case queue": []}
        for n in range(requests):
            await client.post("/chat/ask", data={"csrf": token, "text": KNOWN[n % len(KNOWN)], "space": "default"},
                              headers={"HX-Request": "true"})
            for name, path in (("scorecard", "/scorecard"), ("case queue", "/cases?status=open")):
                t = time.perf_counter()
                answer = await client.get(path)
                busy[name].append((time.perf_counter() - t) * 1000)
                assert answer.status_code == 200
        for name, times in busy.items():
            out[f"{name}, while the bot works"] = {"p50_ms": round(statistics.median(times), 1),
                                                    "p95_ms": round(pct(times, 0.95), 1),
                                                    "max_ms": round(max(times), 1)}
            print(f"  {name + ', while the bot works':28}              p50 {statistics.median(times):6.1f}   "
                  f"p95 {pct(times, 0.95):6.1f}   max {max(times):6.1f}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"web-{args.entries}-{args.events}-{args.seed}.db"
    meta_path = path.with_suffix(".json")
    if args.rebuild or not meta_path.exists():
        for old in CACHE.glob(path.name + "*"):
            old.unlink()
        print(f"building {path.name} …", flush=True)
        meta = asyncio.run(build(path, entries=args.entries, events=args.events, seed=args.seed))
        meta_path.write_text(json.dumps(meta), encoding="utf-8")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    print(f"store: {meta['entries']} entries, {meta['events']} events in {meta['records']} log records, "
          f"{meta['cases']} cases (built in {meta['built_s']} s)", flush=True)

    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "bot", "web", "--db", str(path), "--port", str(port),
                               "--no-demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    try:
        assert server.stdout is not None
        for line in server.stdout:
            if "web console:" in line:
                break
        ready = time.perf_counter() - started
        print(f"server up in {ready:.1f} s (pid {server.pid}); cores: {os.cpu_count()}; "
              f"load average {os.getloadavg()[0]:.2f} (a shared machine: indicative figures)", flush=True)
        results = asyncio.run(measure(f"http://127.0.0.1:{port}", requests=args.requests,
                                      sample_case="c0000001"))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    summary = {"store": meta, "server_start_s": round(ready, 1), "pages": results,
               "load_average": os.getloadavg()[0]}
    out = CACHE / "last.json"
    out.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    worst = max(v["p95_ms"] for v in results.values() if isinstance(v, dict) and "p95_ms" in v)
    print(f"worst warm p95: {worst:.0f} ms (target 300 ms); details in {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
