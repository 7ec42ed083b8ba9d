"""Faults bench: several workers on one store, any of them killed at any moment, nothing lost or doubled.

N real ``journeybot run slack --http --port …`` processes share one store
(PostgreSQL by default: a server of our own, started with ``initdb`` and
``pg_ctl``, or ``--db postgresql://…``), behind a tiny round-robin proxy that,
like a load balancer, passes over a worker that refuses connections. Slack is
the recording fake Web API and the Events API's delivery as Slack documents it
(``bench/slack_model.py``: 3 s to answer, retries at once, after a minute and
after five; ``--minute`` scales Slack's minute). A hundred members ask
questions, each every ``--interval`` seconds or so, for ``--minutes``; staff
answer every card the bot posts, a second or two after it appears. About every
``--kill-every`` seconds one worker, chosen at random, is killed with SIGKILL
and restarted at once (it may be killed again while it starts).

At the end, once Slack has delivered or given up on every event and the
workers have nothing left to do, the bench counts, as ``bench/crash.py`` does:

- **lost**: questions Slack was told "got it" about with no reply in their thread;
- **doubled**: posts made twice (one action key twice, or the same words twice in a thread);
- **learned lost**: staff answers Slack was told "got it" about that were not
  relayed to the asker or are not in the knowledge base;
- **audit**: ``journeybot audit verify`` on the store (the log's hash chain).

    python bench/faults.py                              # 3 workers on PostgreSQL, 5 minutes
    python bench/faults.py --store sqlite --workers 1   # the same run for a single SQLite worker
    python bench/faults.py --minutes 1                  # a shorter run
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.crash import (  # noqa: E402
    DEMO_KB,
    KNOWN,
    PRODUCTS,
    PURPOSES,
    SETTINGS,
    Bot,
    StaffDesk,
    Tally,
    free_port,
    quiet,
    tally,
)
from bench.slack_model import BenchSlack, Delivery, EventsAPI  # noqa: E402
from tests.adapters.slack import payloads  # noqa: E402
from tests.adapters.slack.fake import HELP  # noqa: E402


@dataclass
class Run(Tally):
    store: str
    workers: int
    minutes: float
    askers: int
    kills_while_starting: int = 0
    proxy_passed_over: int = 0  # connections a dead worker refused, sent to the next one
    proxy_cut: int = 0  # requests a worker died during (Slack saw an error and delivered again)
    audit: str = ""
    audit_ok: bool = False


# -- the load balancer ----------------------------------------------------------------------------


class Proxy:
    """Round robin over the workers; a worker that refuses the connection is passed over."""

    def __init__(self, backends: list[str], run: Run) -> None:
        self.backends, self.run = backends, run
        self.turn = 0
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> Proxy:
        self._session = aiohttp.ClientSession()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        for _ in range(len(self.backends)):
            backend = self.backends[self.turn % len(self.backends)]
            self.turn += 1
            try:
                async with self._session.request(request.method, backend + request.path_qs, data=body,
                                                 headers=headers,
                                                 timeout=aiohttp.ClientTimeout(total=30)) as response:
                    return web.Response(status=response.status, body=await response.read(),
                                        content_type=response.content_type)
            except aiohttp.ClientConnectorError:
                self.run.proxy_passed_over += 1
            except (aiohttp.ClientError, TimeoutError):
                self.run.proxy_cut += 1
                return web.Response(status=502, text="the worker went away")
        return web.Response(status=502, text="no worker is up")


# -- the store, read beside the workers ------------------------------------------------------------


async def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    if url.startswith(("postgresql://", "postgres://")):
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            return [tuple(row) for row in await conn.fetch(sql)]
        finally:
            await conn.close()
    with sqlite3.connect(f"file:{url}?mode=ro", uri=True) as conn:
        return list(conn.execute(sql).fetchall())


async def waiting_in(url: str) -> tuple[int, int]:
    """(events received and not handled, actions not sent)."""
    events = await query(url, "SELECT count(*) FROM events WHERE status = 'received'")
    actions = await query(url, "SELECT count(*) FROM outbox WHERE performed_at IS NULL")
    return int(events[0][0]), int(actions[0][0])


# -- the people and the faults ----------------------------------------------------------------------


def question(rng: random.Random, asker: int, n: int) -> str:
    if rng.random() < 0.5:
        return f"{rng.choice(KNOWN)} ({asker}-{n})"
    return f"does tidepool work with {rng.choice(PRODUCTS)} for {rng.choice(PURPOSES)}? (case {asker}-{n})"


async def asker(number: int, events: EventsAPI, slack: BenchSlack, rng: random.Random, *, until: float,
                interval: float, asked: list[Delivery]) -> None:
    """One member: a question every ``interval`` seconds or so, until ``until``."""
    await asyncio.sleep(rng.uniform(0, interval))
    n = 0
    while time.monotonic() < until:
        event = payloads.message(question(rng, number, n), ts=slack.next_ts(), user=f"U{number:04d}", channel=HELP)
        asked.append(events.send("question", event))
        n += 1
        await asyncio.sleep(rng.uniform(0.5, 1.5) * interval)


async def kill_now_and_then(bots: list[Bot], rng: random.Random, run: Run, *, until: float, every: float) -> None:
    """About every ``every`` seconds, SIGKILL one worker at random and start it again at once."""
    while True:
        await asyncio.sleep(rng.uniform(0.75, 1.25) * every)
        if time.monotonic() >= until:
            return
        bot = rng.choice(bots)
        starting = bot.process is not None and time.monotonic() - bot.started_at < bot.start_seconds
        run.kills += 1
        run.kills_while_starting += starting
        await bot.stop(signal.SIGKILL)
        await bot.start()


# -- the run ---------------------------------------------------------------------------------------


async def store_for(args: argparse.Namespace, work: Path) -> tuple[str, Any]:
    """The store's location, and the server to stop after (or None)."""
    if args.store == "sqlite":
        return str(work / "faults.db"), None
    if args.db:
        return args.db, None
    from tests.pgserver import TemporaryPostgres, create_database

    server = TemporaryPostgres().start()
    await create_database(server.admin_url, "journeybot_faults")
    return server.url("journeybot_faults"), server


async def everyone_up(bots: list[Bot]) -> None:
    for bot in bots:
        if bot.process is None or bot.process.returncode is not None:
            await bot.start()
    for bot in bots:
        await bot.ready()


async def drain(events: EventsAPI, desk: StaffDesk, url: str, slack: BenchSlack) -> None:
    """Until Slack is done, every card has its staff answer delivered, and the workers are idle."""
    while True:
        await events.settled()
        await quiet(lambda: waiting_in(url), slack, within=300.0, idle=3.0)
        if not desk.unanswered() and all(r.acked or len(r.attempts) == 4 for r in desk.replies):
            await asyncio.sleep(3.0)  # a card posted just now is answered after a second or two
            if not desk.unanswered() and not events._tasks:
                return


async def faults_run(args: argparse.Namespace, work: Path) -> Run:
    run = Run(args.store, args.workers, args.minutes, args.askers)
    rng = random.Random(args.seed)
    url, server = await store_for(args, work)
    slack = await BenchSlack().start()
    bots: list[Bot] = []
    begun = time.monotonic()
    try:
        (work / "journeybot.yaml").write_text(SETTINGS.format(pace=args.pace), encoding="utf-8")
        await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "kb", "import", str(DEMO_KB),
                                                 "--db", url], cwd=ROOT, check=True, capture_output=True)
        bots = [Bot(db=url, config=work / "journeybot.yaml", port=free_port(), api_url=slack.api_url,  # type: ignore[arg-type]
                    log=work / f"worker-{n}.log") for n in range(args.workers)]
        await everyone_up(bots)
        proxy = await Proxy([b.url.removesuffix("/slack/events") for b in bots], run).start()
        try:
            async with EventsAPI(proxy.url, minute=args.minute) as events:
                desk = StaffDesk(slack, events, rng, 0)
                desk.start()
                until = time.monotonic() + args.minutes * 60
                asked: list[Delivery] = []
                people = [asyncio.create_task(asker(n, events, slack, random.Random(args.seed * 7919 + n),
                                                    until=until, interval=args.interval, asked=asked))
                          for n in range(args.askers)]
                await kill_now_and_then(bots, rng, run, until=until, every=args.kill_every)
                await asyncio.gather(*people)
                print(f"  asking done after {time.monotonic() - begun:.0f} s; draining", flush=True)
                await everyone_up(bots)
                await drain(events, desk, url, slack)
                await desk.stop()
        finally:
            await proxy.close()
        for bot in bots:
            await bot.stop()
        await judge(run, asked, desk.replies, slack, url)
        audit = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "bot", "audit", "verify", "--db", url],
                                        cwd=ROOT, capture_output=True, text=True)
        run.audit_ok = audit.returncode == 0
        run.audit = (audit.stdout.strip() or audit.stderr.strip()).splitlines()[-1:][0] if (
            audit.stdout.strip() or audit.stderr.strip()) else f"exit {audit.returncode}"
        run.errors_logged = sum(" ERROR " in line for bot in bots
                                for line in bot.log.read_text(errors="replace").splitlines())
    finally:
        for bot in bots:
            await bot.stop(signal.SIGKILL)
        await slack.close()
        if server is not None:
            server.stop()
    run.seconds = round(time.monotonic() - begun, 1)
    return run


async def judge(run: Run, asked: list[Delivery], replies: list[Delivery], slack: BenchSlack, url: str) -> None:
    posts = [c for c in slack.posts() if c.result.get("ok")]
    learned = [row[0] for row in await query(url, "SELECT answer FROM entries WHERE origin != 'import'")]
    tally(run, asked, replies, posts, learned)


def report(run: Run) -> None:
    print(f"\n{run.store}, {run.workers} worker(s), {run.minutes:g} min, {run.askers} askers: "
          f"{run.acked} of {run.questions} questions acknowledged ({run.given_up} given up by Slack), "
          f"{len(run.lost)} lost, {len(run.doubled)} doubled; {run.staff_acked} of {run.staff_answers} staff "
          f"answers acknowledged ({run.staff_given_up} given up), {len(run.learned_lost)} learned answers lost; "
          f"{run.kills} SIGKILLs ({run.kills_while_starting} while starting); proxy passed over a dead worker "
          f"{run.proxy_passed_over} times, {run.proxy_cut} requests cut by a kill; "
          f"audit verify: {run.audit!r} ({'intact' if run.audit_ok else 'NOT intact'}); "
          f"{run.errors_logged} ERROR lines; {run.seconds:.0f} s", flush=True)
    print(f"  deliveries: {run.outcomes}", flush=True)
    for what in (*run.lost[:20], *run.doubled[:20], *run.learned_lost[:20]):
        print(f"  {what}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--db", help="an existing PostgreSQL database (postgresql://…) instead of a server of our own")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=5.0, help="how long members ask and workers are killed")
    parser.add_argument("--askers", type=int, default=100)
    parser.add_argument("--interval", type=float, default=45.0, help="seconds between one member's questions (about)")
    parser.add_argument("--kill-every", type=float, default=20.0, help="seconds between kills (about)")
    parser.add_argument("--minute", type=float, default=6.0, help="seconds that stand for Slack's minute")
    parser.add_argument("--pace", type=float, default=0.05, help="the bot's post_interval_seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", action="store_true", help="keep the store and the workers' logs")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.store == "sqlite" and args.workers != 1:
        parser.error("an SQLite store serves one worker process: --store sqlite --workers 1")
    work = Path(tempfile.mkdtemp(prefix="journeybot-faults-"))
    try:
        run = asyncio.run(faults_run(args, work))
    finally:
        if args.keep:
            print(f"store and logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report(run)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "bench" / "results" / f"faults-{args.store}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "run": asdict(run)}, indent=1))
    print(f"written to {out}")
    clean = not run.lost and not run.doubled and not run.learned_lost and run.audit_ok
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
