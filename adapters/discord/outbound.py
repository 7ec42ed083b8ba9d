"""The core's actions as Discord posts: answers in threads, cards in the staff
channel, card edits, DMs and ephemeral replies to interactions.

Every send carries ``AllowedMentions.none()``: text from members (or echoed
by the bot) never pings ``@everyone``, ``@here``, roles or people. A send
that fails for a passing reason raises, so the runtime keeps the action
queued and retries it; discord.py itself already waits out rate limits.

Every message carries its action's key as its nonce (discord.py sends it with
``enforce_nonce``), so when a crash came between a send and its record, the
send after the restart gets the first message back instead of a second one.
Discord keeps nonces for a few minutes: a resend later than that (a long
outage right after such a crash) could still show twice.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

import discord

from adapters.discord import render
from adapters.discord.directory import Directory
from adapters.discord.interactions import Interactions
from adapters.discord.views import card_view, feedback_view
from bot.actions import Action, CardUpdate, Private, Reply, Route, sender_for
from bot.events import Address
from bot.ports import NotReady

logger = logging.getLogger(__name__)

NO_PINGS = discord.AllowedMentions.none()
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
REMEMBERED_QUESTIONS = 1024


class NotConnected(NotReady):
    """The bot is not logged in (yet): the runtime retries the action later."""


class Performer:
    """Performs the core's actions on Discord through one client."""

    def __init__(self, client: discord.Client, directory: Directory, interactions: Interactions) -> None:
        self._client = client
        self.directory = directory
        self.interactions = interactions
        self._questions: OrderedDict[str, str] = OrderedDict()

    @property
    def client(self) -> discord.Client:
        if self._client.user is None:
            raise NotConnected("not connected to Discord yet")
        return self._client

    def remember_question(self, message_id: str, text: str) -> None:
        """Kept briefly so the thread created for the answer can be named after it."""
        self._questions[message_id] = text
        while len(self._questions) > REMEMBERED_QUESTIONS:
            self._questions.popitem(last=False)

    async def perform(self, action: Action) -> str | None:
        """One action, by its type; returns the Discord id of what was posted."""
        handler = sender_for(self, action, "Discord")
        if handler is None:
            return None
        try:
            return await handler(action)
        except (discord.Forbidden, discord.NotFound) as exc:
            # Retrying cannot help (missing permission, DMs closed, channel deleted), and a
            # stuck action would hold up every later one: say so loudly and let it go.
            logger.warning("cannot perform %s for case %s on Discord (%s %s): %s; dropped",
                           type(action).__name__, action.case, exc.status, exc.code, exc.text)
            return None

    # -- replies ------------------------------------------------------------------

    async def reply(self, action: Reply) -> str | None:
        if action.private_to:
            return await self.private_reply(action)
        target, reference = await self.destination(action.address)
        embed = render.sources_embed(action.citations) if action.kind == "answer" else None
        view = feedback_view(action.case, action.buttons) if action.buttons and action.case else None
        return await self.post(target, action.text, embed=embed, view=view, reference=reference, key=action.key)

    async def private_reply(self, action: Reply) -> str | None:
        """Only ``private_to`` sees it: ephemeral when answering their interaction, else a DM."""
        assert action.private_to is not None
        followup = await self.interactions.followup_for(action.event, action.private_to)
        if followup is not None:
            try:
                message_id = None
                for part in render.chunks(action.text):
                    sent = await followup.send(part, ephemeral=True, allowed_mentions=NO_PINGS, wait=True)
                    message_id = str(sent.id)
                self.interactions.answered(action.event)
                return message_id
            except (discord.NotFound, discord.Forbidden):
                logger.info("interaction %s can no longer be answered; sending a DM instead", action.event)
        dm = await self.client.create_dm(discord.Object(int(action.private_to)))
        return await self.post(dm, action.text, key=action.key)

    async def private(self, action: Private) -> str:
        """The case moves to a DM with the asker: post the context, return the DM
        channel id so the asker's next DM finds the case."""
        dm = await self.client.create_dm(discord.Object(int(action.user)))
        self.directory.dm_spaces[dm.id] = action.space
        await self.post(dm, action.text, key=action.key)
        return str(dm.id)

    async def post(self, target: Any, text: str | None, *, embed: discord.Embed | None = None,
                   view: discord.ui.View | None = None,
                   reference: discord.MessageReference | None = None, key: str = "") -> str:
        """Every message the bot sends goes out here: ``text`` split to fit (``None``: an
        embed alone), the embed and buttons on the last part, each part with a nonce
        from ``key``; returns the last part's id."""
        parts: list[str | None] = list(render.chunks(text)) if text is not None else [None]
        sent: discord.Message | None = None
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            extra: dict[str, Any] = {}
            if last and embed is not None:
                extra["embed"] = embed
            if last and view is not None:
                extra["view"] = view
            if index == 0 and reference is not None:
                extra["reference"] = reference
            if key:
                extra["nonce"] = f"{key}.{index}"  # at most 25 characters: 12 + 1 + the part's number
            sent = await target.send(part, allowed_mentions=NO_PINGS, **extra)
        assert sent is not None
        return str(sent.id)

    # -- where a reply goes ----------------------------------------------------------

    async def destination(self, address: Address) -> tuple[Any, discord.MessageReference | None]:
        """The channel or thread an address means, creating the question's thread if needed."""
        client = self.client
        if address.dm_user:
            return await client.create_dm(discord.Object(int(address.dm_user))), None
        if self.directory.is_staff_address(address.channel):
            staff = self.staff_channel()
            if address.thread and address.thread.isdigit():
                thread = client.get_channel(int(address.thread))
                if isinstance(thread, discord.Thread):  # a thread on the card
                    return thread, None
                return staff, discord.MessageReference(message_id=int(address.thread), channel_id=staff.id,
                                                       fail_if_not_exists=False)
            return staff, None
        if address.thread:
            thread_id = int(address.thread)
            found = client.get_channel(thread_id)
            if found is not None:
                return found, None
            parent = client.get_channel(int(address.channel)) if address.channel.isdigit() else None
            if isinstance(parent, discord.TextChannel):
                return await self.open_thread(parent, thread_id), None
            return client.get_partial_messageable(thread_id), None
        channel_id = int(address.channel)
        return client.get_channel(channel_id) or client.get_partial_messageable(channel_id), None

    async def open_thread(self, parent: discord.TextChannel, message_id: int) -> Any:
        """The thread on the question's message (it gets the message's id)."""
        name = render.thread_name(self._questions.get(str(message_id)))
        try:
            return await parent.get_partial_message(message_id).create_thread(name=name)
        except discord.HTTPException as exc:
            if exc.code != THREAD_EXISTS:
                raise
            return self.client.get_partial_messageable(message_id, guild_id=parent.guild.id,
                                                        type=discord.ChannelType.public_thread)

    def staff_channel(self) -> Any:
        channel = self.directory.staff_channel()
        if channel is None:
            raise NotConnected(f"the staff channel {self.directory.settings.staff_channel!r} is not visible "
                               "to the bot (yet)")
        return channel

    # -- cards ------------------------------------------------------------------------

    def _jump_link(self, address: Address | None) -> str | None:
        if address is None or address.dm_user or not address.channel.isdigit():
            return None
        channel = self.client.get_channel(int(address.channel))
        guild = getattr(channel, "guild", None)
        return render.jump_link(guild.id if guild else None, address.thread or address.channel)

    async def route(self, action: Route) -> str:
        return await self.card(action, card_ref=None, latest=None)

    async def card_update(self, action: CardUpdate) -> str:
        return await self.card(action, card_ref=action.card_ref, latest=action.text)

    async def card(self, action: Route | CardUpdate, *, card_ref: str | None, latest: str | None) -> str:
        """Post a card (Route, or an update whose card was never posted) or edit it."""
        content = action.content
        case = action.case or action.card
        link = self._jump_link(content.case_address if content else None)
        embed = render.card_embed(content, fallback_text=action.text, case=case, link=link, latest=latest)
        view = card_view(case, content) if render.card_is_open(content) else None
        staff = self.staff_channel()
        if card_ref and card_ref.isdigit():
            await staff.get_partial_message(int(card_ref)).edit(embed=embed, view=view,
                                                                 allowed_mentions=NO_PINGS)
            return card_ref
        posted = await self.post(staff, None, embed=embed, view=view, key=action.key)
        self.directory.remember_card(int(posted))
        return posted
