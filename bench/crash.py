"""Crash bench: nothing acknowledged is lost, nothing is posted twice, nothing taught is forgotten.

The real ``journeybot run slack --http`` runs as a child process against the
recording fake Web API (``bench/slack_model.py``). Members ask questions (a
burst of 40, or a paced stream of 40), staff answer the cards the bot posts (a
second or two after they appear, as people do), and Slack delivers every event
as it documents (3 s to answer; retries at once, after a minute, after five;
``--minute`` scales Slack's minute). Meanwhile the bot is killed with SIGKILL
at random moments, restarted at once, and sometimes killed again while it
restarts (loading the model, catching up); some stops are SIGTERM instead.

Each trial ends when Slack has delivered or given up on every event and the
bot has nothing left to do; then, from what the fake Web API received and
what the store holds:

- **lost**: questions Slack was told "got it" about (an HTTP 200) that have no
  reply in their thread (an answer, a clarifying question or a hand-over);
- **doubled**: posts made more than once (the same action key twice, or the
  same text twice in one thread);
- **learned lost**: staff answers Slack was told "got it" about that were not
  relayed to the asker or are not in the knowledge base.

Events Slack gave up on (every delivery failed while the bot was down) were
never acknowledged; they are counted apart.

    python bench/crash.py --trials 30                 # SIGKILL trials
    python bench/crash.py --store full                # the disk fills up, then gets room again
    python bench/crash.py --store locked              # another process holds the write lock for 20 s
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.slack_model import BenchSlack, Delivery, EventsAPI  # noqa: E402
from tests.adapters.slack import payloads  # noqa: E402
from tests.adapters.slack.fake import BOT_TOKEN, HELP, STAFF, Call  # noqa: E402

DEMO_KB = ROOT / "data" / "demo" / "knowledge.yaml"
STAFF_USER = "UALICE"
SETTINGS = """\
help_channels: [help]
staff_channel: staff
tick_seconds: 3600
slack:
  help_channels: [help]
  staff_channel: staff
  staff_users: [UALICE]
  post_interval_seconds: {pace}
"""
# Known questions, asked in other words, and questions no entry answers (staff get a card).
KNOWN = [
    "regenerate api token", "I'm getting 429 Too Many Requests from the API", "download my notes as markdown",
    "changes are not syncing between devices", "does it work without internet", "I deleted a page by accident",
    "undo changes from yesterday", "file upload size limit", "free vs team plan", "download a receipt",
    "import from Evernote or Notion", "switch to the team plan",
]
PRODUCTS = ["Jira", "Asana", "Figma", "Salesforce", "Zendesk", "HubSpot", "Trello", "GitLab", "Miro", "Airtable"]
PURPOSES = ["time tracking", "invoicing", "sprint planning", "customer tickets", "design reviews",
            "lead scoring", "release notes", "whiteboards", "inventory", "payroll"]


@dataclass(kw_only=True)
class Tally:
    """What a run saw of Slack's deliveries and the bot's posts (shared with ``bench/faults.py``)."""

    questions: int = 0
    acked: int = 0
    given_up: int = 0
    lost: list[str] = field(default_factory=list)
    doubled: list[str] = field(default_factory=list)
    staff_answers: int = 0
    staff_acked: int = 0
    staff_given_up: int = 0
    learned_lost: list[str] = field(default_factory=list)
    kills: int = 0
    errors_logged: int = 0
    seconds: float = 0.0
    outcomes: dict[str, int] = field(default_factory=dict)  # every delivery attempt's outcome, counted


@dataclass
class Trial(Tally):
    number: int
    pattern: str
    kills_in_restart: int = 0
    sigterms: int = 0
    notices: int = 0


def tally(into: Tally, asked: list[Delivery], replies: list[Delivery], posts: list[Call],
          learned: list[str]) -> dict[str, list[Call]]:
    """Count what was acknowledged, lost, doubled and learned; returns each question's thread."""
    threads: dict[str, list[Call]] = defaultdict(list)
    for c in posts:
        if c.params.get("channel") == HELP and c.params.get("thread_ts"):
            threads[c.params["thread_ts"]].append(c)
    into.questions, into.staff_answers = len(asked), len(replies)
    for q in asked:
        into.acked += q.acked
        into.given_up += not q.acked
        if q.acked and not threads.get(q.event["ts"]):
            into.lost.append(q.event["text"])
    by_key = Counter(key_of(c) for c in posts if key_of(c))
    into.doubled = [f"action {k} posted {n} times" for k, n in by_key.items() if n > 1]
    same_text: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # the same words from two actions
    for c in posts:
        if c.params.get("thread_ts"):
            same_text[(c.params["channel"], c.params["thread_ts"], c.params.get("text") or "")].add(key_of(c) or c.ts)
    into.doubled += [f"{text!r} posted {len(ks)} times in {ch}:{th}" for (ch, th, text), ks in same_text.items()
                     if len(ks) > 1]
    relayed = " ".join(c.params.get("text") or "" for c in posts if c.params.get("channel") == HELP)
    for r in replies:
        into.staff_acked += r.acked
        into.staff_given_up += not r.acked
        marker = r.event["text"].split(":")[0] + ":"
        if r.acked and (marker not in relayed or not any(marker in a for a in learned)):
            into.learned_lost.append(marker + (" not relayed" if marker not in relayed else " not learned"))
    into.outcomes = dict(Counter(f"{d.kind} {o}" for d in (*asked, *replies) for o in d.attempts))
    return threads


# -- the bot, as a child process ---------------------------------------------------------------


class Bot:
    """``journeybot run slack --http`` on ``db``, started, killed and restarted by the bench."""

    def __init__(self, *, db: Path, config: Path, port: int, api_url: str, log: Path) -> None:
        self.db, self.config, self.port, self.api_url, self.log = db, config, port, api_url, log
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0
        self.start_seconds = 20.0  # how long the last start took, until it answered

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self) -> None:
        env = {**os.environ, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": payloads.SECRET,
               "SLACK_API_URL": self.api_url, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", "slack", "--http", "--host", "127.0.0.1",
                "--port", str(self.port), "--db", str(self.db), "--config", str(self.config),
                cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        self.started_at = time.monotonic()

    async def ready(self, within: float = 300.0) -> None:
        """Until ``/healthz`` answers (the HTTP server is up: the catch-up is done)."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"the bot exited with {self.process.returncode}; see {self.log}")
                try:
                    async with session.get(self.url.replace("/slack/events", "/healthz"),
                                           timeout=aiohttp.ClientTimeout(total=1)) as response:
                        await response.read()
                        self.start_seconds = time.monotonic() - self.started_at
                        return
                except (aiohttp.ClientError, TimeoutError):
                    await asyncio.sleep(0.1)
        raise RuntimeError(f"the bot did not come up within {within:.0f} s; see {self.log}")

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(sig)
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


# -- the people --------------------------------------------------------------------------------


def questions(rng: random.Random, trial: int, count: int) -> list[str]:
    asked = []
    for n in range(count):
        if rng.random() < 0.5:
            asked.append(f"{rng.choice(KNOWN)} ({trial}-{n})")
        else:
            asked.append(f"does tidepool work with {rng.choice(PRODUCTS)} for {rng.choice(PURPOSES)}? "
                         f"(case {trial}-{n})")
    return asked


class StaffDesk:
    """Answers every card the bot posts, a second or two after it appears."""

    def __init__(self, slack: BenchSlack, events: EventsAPI, rng: random.Random, trial: int) -> None:
        self.slack, self.events, self.rng, self.trial = slack, events, rng, trial
        self.answered: set[str] = set()
        self.replies: list[Delivery] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def unanswered(self) -> list[Call]:
        return [c for c in cards(self.slack) if c.ts not in self.answered]

    async def _watch(self) -> None:
        while True:
            for card in self.unanswered():
                self.answered.add(card.ts)
                asyncio.get_running_loop().call_later(self.rng.uniform(0.5, 2.0), self._answer, card)
            await asyncio.sleep(0.1)

    def _answer(self, card: Call) -> None:
        number = len(self.replies) + 1
        text = f"Answer {self.trial}-{number}: use the {self.rng.choice(PRODUCTS)} bridge under Settings → Apps."
        event = payloads.message(text, ts=self.slack.next_ts(), user=STAFF_USER, channel=STAFF, thread_ts=card.ts)
        self.replies.append(self.events.send("staff", event))


def cards(slack: BenchSlack) -> list[Call]:
    return [c for c in slack.posts(channel=STAFF) if c.result.get("ok") and not c.params.get("thread_ts")]


# -- one trial ----------------------------------------------------------------------------------


async def kill_at_random(bot: Bot, rng: random.Random, trial: Trial, *, window: float, kills: int,
                         sigterm_share: float) -> None:
    """``kills`` stops at random moments of ``window`` seconds, each followed by a restart
    (killed again, now and then, while it restarts)."""
    moments = sorted(rng.uniform(0.2, window) for _ in range(kills))
    begun = time.monotonic()
    for moment in moments:
        await asyncio.sleep(max(0.0, begun + moment - time.monotonic()))
        graceful = rng.random() < sigterm_share
        trial.sigterms += graceful
        trial.kills += not graceful
        await bot.stop(signal.SIGTERM if graceful else signal.SIGKILL)
        await bot.start()
        if rng.random() < 0.35:  # killed again while it loads, catches up and sends what was left
            await asyncio.sleep(rng.uniform(0.3, bot.start_seconds))
            if bot.process is not None and bot.process.returncode is None:
                trial.kills_in_restart += 1
                await bot.stop(signal.SIGKILL)
                await bot.start()
        await bot.ready()


async def ask(events: EventsAPI, slack: BenchSlack, texts: list[str], *, paced: float, rng: random.Random,
              trial: int) -> list[Delivery]:
    sent = []
    for n, text in enumerate(texts):
        event = payloads.message(text, ts=slack.next_ts(), user=f"U{trial:03d}{n:03d}", channel=HELP)
        sent.append(events.send("question", event))
        if paced:
            await asyncio.sleep(rng.uniform(0.5, 1.5) * paced)
    return sent


async def quiet(waiting: Callable[[], Awaitable[tuple[int, int]]], slack: BenchSlack, *,
                within: float, idle: float) -> None:
    """Until ``waiting()`` (events not handled, actions not sent) is (0, 0) and nothing was
    posted for ``idle`` seconds (shared with ``bench/faults.py``)."""
    deadline = time.monotonic() + within
    last = (len(slack.calls), time.monotonic())
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        if len(slack.calls) != last[0]:
            last = (len(slack.calls), time.monotonic())
            continue
        if time.monotonic() - last[1] >= idle and await waiting() == (0, 0):
            return
    print(f"  (not quiet after {within:.0f} s: {await waiting()} waiting)", file=sys.stderr)


def waiting_in(db: Path) -> tuple[int, int]:
    """(events received and not handled, actions not sent), read beside the running bot."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        events = conn.execute("SELECT count(*) FROM events WHERE status = 'received'").fetchone()[0]
        actions = conn.execute("SELECT count(*) FROM outbox WHERE performed_at IS NULL").fetchone()[0]
    return int(events), int(actions)


async def run_trial(number: int, args: argparse.Namespace, slack: BenchSlack, base: Path,
                    work: Path) -> Trial:
    rng = random.Random(args.seed * 1000 + number)
    trial = Trial(number, "burst" if number % 2 else "paced")
    db = work / f"trial-{number}.db"
    shutil.copy(base, db)
    slack.calls.clear()
    slack.messages.clear()
    bot = Bot(db=db, config=work / "journeybot.yaml", port=free_port(), api_url=slack.api_url,
              log=work / f"trial-{number}.log")
    begun = time.monotonic()
    await bot.start()
    await bot.ready()
    async with EventsAPI(bot.url, minute=args.minute) as events:
        desk = StaffDesk(slack, events, rng, number)
        desk.start()
        texts = questions(rng, number, args.questions)
        paced = 0.0 if trial.pattern == "burst" else args.paced
        window = args.window if trial.pattern == "burst" else args.questions * args.paced
        asking = asyncio.create_task(ask(events, slack, texts, paced=paced, rng=rng, trial=number))
        await kill_at_random(bot, rng, trial, window=window, kills=rng.randint(1, args.kills),
                             sigterm_share=args.sigterm_share)
        asked = await asking
        while True:  # until Slack is done, and every card has its staff answer, delivered
            await events.settled()
            await quiet(lambda: asyncio.to_thread(waiting_in, db), slack, within=180.0, idle=2.0)
            if not desk.unanswered() and all(r.acked or len(r.attempts) == 4 for r in desk.replies):
                await asyncio.sleep(2.5)  # a card posted just now is answered after a second or two
                if not desk.unanswered() and not events._tasks:
                    break
        await desk.stop()
    await bot.stop()
    judge(trial, asked, desk.replies, slack, db, bot.log)
    trial.seconds = round(time.monotonic() - begun, 1)
    return trial


def judge(trial: Trial, asked: list[Delivery], replies: list[Delivery], slack: BenchSlack, db: Path,
          log: Path) -> None:
    posts = [c for c in slack.posts() if c.result.get("ok")]
    threads = tally(trial, asked, replies, posts, learned_answers(db))
    trial.notices = sum("isn't lost" in (c.params.get("text") or "") for q in asked
                        for c in threads.get(q.event["ts"], []))
    trial.errors_logged = sum(" ERROR " in line for line in log.read_text(errors="replace").splitlines())


def key_of(call: Call) -> str | None:
    metadata = call.params.get("metadata") or {}
    return ((metadata.get("event_payload") or {}).get("key")) if isinstance(metadata, dict) else None


def learned_answers(db: Path) -> list[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return [row[0] for row in conn.execute("SELECT answer FROM entries WHERE origin != 'import'")]


# -- set-up and the summary -----------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(work: Path, pace: float) -> Path:
    """The settings file and a store with the demo knowledge, copied for every trial."""
    (work / "journeybot.yaml").write_text(SETTINGS.format(pace=pace), encoding="utf-8")
    base = work / "base.db"
    import subprocess

    subprocess.run([sys.executable, "-m", "bot", "kb", "import", str(DEMO_KB), "--db", str(base)],
                   cwd=ROOT, check=True, capture_output=True)
    return base


def summary(trials: list[Trial]) -> dict[str, Any]:
    total: dict[str, Any] = {"trials": len(trials)}
    for name in ("questions", "acked", "given_up", "staff_answers", "staff_acked", "staff_given_up", "kills",
                 "kills_in_restart", "sigterms", "notices", "errors_logged"):
        total[name] = sum(getattr(t, name) for t in trials)
    for name in ("lost", "doubled", "learned_lost"):
        total[name] = sum(len(getattr(t, name)) for t in trials)
    return total


def print_row(t: Trial) -> None:
    print(f"trial {t.number:3d} {t.pattern:6s} kills {t.kills} (+{t.kills_in_restart} in restart, "
          f"{t.sigterms} SIGTERM)  questions {t.acked}/{t.questions} acked ({t.given_up} given up)  "
          f"lost {len(t.lost)}  doubled {len(t.doubled)}  staff {t.staff_acked}/{t.staff_answers} acked, "
          f"learned lost {len(t.learned_lost)}  errors {t.errors_logged}  {t.seconds:.0f} s", flush=True)
    print(f"    deliveries: {t.outcomes}", flush=True)
    for what in (*t.lost, *t.doubled, *t.learned_lost):
        print(f"    {what}", flush=True)


async def crash_trials(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    base = prepare(work, args.pace)
    slack = await BenchSlack().start()
    trials = []
    try:
        for number in range(1, args.trials + 1):
            trials.append(await run_trial(number, args, slack, base, work))
            print_row(trials[-1])
    finally:
        await slack.close()
    total = summary(trials)
    print(f"\n{total['trials']} trials: {total['acked']} of {total['questions']} questions acknowledged "
          f"({total['given_up']} given up by Slack), {total['lost']} lost, {total['doubled']} doubled; "
          f"{total['staff_acked']} of {total['staff_answers']} staff answers acknowledged, "
          f"{total['learned_lost']} learned answers lost; {total['kills']} SIGKILLs "
          f"({total['kills_in_restart']} during a restart) and {total['sigterms']} SIGTERMs")
    return {"summary": total, "trials": [asdict(t) for t in trials]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--questions", type=int, default=40, help="questions per trial (a burst, or a paced stream)")
    parser.add_argument("--paced", type=float, default=0.4, help="seconds between questions of a paced stream (about)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds after a burst in which kills fall")
    parser.add_argument("--kills", type=int, default=3, help="at most this many stops per trial (at least one)")
    parser.add_argument("--sigterm-share", type=float, default=0.2, help="share of stops that are SIGTERM")
    parser.add_argument("--minute", type=float, default=6.0, help="seconds that stand for Slack's minute")
    parser.add_argument("--pace", type=float, default=0.05, help="the bot's post_interval_seconds")
    parser.add_argument("--store", choices=("full", "locked"), help="a store outage run instead of crash trials")
    parser.add_argument("--outage", type=float, default=20.0, help="seconds the store is full or locked")
    parser.add_argument("--keep", action="store_true", help="keep the trial stores and logs")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="journeybot-crash-"))
    try:
        if args.store:
            from bench.store_outage import outage_run

            result = asyncio.run(outage_run(args, work))
        else:
            result = asyncio.run(crash_trials(args, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"stores and logs kept in {work}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "bench" / "results" / f"crash-{args.store or 'kill'}-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, **result}, indent=1))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
