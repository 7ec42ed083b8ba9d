"""What several workers on one store need of the core: who a worker is to the
store's leases, how long a lease runs, which lock keys handling an event holds,
and when an event must wait for another one not handled yet.

``Core`` uses these around each event's transaction (``storage.locks`` holds the
keys; ``storage.mailroom`` keeps the leases); on one SQLite process they cost
nothing and change nothing.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime

from bot.cases import CaseStore
from bot.events import Command, Delete, Edit, Event, Feedback, Message, Tick
from bot.services import Community
from storage import is_postgres
from storage.mailroom import Inbox, Outbox

EVENT_LEASE_MS = 10_000  # an event stored by a worker that died is taken by another after this
ACTION_LEASE_MS = 15_000  # an action claimed by a worker that died is sent by another after this
WAIT_AT_MOST = 90.0  # seconds an event waits for what it depends on before it is handled anyway


def worker_name(location: str) -> str:
    """Who this process is to the store's leases. An SQLite store serves one process, so a
    restarted process takes over its own leases at once; on PostgreSQL each process is itself."""
    if not is_postgres(location):
        return "local"
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Waits(Exception):
    """The event depends on one not handled yet; it is left for later (the sweep)."""


async def touches(cases: CaseStore, event: Event) -> tuple[set[str], bool]:
    """The lock keys of what handling ``event`` may change: its case and the people
    whose journeys it moves; everything for time passing over all cases."""
    if isinstance(event, Tick):
        return set(), True
    about: str | None = None
    if isinstance(event, Message | Command):
        about = event.thread or (event.id if isinstance(event, Message) and not event.direct else None)
    elif isinstance(event, Feedback | Edit | Delete):
        about = event.about
    users = {event.user} if event.user else set()
    keys: set[str] = set()
    if about:
        case_key, user = await case_behind(cases, event.space, about)
        keys.add(f"case:{event.space}:{case_key}")
        if user:
            users.add(user)
    return keys | {f"user:{event.space}:{u}" for u in users}, False


async def case_behind(cases: CaseStore, space: str, about: str) -> tuple[str, str | None]:
    """The case ``about`` (a case key, or a card, thread or DM we posted) belongs to, and its asker."""
    case = await cases.get(space, about)
    if case is None:
        ref = await cases.by_ref(space, about)
        if ref is not None:
            case = await cases.get(space, ref[0])
            return ref[0], case.user if case else None
        return about, None
    return case.key, case.user


async def must_it_wait(event: Event, *, community: Community, cases: CaseStore, inbox: Inbox,
                       outbox: Outbox) -> None:
    """Raise ``Waits`` while ``event`` depends on what is not done yet (another worker
    died with it, or has it in hand, out on a slow call): a reply in the thread of a
    question not handled yet, an edit or delete of such a question, a staff reply to a
    card whose post is not recorded yet. At most ``WAIT_AT_MOST``."""
    if (datetime.now(UTC) - event.at).total_seconds() > WAIT_AT_MOST:
        return
    if isinstance(event, Edit | Delete):
        if event.about and await inbox.waits(event.space, event.about):
            raise Waits(f"the event {event.about} it changes")
        return
    if not isinstance(event, Message) or not event.thread:
        return
    thread = event.thread
    if await inbox.waits(event.space, thread):
        raise Waits(f"its thread's event {thread}")
    if (community.channel_kind(event) == "staff" and await cases.get(event.space, thread) is None
            and await cases.by_ref(event.space, thread) is None
            and await outbox.unperformed(event.space)):
        raise Waits(f"the post of card {thread} to be recorded")
