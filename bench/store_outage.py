"""Store outage runs for ``bench/crash.py --store full|locked``.

``full``: the bot runs in this process (the same runtime, adapter and core as
``journeybot run slack --http``), because the disk is filled through its own
connection: SQLite's ``max_page_count`` caps the file and what is left is
filled, so every write that needs room fails with "database or disk is full"
until the cap is lifted. No root and no small filesystem needed, and the
failure is SQLite's own.

``locked``: the real ``journeybot run slack --http`` child process, and
another process holding the store's write lock (``BEGIN IMMEDIATE``) for
``--outage`` seconds, longer than the bot's 5 s busy timeout.

Questions arrive before and during the outage (a burst of 40, then a paced
stream), staff answer the cards, Slack delivers as it documents. Counted per
question: acknowledged; heard at once (the hand-over that needs no store);
answered or handed over by the bot once the store was back; lost (acknowledged
and never either).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from bench.crash import (
    HELP,
    Bot,
    StaffDesk,
    ask,
    free_port,
    learned_answers,
    prepare,
    questions,
    quiet,
)
from bench.slack_model import BenchSlack, Delivery, EventsAPI
from tests.adapters.slack import payloads
from tests.adapters.slack.fake import BOT_TOKEN

NOTICE = "isn't lost"  # the hand-over that needs no store (bot/storeless.py)


class Outage:
    """The store failing and coming back, with the bot that lives through it."""

    url: str

    async def begin(self) -> None: ...

    async def end(self) -> None: ...

    async def close(self) -> None: ...


class FullDisk(Outage):
    """The bot in this process; its store's disk fills up."""

    def __init__(self, work: Path, db: Path, slack: BenchSlack) -> None:
        self.work, self.db, self.slack = work, db, slack
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/slack/events"

    async def open(self) -> None:
        import logging

        from adapters.slack.adapter import SlackAdapter
        from adapters.slack.settings import load_slack_settings
        from bot.core import Core
        from bot.runtime import Runtime
        from bot.settings import load_settings
        from tests.fakes.disk import FullDisk as Disk

        config = self.work / "journeybot.yaml"
        logging.basicConfig(filename=self.work / "full.log", level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.core = await Core.open(load_settings(config, db=str(self.db)))
        slack_settings = load_slack_settings(config, bot_token=BOT_TOKEN, signing_secret=payloads.SECRET,
                                             api_url=self.slack.api_url)
        self.runtime = Runtime(self.core, [SlackAdapter(slack_settings, mode="http", host="127.0.0.1",
                                                        port=self.port)])
        await self.runtime.start()
        self.disk = Disk(self.core.db)

    async def begin(self) -> None:
        await self.disk.fill()

    async def end(self) -> None:
        await self.disk.free()

    async def close(self) -> None:
        await self.runtime.stop()
        await self.core.close()


class HeldLock(Outage):
    """The bot as a child process; another process holds its store's write lock."""

    def __init__(self, work: Path, db: Path, slack: BenchSlack, seconds: float) -> None:
        self.db, self.seconds = db, seconds
        self.bot = Bot(db=db, config=work / "journeybot.yaml", port=free_port(), api_url=slack.api_url,
                       log=work / "locked.log")
        self.url = self.bot.url
        self.locker: asyncio.subprocess.Process | None = None

    async def open(self) -> None:
        await self.bot.start()
        await self.bot.ready()

    async def begin(self) -> None:
        hold = ("import sqlite3, sys, time\n"
                "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                "c.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\n"
                "time.sleep(float(sys.argv[2]))\nc.execute('COMMIT')\n")
        self.locker = await asyncio.create_subprocess_exec(sys.executable, "-c", hold, str(self.db),
                                                           str(self.seconds), stdout=asyncio.subprocess.PIPE)
        assert self.locker.stdout is not None
        await self.locker.stdout.readline()

    async def end(self) -> None:
        if self.locker is not None:
            await self.locker.wait()

    async def close(self) -> None:
        await self.bot.stop()


async def health(url: str) -> str:
    async with aiohttp.ClientSession() as session:
        try:
            async with session.get(url.replace("/slack/events", "/healthz")) as response:
                return f"{response.status} {await response.text()}"
        except aiohttp.ClientError as exc:
            return f"unreachable ({exc})"


async def outage_run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    base = prepare(work, args.pace)
    db = work / "outage.db"
    shutil.copy(base, db)
    slack = await BenchSlack().start()
    outage: FullDisk | HeldLock = (FullDisk(work, db, slack) if args.store == "full"
                                   else HeldLock(work, db, slack, args.outage))
    try:
        await outage.open()
        result = await live_through(outage, args, slack, db)
    finally:
        await outage.close()
        await slack.close()
    report(args.store, result)
    return result


async def live_through(outage: FullDisk | HeldLock, args: argparse.Namespace, slack: BenchSlack,
                       db: Path) -> dict[str, Any]:
    import random

    rng = random.Random(args.seed)
    healths: list[str] = []
    async with EventsAPI(outage.url, minute=args.minute) as events:
        desk = StaffDesk(slack, events, rng, 0)
        desk.start()
        before = await ask(events, slack, questions(rng, 0, 10), paced=0.2, rng=rng, trial=0)
        await quiet(db, slack)
        began = time.monotonic()
        await outage.begin()
        burst = await ask(events, slack, questions(rng, 1, args.questions), paced=0.0, rng=rng, trial=1)
        stream = asyncio.create_task(ask(events, slack, questions(rng, 2, 20), paced=args.outage / 25,
                                         rng=rng, trial=2))
        while time.monotonic() - began < args.outage:
            await asyncio.sleep(2.0)
            healths.append(await health(outage.url))
        await outage.end()
        ended = time.monotonic()
        during = burst + await stream
        while True:
            await events.settled()
            await quiet(db, slack)
            await asyncio.sleep(2.5)
            if not desk.unanswered() and not events._tasks:
                break
        await desk.stop()
        healths.append(await health(outage.url))
    return judge_outage(before, during, desk.replies, slack, db, healths=healths,
                        outage=round(ended - began, 1))


def judge_outage(before: list[Delivery], during: list[Delivery], replies: list[Delivery], slack: BenchSlack,
                 db: Path, *, healths: list[str], outage: float) -> dict[str, Any]:
    posts = [c for c in slack.posts(channel=HELP) if c.result.get("ok")]
    rows = []
    for q in before + during:
        thread = [c.params.get("text") or "" for c in posts if c.params.get("thread_ts") == q.event["ts"]]
        told = any(NOTICE in t for t in thread)
        handled = any(NOTICE not in t for t in thread)
        rows.append({"during": q in during, "acked": q.acked, "told": told, "handled": handled,
                     "attempts": q.attempts})
    acked = [r for r in rows if r["acked"]]
    learned = learned_answers(db)
    relayed = " ".join(c.params.get("text") or "" for c in posts)
    staff_acked = [r for r in replies if r.acked]
    learned_lost = [r for r in staff_acked if (marker := r.event["text"].split(":")[0] + ":") not in relayed
                    or not any(marker in a for a in learned)]
    return {
        "outage_seconds": outage,
        "questions": len(rows), "during_outage": sum(r["during"] for r in rows),
        "acked": len(acked), "given_up": len(rows) - len(acked),
        "told_at_once": sum(r["told"] for r in rows if r["during"]),
        "answered_or_handed_over": sum(r["handled"] for r in acked),
        "lost": sum(not r["handled"] and not r["told"] for r in acked),
        "not_handled_after": sum(not r["handled"] for r in acked),
        "given_up_but_handled": sum(r["handled"] for r in rows if not r["acked"]),
        "staff_answers": len(replies), "staff_acked": len(staff_acked), "learned_lost": len(learned_lost),
        "deliveries": dict(Counter(o for r in rows for o in r["attempts"])),
        "health": healths,
    }


def report(store: str, r: dict[str, Any]) -> None:
    what = "disk full" if store == "full" else "store locked by another process"
    print(f"{what} for {r['outage_seconds']} s: {r['questions']} questions ({r['during_outage']} during it), "
          f"{r['acked']} acknowledged, {r['given_up']} given up by Slack ({r['given_up_but_handled']} of those "
          f"handled anyway)")
    print(f"  told at once (hand-over without the store): {r['told_at_once']} of {r['during_outage']} asked "
          f"during it")
    print(f"  answered or handed over once the store was back: {r['answered_or_handed_over']} of {r['acked']} "
          f"acknowledged; lost: {r['lost']}; never handled by the bot: {r['not_handled_after']}")
    print(f"  staff answers: {r['staff_acked']} of {r['staff_answers']} acknowledged, {r['learned_lost']} "
          "not relayed or not learned")
    print(f"  deliveries: {r['deliveries']}")
    print(f"  /healthz: {r['health'][0]} … {r['health'][-1]}")
