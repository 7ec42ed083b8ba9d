"""The slack-bolt ``AsyncApp``: acknowledge at once, queue the payload, return.

Bolt acknowledges events itself before running listeners
(``process_before_response=False``); buttons, the slash command and the
shortcut ack first thing. Listeners only put the payload in the inbox, in
arrival order: reading it (lookups, translation) and handing it to the core
happen after, so Slack never waits on retrieval.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.logs import bolt_logger
from adapters.slack.settings import SlackSettings

logger = logging.getLogger(__name__)

PRIVATE_SHORTCUT = "journeybot_private"
USAGE = ("journeybot commands:\n"
         "• `{command} recap`: what journeybot has on record for you (only you see it)\n"
         "• `{command} private <link to a message in the thread>` (moderators): move that member's "
         "question to a direct message. Easier: open the ⋯ menu on any message in the thread and "
         "choose *Move to private*.")


MAX_ACCEPTED = 5000  # Events API deliveries remembered, to skip Slack's redeliveries

PayloadKind = Literal["message", "app_mention", "action", "command", "shortcut"]
# Payloads answered privately through their response URL when the bot cannot post there.
RESPONDS_LATER: frozenset[PayloadKind] = frozenset({"command", "shortcut"})


@dataclass(frozen=True, slots=True)
class Payload:
    """One payload a listener took: an event (with its envelope), a button, a command."""

    kind: PayloadKind
    body: dict[str, Any]
    event: dict[str, Any] | None = None


class Inbox:
    """Payloads the listeners took, in arrival order, for the adapter to translate.

    It remembers which Events API deliveries it took, so a redelivery is skipped."""

    def __init__(self, remembered: int = MAX_ACCEPTED) -> None:
        self._queue: asyncio.Queue[Payload] = asyncio.Queue()
        self._accepted: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    def put(self, kind: PayloadKind, body: dict[str, Any], event: dict[str, Any] | None = None) -> None:
        event_id = body.get("event_id")
        if event_id:
            self._accepted[event_id] = None
            while len(self._accepted) > self._remembered:
                self._accepted.popitem(last=False)
        self._queue.put_nowait(Payload(kind, body, event))

    def accepted(self, event_id: str) -> bool:
        return event_id in self._accepted

    async def get(self) -> Payload:
        return await self._queue.get()

    def done(self) -> None:
        """The payload last taken with ``get`` is dealt with."""
        self._queue.task_done()

    async def join(self) -> None:
        """Until every payload put so far is dealt with."""
        await self._queue.join()


def build_app(client: AsyncWebClient, settings: SlackSettings, inbox: Inbox, *, http: bool,
              on_error: Callable[[BaseException], None] | None = None) -> AsyncApp:
    """The Bolt app: request checks, redelivery skipping, and one listener per payload kind."""
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    app = AsyncApp(client=client, signing_secret=secret, name="journeybot",
                   process_before_response=False, request_verification_enabled=http,
                   ignoring_self_events_enabled=True, logger=bolt_logger())

    @app.middleware
    async def skip_redeliveries(body: dict[str, Any], request: AsyncBoltRequest,
                                context: AsyncBoltContext, next: Callable[[], Any]) -> BoltResponse | None:
        """Slack retries an event it thinks we missed (X-Slack-Retry-Num); one we
        already took is acknowledged and skipped."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and inbox.accepted(event_id):
            retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
            reason = (request.headers.get("x-slack-retry-reason") or ["?"])[0]
            logger.info("Slack redelivered event %s (retry %s, %s): already taken, skipped",
                        event_id, retry, reason)
            return await context.ack()
        return await next()  # type: ignore[no-any-return]

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        inbox.put("message", body, event)

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        inbox.put("app_mention", body, event)

    @app.action(re.compile(r"^journeybot_"))
    async def on_button(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        inbox.put("action", body)

    @app.command(settings.command)
    async def on_command(ack: Any, body: dict[str, Any]) -> None:
        word = (body.get("text") or "").strip().split(" ")[0].lower()
        if word in ("", "help"):
            await ack(USAGE.format(command=settings.command))
            return
        await ack()
        inbox.put("command", body)

    @app.shortcut(PRIVATE_SHORTCUT)
    async def on_private_shortcut(ack: Any, body: dict[str, Any]) -> None:
        await ack()
        inbox.put("shortcut", body)

    @app.error
    async def on_listener_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error("Slack listener failed on a %s payload", body.get("type"), exc_info=error)
        if on_error is not None:
            on_error(error)

    return app
