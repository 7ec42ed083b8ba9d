"""Actions out: what the outbox holds, sent in order, once each.

Every action is in the outbox before it is sent. ``flush`` sends what is
there, oldest first: it notes each attempt durably before the adapter sends,
and marks the action performed after, so a crash in between leaves it
pending *and* attempted; its next send then carries ``resend`` and the adapter
looks for it on the platform first (Slack: the action's key in message
metadata; Discord: the key as the message nonce). One flush at a time, and
only what is still pending, so two paths never send one action twice.

A send that fails holds back the rest of *its* case (order matters in a
thread) but not other cases'; the case is tried again with backoff and
jitter. A failing store stops the flush (``StoreUnavailable``): nothing is
sent that could not be recorded.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from bot.actions import Action
from bot.core import Core
from bot.ports import Adapter, NotReady
from storage.sql import StoreUnavailable

logger = logging.getLogger(__name__)

RETRY_FIRST = 1.0
RETRY_MAX = 60.0

CaseKey = tuple[str, str | None]


@dataclass(slots=True)
class Backoff:
    """When a case whose send failed is tried again."""

    due: float
    delay: float


class Outbound:
    """Sends the outbox through the adapters; ``on_trouble`` hears of a failing store
    met by a flush nobody awaits (a scheduled retry)."""

    def __init__(self, core: Core, adapter_for: Callable[[Action], Adapter], *,
                 on_trouble: Callable[[StoreUnavailable], None]) -> None:
        self.core = core
        self.adapter_for = adapter_for
        self.on_trouble = on_trouble
        self.held: dict[CaseKey, Backoff] = {}
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None

    async def flush(self) -> bool:
        """Send every pending action that is due, in order; ``True`` when none is held back.
        Raises ``StoreUnavailable`` when the store fails."""
        async with self._lock:
            now = asyncio.get_running_loop().time()
            blocked: set[CaseKey] = set()
            for action in await self.core.to_send():
                key = (action.space, action.case)
                waiting = self.held.get(key)
                if key in blocked or (waiting is not None and waiting.due > now):
                    blocked.add(key)
                    continue
                if not await self._send(action):
                    blocked.add(key)
            self._schedule()
            return not self.held

    async def _send(self, action: Action) -> bool:
        key = (action.space, action.case)
        await self.core.attempting(action)
        try:
            ref = await self.adapter_for(action).perform(action)
        except StoreUnavailable:
            raise
        except NotReady as exc:
            logger.info("not connected yet (%s); outbox %d waits", exc, action.seq)
            self._back_off(key)
            return False
        except Exception:
            logger.exception("performing %s (outbox %d) failed; it stays queued", type(action).__name__, action.seq)
            self._back_off(key)
            return False
        await self.core.performed(action, ref)
        self.held.pop(key, None)
        return True

    def _back_off(self, key: CaseKey) -> None:
        before = self.held.get(key)
        delay = RETRY_FIRST if before is None else min(before.delay * 2, RETRY_MAX)
        due = asyncio.get_running_loop().time() + delay * (0.5 + random.random())  # jitter
        self.held[key] = Backoff(due, delay)

    def _schedule(self) -> None:
        """Wake up when the first held case is due again."""
        if not self.held or (self._timer is not None and not self._timer.done()):
            return
        due = min(b.due for b in self.held.values())
        self._timer = asyncio.create_task(self._retry_at(due), name="journeybot-outbox-retry")

    async def _retry_at(self, due: float) -> None:
        await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
        self._timer = None
        try:
            await self.flush()
        except StoreUnavailable as exc:
            self.on_trouble(exc)

    async def close(self) -> None:
        """No more retries from here (what is pending stays in the outbox)."""
        if self._timer is not None:
            self._timer.cancel()
            await asyncio.gather(self._timer, return_exceptions=True)
            self._timer = None
