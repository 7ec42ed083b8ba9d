"""Time passing: presumed resolution after silence, reminders to staff."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from bot import casework
from bot.cases import STAFF_QUEUE
from bot.events import Tick
from bot.handling import Handling

logger = logging.getLogger(__name__)


async def on_tick(handling: Handling, tick: Tick) -> None:
    policy = handling.services.policy
    quiet = timedelta(hours=policy.auto_resolve_hours)
    sla = timedelta(minutes=policy.owner_sla_minutes)
    for case in await handling.services.cases.with_status(None, "answered", "routed"):
        handling.space = case.space
        if case.status == "answered":
            since = max(filter(None, (case.last_reply_at, case.last_asker_at, case.updated_at)))
            asker_quiet = case.last_asker_at is None or case.last_asker_at <= (case.last_reply_at or since)
            if asker_quiet and handling.now - since >= quiet:
                case = await casework.resolve(handling, case, confirmed=False)
                await handling.save(case)
        elif case.owner == STAFF_QUEUE and not case.reminded and handling.now - case.updated_at >= sla:
            words = handling.services.composer.notice(
                f"Reminder: “{case.question[:120]}” from {case.user_name or case.user} has been waiting "
                f"since {case.updated_at:%b %d %H:%M} with no one on it.", "the staff team",
                "someone takes it (I'll take it) or replies to the card")
            handling.reply(case, words, address=handling.staff_address(case.card_ref or case.card, case=case))
            await handling.log("reminder", {"card": case.card}, case=case.key)
            await handling.save(replace(case, reminded=True))
    handling.space = tick.space
