"""A few weeks of a small community's support, played through the core, so
the console has something to show (charts over time, queues, taught entries)."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import yaml

from tests.chat import Chat
from tests.conftest import DEMO_KB

UNKNOWN = [
    "can I change the font size in the editor?",
    "can I embed a tidepool notebook in confluence?",
    "is there a dark mode for the mobile app?",
    "can I run tidepool on premises?",
    "does the API support GraphQL?",
    "can I schedule a notebook to run every night?",
]
ANSWERS = [
    "Yes: View → Zoom, or Ctrl and + / Ctrl and −.",
    "Yes: paste the notebook's share link into Confluence's iframe macro.",
    "Yes: Settings → Appearance → Dark, on iOS and Android.",
    "No: Tidepool is hosted only; we offer EU and US regions.",
    "No, REST only; GraphQL is not on the roadmap.",
    "Yes: Notebook → Schedule → pick a time; runs show under History.",
]


async def play_history(core: Any, *, days: int = 21, seed: int = 7) -> Chat:
    """Each day a handful of questions: most answered (some confirmed, some not),
    a few handed to staff who answer them; a member comes back now and then."""
    rng = random.Random(seed)
    items = yaml.safe_load(DEMO_KB.read_text(encoding="utf-8"))
    known = [q for item in items for q in item["questions"][1:] or item["questions"][:1]]
    chat = Chat(core)
    taught = 0
    for day in range(days):
        for n in range(rng.randint(3, 6)):
            user = f"u{rng.randint(1, 40)}"
            said = await chat.ask(rng.choice(known), user=user, user_name=user.upper())
            reply = said.replies[-1] if said.replies else None
            if reply is not None and reply.kind == "answer":
                roll = rng.random()
                if roll < 0.55:
                    await chat.press(reply.case or "", "solved", user=user)
                elif roll < 0.62:
                    await chat.press(reply.case or "", "not_solved", user=user)
            chat.later(minutes=rng.randint(20, 140))
            if n == 1 and day % 2 == 0 and taught < len(UNKNOWN):
                routed = await chat.ask(UNKNOWN[taught], user=f"u{day + 50}")
                if routed.routed:
                    chat.later(minutes=rng.randint(5, 90))
                    await chat.staff(ANSWERS[taught], card=routed.route.card)
                taught += 1
        chat.later(hours=24 - chat.now.hour + 8)
        await chat.tick(seconds=1)
    chat.later(days=0)
    return chat


def last_day(chat: Chat) -> Any:
    return chat.now - timedelta(days=1)
