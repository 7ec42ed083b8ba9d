"""A few weeks of a small community's support played through the real core,
for tests that need a realistic event log: two spaces, two help channels,
answers confirmed and not, hand-overs answered by staff (and so learned),
members writing again in their thread, asking the same again, asking for a
person, a moderator moving one to private, silence long enough to presume
an answer worked, reminders of cards nobody took."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

import yaml

from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB

HELP_CHANNELS = ["help", "general", "support"]

UNKNOWN = [
    "can I change the font size in the editor?",
    "can I embed a tidepool notebook in confluence?",
    "is there a dark mode for the mobile app?",
    "can I run tidepool on premises?",
    "does the API support GraphQL?",
    "can I schedule a notebook to run every night?",
    "can I export a dashboard as PDF?",
    "is there an audit log of who changed a notebook?",
]


async def community_core(embedder: Any) -> Any:
    """A core with the demo knowledge that helps in the community's three channels."""
    return await make_core(embedder, kb=DEMO_KB, help_channels=HELP_CHANNELS)


@dataclass
class Community:
    """The chat (its clock at the end), and what it left behind."""

    chat: Chat
    waiting: list[str] = field(default_factory=list)  # cards nobody answered
    answered: list[tuple[str, str]] = field(default_factory=list)  # (case, asker) the bot answered


async def play_community(core: Any, *, days: int = 16, seed: int = 11, chat: Chat | None = None) -> Community:
    """Each day a handful of questions in ``help`` or ``general`` (and now and
    then one in the ``acme`` space, which has no knowledge), with everything
    that tends to follow. ``chat``: go on from where an earlier one stopped."""
    rng = random.Random(seed)
    items = yaml.safe_load(DEMO_KB.read_text(encoding="utf-8"))
    known = [q for item in items for q in item["questions"]]
    played = Community(chat or Chat(core))
    chat = played.chat
    unknown = itertools.cycle(UNKNOWN)
    for day in range(days):
        for _ in range(rng.randint(3, 7)):
            await _one_question(played, rng, known, unknown)
            chat.later(minutes=rng.randint(10, 120))
        if day % 4 == 3:
            said = await chat.ask(next(unknown), user=f"acme{day}", space="acme", channel="support")
            if said.routed and rng.random() < 0.7:
                chat.later(minutes=30)
                await chat.staff("Not today, but soon.", card=said.route.card, space="acme")
        chat.later(hours=24 - chat.now.hour + 8)
        await chat.tick(seconds=1)
    return played


async def _one_question(played: Community, rng: random.Random, known: list[str], unknown: Any) -> None:
    chat = played.chat
    user = f"u{rng.randint(1, 25)}"
    channel = rng.choice(("help", "help", "general"))
    roll = rng.random()
    text = next(unknown) if roll < 0.18 else rng.choice(known)
    said = await chat.ask(text, user=user, channel=channel)
    reply = said.replies[-1] if said.replies else None
    key = reply.case if reply is not None and reply.case else ""
    if said.routed:
        chat.later(minutes=rng.randint(3, 150))
        if rng.random() < 0.15:
            await chat.command("claim", user="bob", roles=("staff",), thread=said.route.card, channel="staff")
        if rng.random() < 0.75:
            await chat.staff(f"Here is how: {rng.randint(1, 9)} steps in Settings.", card=said.route.card)
        else:
            played.waiting.append(said.route.card)
        return
    if not key:
        return
    played.answered.append((key, user))
    follow = rng.random()
    chat.later(minutes=rng.randint(1, 40))
    if follow < 0.45:
        await chat.press(key, "solved", user=user)
    elif follow < 0.55:
        await chat.press(key, "not_solved", user=user)
    elif follow < 0.62:
        await chat.say("that did not work for me", thread=key, user=user, channel=channel)
    elif follow < 0.67:
        await chat.press(key, "human", user=user)
    elif follow < 0.72:
        await chat.command("private", user="mod", roles=("moderator",), about=key, channel=channel)
    elif follow < 0.80:
        chat.later(minutes=rng.randint(5, 60))
        await chat.ask(text, user=user, channel=channel)  # the same again
