"""Slack, as the crash bench plays it: a recording Web API and the Events API's delivery.

``BenchSlack`` is the tests' recording fake Web API (``tests/adapters/slack/fake.py``)
with a workspace of any size (every ``U…`` id is a member with a name).

``EventsAPI`` delivers signed events to the bot the way Slack documents it: an
answer is expected within 3 seconds; a delivery that times out, fails to
connect or gets a non-2xx answer is retried up to 3 times (``X-Slack-Retry-Num``
1–3, with ``X-Slack-Retry-Reason``): at once, after a minute, after five
minutes. A timed-out delivery is retried without waiting for its answer, so a
slow bot may see the same event twice at once. ``minute`` scales Slack's minute
(the bench cannot wait five real ones per event). After the last retry Slack
gives up: that event was never acknowledged.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.adapters.slack import payloads
from tests.adapters.slack.fake import FakeSlack

ANSWER_WITHIN = 3.0  # seconds Slack waits for an answer
RETRIES_AFTER = (0.0, 1.0, 5.0)  # minutes after a failed delivery that Slack tries again


class BenchSlack(FakeSlack):
    """The recording fake, where every ``U…`` id is a member called by it."""

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "users.info" and str(p.get("user", "")).startswith("U"):
            user = str(p["user"])
            return {"user": {"id": user, "name": user.lower(), "profile": {"display_name": f"Member {user}"}}}
        return super()._answer(method, p)


@dataclass
class Delivery:
    """One event as Slack tries to deliver it."""

    kind: str  # question | staff
    event: dict[str, Any]
    event_id: str
    attempts: list[str] = field(default_factory=list)  # each attempt's outcome: 200, 503, timeout, refused
    acked_at: float | None = None

    @property
    def acked(self) -> bool:
        return self.acked_at is not None


class EventsAPI:
    """Delivers events to ``url`` with Slack's answer window and retries."""

    def __init__(self, url: str, *, minute: float) -> None:
        self.url = url
        self.minute = minute
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> EventsAPI:
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def send(self, kind: str, event: dict[str, Any]) -> Delivery:
        """Start delivering ``event`` (returns at once; the delivery goes on in its own task)."""
        body = payloads.envelope(event)
        delivery = Delivery(kind, event, body["event_id"])
        self.deliveries.append(delivery)
        task = asyncio.create_task(self._deliver(delivery, json.dumps(body)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery

    async def settled(self) -> None:
        """Until every delivery is acknowledged or given up."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, delivery: Delivery, body: str) -> None:
        reason = ""
        for attempt in range(len(RETRIES_AFTER) + 1):
            if attempt:
                await asyncio.sleep(RETRIES_AFTER[attempt - 1] * self.minute)
            outcome = await self._attempt(body, attempt, reason)
            delivery.attempts.append(outcome)
            if outcome == "200":
                delivery.acked_at = time.monotonic()
                return
            reason = {"timeout": "http_timeout", "refused": "connection_failed"}.get(outcome, "http_error")

    async def _attempt(self, body: str, attempt: int, reason: str) -> str:
        assert self._session is not None
        headers = payloads.signed_headers(body, "application/json")
        if attempt:
            headers.update({"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": reason})
        try:
            async with self._session.post(self.url, data=body, headers=headers,
                                          timeout=aiohttp.ClientTimeout(total=ANSWER_WITHIN)) as response:
                await response.read()
                return str(response.status) if response.status != 200 else "200"
        except TimeoutError:
            return "timeout"
        except aiohttp.ClientError:
            return "refused"
