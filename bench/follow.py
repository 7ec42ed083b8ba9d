"""How fast a knowledge change made by one worker reaches another worker's index (PostgreSQL).

Two knowledge bases on one PostgreSQL, each with its own connections, as two
worker processes have. One creates (then retires) entries; the time from its
commit to the other's index holding (or dropping) the entry is measured.
Vectors are random unit vectors: this measures the store's news and the
catch-up, not the model. Goal (issue 12): within 100 ms.

    python bench/follow.py                       # starts a PostgreSQL of its own (initdb, pg_ctl)
    python bench/follow.py --db postgresql://…   # an existing, empty database
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from knowledge.base import KnowledgeBase
from knowledge.entries import Draft
from storage.postgres import PostgresDatabase

AT = datetime(2026, 3, 1, tzinfo=UTC)
DIM = 384


async def wait_for(check: object, limit: float = 10.0) -> float:
    start = time.perf_counter()
    while not check():  # type: ignore[operator]
        if time.perf_counter() - start > limit:
            raise TimeoutError("the change never arrived")
        await asyncio.sleep(0.0005)
    return time.perf_counter() - start


async def measure(url: str, changes: int) -> list[float]:
    first, second = PostgresDatabase(url), PostgresDatabase(url)
    await first.open()
    await second.open()
    writer, follower = KnowledgeBase(first, None, dim=DIM), KnowledgeBase(second, None, dim=DIM)
    await writer.open()
    await follower.open()
    rng = np.random.default_rng(0)
    took: list[float] = []
    try:
        for n in range(changes):
            vector = rng.standard_normal((1, DIM)).astype(np.float32)
            vector /= np.linalg.norm(vector)
            before = follower.size()
            entry = await writer.create(Draft((f"question {n}",), f"answer {n}"), author="bench", origin="staff",
                                        at=AT, vectors=vector)
            took.append(await wait_for(lambda b=before: follower.size() == b + 1))
            if n % 2:
                before = follower.size()
                await writer.retire(entry, by="bench", at=AT)
                took.append(await wait_for(lambda b=before: follower.size() == b - 1))
    finally:
        for kb in (writer, follower):
            await kb.close()
            await kb.db.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", help="an empty PostgreSQL database (default: start one)")
    parser.add_argument("--changes", type=int, default=200)
    args = parser.parse_args()
    server = None
    url = args.db
    if url is None:
        from tests.pgserver import TemporaryPostgres, create_database

        server = TemporaryPostgres().start()
        asyncio.run(create_database(server.admin_url, "follow"))
        url = server.url("follow")
    try:
        took = sorted(asyncio.run(measure(url, args.changes)))
    finally:
        if server is not None:
            server.stop()
    ms = [t * 1000 for t in took]
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{len(ms)} changes followed: p50 {statistics.median(ms):.1f} ms, p99 {p99:.1f} ms, "
          f"max {ms[-1]:.1f} ms (goal: 100 ms)")


if __name__ == "__main__":
    main()
