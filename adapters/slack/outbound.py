"""Core actions → Slack Web API calls.

Replies go to the case's thread (``thread_ts`` from the composite thread
id), to a DM when the case moved there, or as an ephemeral message when
only one person may see them. Cards go to the staff channel and are
updated in place. Posts are paced per channel; a post that still fails
after the client's own rate-limit retries raises, and the runtime keeps
the action in its outbox and tries again later.

Every post carries its action's key in message metadata. An action that may
have been posted already (``resend``: a crash came between the post and its
record) is first looked for where it would be, by that key, and not posted
twice. Card edits repeat harmlessly; an ephemeral message cannot be looked
for (it may, rarely, show twice).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from adapters.slack import ids
from adapters.slack.directory import Directory
from adapters.slack.errors import NOT_VISIBLE, PERMANENT, error_of
from adapters.slack.interactions import Interactions
from adapters.slack.render import Block, card_blocks, reply_blocks, sections
from adapters.slack.text import fallback
from bot.actions import Action, Card, CardUpdate, Private, Reply, Route, sender_for
from bot.events import Address

logger = logging.getLogger(__name__)

KEY_EVENT = "journeybot_action"  # message metadata: {"event_type": KEY_EVENT, "event_payload": {"key": …}}
LOOK_BACK = 200  # messages of a channel (newest first) or of a thread page searched for an earlier post
THREAD_PAGES = 5


class UnknownChannel(LookupError):
    """An address names a channel Slack does not know (or the bot cannot see)."""


class Pacer:
    """At most one post per channel every ``interval`` seconds; later posts wait their turn."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def turn(self, channel: str) -> None:
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._next.get(channel, 0.0) - self._clock()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next[channel] = self._clock() + self.interval


class Performer:
    """Performs one action at a time and returns its Slack reference."""

    def __init__(self, client: AsyncWebClient, directory: Directory, interactions: Interactions, *,
                 pacer: Pacer, workspace_url: str | None = None) -> None:
        self.client = client
        self.directory = directory
        self.interactions = interactions
        self.pacer = pacer
        self.workspace_url = workspace_url
        self._permalinks: dict[str, str | None] = {}

    async def perform(self, action: Action) -> str | None:
        """One action, by its type; returns the composite id of what was posted."""
        handler = sender_for(self, action, "Slack")
        if handler is None:
            return None
        try:
            return await handler(action)
        except UnknownChannel as exc:
            logger.error("%s for case %s: %s dropped", exc, action.case, type(action).__name__)
            return None
        except SlackApiError as exc:
            error = error_of(exc)
            if error not in PERMANENT:
                raise
            logger.error("Slack refused %s for case %s (%s); it cannot succeed later, so it is dropped",
                         type(action).__name__, action.case, error)
            return None

    # -- replies --------------------------------------------------------------------------

    async def reply(self, reply: Reply) -> str | None:
        if reply.private_to:
            await self.private_reply(reply)
            return None  # an ephemeral message has no ts to answer later
        channel, thread_ts = await self.destination(reply.address)
        ts = await self.post(channel, reply.text, reply_blocks(reply), thread_ts, key=reply.key, resend=reply.resend)
        return ids.ref(channel, ts)

    async def destination(self, address: Address) -> tuple[str, str | None]:
        """The Slack channel and thread a core address points at."""
        parsed = ids.split(address.thread)
        if address.dm_user:
            channel = await self.directory.dm_channel(address.dm_user)
            return channel, parsed[1] if parsed and parsed[0] == channel else None
        if parsed:
            return parsed
        found = await self.directory.channel_id(address.channel)
        if found is None:
            raise UnknownChannel(f"no Slack channel for {address.channel!r}")
        return found, None

    async def post(self, channel: str, text: str, blocks: list[Block], thread_ts: str | None, *,
                   key: str = "", resend: bool = False) -> str:
        """Every message that stays in a channel goes out here, with ``key`` in its metadata;
        with ``resend``, one posted before under that key is found and not posted again."""
        if key and resend:
            found = await self.earlier_post(channel, thread_ts, key)
            if found is not None:
                logger.info("outbox action %s was posted before the restart (ts %s): not posted again", key, found)
                return found
        extra: dict[str, Any] = {"metadata": {"event_type": KEY_EVENT, "event_payload": {"key": key}}} if key else {}
        await self.pacer.turn(channel)
        try:
            sent = await self.client.chat_postMessage(
                channel=channel, text=fallback(text), blocks=blocks, thread_ts=thread_ts,
                unfurl_links=False, unfurl_media=False, parse="none", link_names=False, **extra)
        except SlackApiError as exc:
            if error_of(exc) not in ("invalid_blocks", "invalid_blocks_format"):
                raise
            logger.warning("Slack rejected the blocks of a post (%s); sending the text alone", error_of(exc))
            sent = await self.client.chat_postMessage(channel=channel, text=fallback(text), thread_ts=thread_ts,
                                                      parse="none", link_names=False, **extra)
        return str(sent["ts"])

    async def earlier_post(self, channel: str, thread_ts: str | None, key: str) -> str | None:
        """The ts of a message posted with ``key`` where it would be (the thread, or the
        channel's latest messages), or ``None``; a failed look posts again (at least once)."""
        try:
            for message in await self._recent(channel, thread_ts):
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("key") == key:
                    return str(message["ts"])
        except SlackApiError as exc:
            logger.warning("cannot look for an earlier post of outbox action %s in %s (%s): posting it",
                           key, channel, error_of(exc))
        return None

    async def _recent(self, channel: str, thread_ts: str | None) -> list[dict[str, Any]]:
        if thread_ts is None:
            found = await self.client.conversations_history(channel=channel, limit=LOOK_BACK,
                                                            include_all_metadata=True)
            return list(found.get("messages") or [])
        messages: list[dict[str, Any]] = []
        cursor = None
        for _ in range(THREAD_PAGES):
            page = await self.client.conversations_replies(channel=channel, ts=thread_ts, limit=LOOK_BACK,
                                                           include_all_metadata=True, cursor=cursor)
            messages += page.get("messages") or []
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return messages

    async def private_reply(self, reply: Reply) -> None:
        """Only ``private_to`` sees it: ephemeral in the thread if we can, else through the
        command's response URL, else in a DM."""
        assert reply.private_to is not None
        channel, thread_ts = await self.destination(reply.address)
        user, text, blocks = reply.private_to, reply.text, reply_blocks(reply)
        await self.pacer.turn(channel)
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=fallback(text),
                                                 blocks=blocks, thread_ts=thread_ts, parse="none", link_names=False)
            return
        except SlackApiError as exc:
            if error_of(exc) not in NOT_VISIBLE:
                raise
            logger.info("ephemeral in %s not possible (%s): trying elsewhere", channel, error_of(exc))
        url = self.interactions.response_url(reply.event)
        if url:
            sent = await AsyncWebhookClient(url).send(text=fallback(text), blocks=blocks,
                                                      response_type="ephemeral", replace_original=False)
            if sent.status_code == 200:
                return
        dm = await self.directory.dm_channel(user)
        await self.post(dm, text, blocks, None, key=reply.key, resend=reply.resend)

    # -- staff cards --------------------------------------------------------------------------

    async def route(self, route: Route) -> str:
        channel = await self.directory.staff_channel()
        blocks = await self.card(route.content, case=route.case or "") if route.content else sections(route.text)
        ts = await self.post(channel, route.text, blocks, None, key=route.key, resend=route.resend)
        return ids.ref(channel, ts)

    async def card_update(self, update: CardUpdate) -> str | None:
        parsed = ids.split(update.card_ref)
        if parsed is None:
            logger.warning("card %s of case %s was never posted to Slack: nothing to update",
                           update.card, update.case)
            return None
        channel, ts = parsed
        if update.content is not None:
            blocks = await self.card(update.content, case=update.case or "", note=update.text)
            await self.pacer.turn(channel)
            await self.client.chat_update(channel=channel, ts=ts, text=fallback(update.text or "card"),
                                          blocks=blocks, parse="none", link_names=False)
        if update.text:
            await self.post(channel, update.text, sections(update.text), ts,
                            key=f"{update.key}.note" if update.key else "", resend=update.resend)
        return update.card_ref

    async def card(self, card: Card, *, case: str, note: str | None = None) -> list[Block]:
        asker = card.asker_name or await self.directory.user_name(card.asker) or card.asker
        thread_link = None if card.case_address.dm_user else await self.permalink(card.case_address)
        return card_blocks(card, case=case, owner_name=await self.owner_name(card),
                           asker_name=asker, thread_link=thread_link, note=note)

    async def owner_name(self, card: Card) -> str:
        """The owner's Slack name when a person has the case, else the card's words for who has it."""
        label = card.owner_label or card.owner
        if card.owner_user is None:
            return label
        return await self.directory.user_name(card.owner_user) or label

    async def permalink(self, address: Address) -> str | None:
        parsed = ids.split(address.thread)
        if parsed is None:
            return None
        key = ids.ref(*parsed)
        if key not in self._permalinks:
            try:
                found = await self.client.chat_getPermalink(channel=parsed[0], message_ts=parsed[1])
                self._permalinks[key] = str(found["permalink"])
            except SlackApiError as exc:
                logger.info("no permalink for %s (%s): building one", key, error_of(exc))
                self._permalinks[key] = ids.permalink(self.workspace_url, *parsed)
        return self._permalinks[key]

    # -- private ------------------------------------------------------------------------------

    async def private(self, private: Private) -> str:
        """The case moves to a DM: its context goes there, and the DM channel id
        becomes the case's reference so the asker's DMs continue it."""
        channel = await self.directory.dm_channel(private.user)
        await self.post(channel, private.text, sections(private.text), None, key=private.key, resend=private.resend)
        return channel
