"""The slack-bolt ``AsyncApp``: acknowledge once stored, never before.

Slack wants an answer within 3 seconds, and delivers an event again when it
gets none, or an error: at once, after a minute, after five (``X-Slack-Retry-Num``
1–3; Socket Mode envelopes the same, without an ack). Buttons, the slash
command and the shortcut it never delivers again. So Bolt runs our listeners
before it answers (``process_before_response=True``), and a listener only
puts the payload in the inbox, in arrival order, and waits (``ACK_WITHIN`` at
most) for the runtime's verdict on the event it became: stored (or seen
before, or not for the bot) → acknowledged; held in memory because the store
fails, refused, or not known in time → an event gets a 503, so Slack delivers
it again, except on Slack's last try, when holding it is the best left; an
interaction is acknowledged unless refused. Reading the payload (lookups,
translation) and the core's work happen after, in the adapter's tasks.
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
from bot.ports import DURABLE, Verdict

logger = logging.getLogger(__name__)

PRIVATE_SHORTCUT = "journeybot_private"
USAGE = ("journeybot commands:\n"
         "• `{command} recap`: what journeybot has on record for you (only you see it)\n"
         "• `{command} private <link to a message in the thread>` (moderators): move that member's "
         "question to a direct message. Easier: open the ⋯ menu on any message in the thread and "
         "choose *Move to private*.")


MAX_ACCEPTED = 5000  # Events API deliveries remembered, to skip Slack's redeliveries
ACK_WITHIN = 2.5  # seconds a listener waits for the verdict: Slack wants its answer within 3
LAST_RETRY = 3  # Slack's last delivery of an event (X-Slack-Retry-Num)

PayloadKind = Literal["message", "app_mention", "action", "command", "shortcut"]
# Payloads answered privately through their response URL when the bot cannot post there.
RESPONDS_LATER: frozenset[PayloadKind] = frozenset({"command", "shortcut"})


@dataclass(frozen=True, slots=True)
class Payload:
    """One payload a listener took: an event (with its envelope), a button, a command;
    ``verdict`` is where the runtime's verdict on it goes."""

    kind: PayloadKind
    body: dict[str, Any]
    event: dict[str, Any] | None = None
    verdict: asyncio.Future[Verdict] | None = None

    def settle(self, verdict: Verdict) -> None:
        if self.verdict is not None and not self.verdict.done():
            self.verdict.set_result(verdict)


class Inbox:
    """Payloads the listeners took, in arrival order, for the adapter to translate.

    It remembers which Events API deliveries were stored, so a redelivery is skipped."""

    def __init__(self, remembered: int = MAX_ACCEPTED) -> None:
        self._queue: asyncio.Queue[Payload] = asyncio.Queue()
        self._accepted: OrderedDict[str, None] = OrderedDict()
        self._remembered = remembered

    def put(self, kind: PayloadKind, body: dict[str, Any], event: dict[str, Any] | None = None) -> Payload:
        payload = Payload(kind, body, event, asyncio.get_running_loop().create_future())
        self._queue.put_nowait(payload)
        return payload

    def remember(self, event_id: str) -> None:
        self._accepted[event_id] = None
        while len(self._accepted) > self._remembered:
            self._accepted.popitem(last=False)

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


async def verdict_on(payload: Payload) -> Verdict | None:
    """The runtime's verdict on the payload's event, or ``None`` when it is not known in time."""
    assert payload.verdict is not None
    try:
        return await asyncio.wait_for(asyncio.shield(payload.verdict), ACK_WITHIN)
    except TimeoutError:
        return None


def retry_number(request: AsyncBoltRequest) -> int:
    """Slack's delivery attempt of this event: 0 the first time, then 1–3."""
    raw = (request.headers.get("x-slack-retry-num") or ["0"])[0]
    return int(raw) if raw.isdigit() else 0


async def settle_event(payload: Payload, inbox: Inbox, request: AsyncBoltRequest) -> BoltResponse | None:
    """Acknowledge an Events API delivery once its event is durable; else let Slack deliver it again."""
    verdict = await verdict_on(payload)
    event_id = payload.body.get("event_id")
    if verdict in DURABLE:
        if event_id:
            inbox.remember(event_id)
        return None  # Bolt acknowledges
    retry = retry_number(request)
    if verdict == "held" and retry >= LAST_RETRY:
        logger.warning("event %s is held in memory (the store fails) and this was Slack's last try: "
                       "acknowledged", event_id)
        return None
    logger.warning("event %s not stored (%s): answered 503, so Slack delivers it again (this was try %d)",
                   event_id, verdict or "no verdict in time", retry)
    return BoltResponse(status=503, body="")


async def settle_interaction(payload: Payload) -> bool:
    """Whether to acknowledge a button, command or shortcut: Slack never sends one again,
    so it is acknowledged once stored, or held, or when its fate is not known in time;
    only one the runtime refused is not (the person sees that it did not go through)."""
    verdict = await verdict_on(payload)
    if verdict is None:
        logger.warning("a Slack %s was not stored within %.1f s: acknowledged anyway", payload.kind, ACK_WITHIN)
    return verdict != "refused"


async def interaction(inbox: Inbox, kind: PayloadKind, ack: Any, body: dict[str, Any]) -> BoltResponse | None:
    """A button, command or shortcut: acknowledged once the runtime has it (``settle_interaction``)."""
    if not await settle_interaction(inbox.put(kind, body)):
        return BoltResponse(status=503, body="")
    await ack()
    return None


def build_app(client: AsyncWebClient, settings: SlackSettings, inbox: Inbox, *, http: bool,
              on_error: Callable[[BaseException], None] | None = None) -> AsyncApp:
    """The Bolt app: request checks, redelivery skipping, and one listener per payload kind."""
    secret = settings.signing_secret.get_secret_value() if settings.signing_secret else ""
    app = AsyncApp(client=client, signing_secret=secret, name="journeybot",
                   process_before_response=True, request_verification_enabled=http,
                   ignoring_self_events_enabled=True, logger=bolt_logger())

    @app.middleware
    async def skip_redeliveries(body: dict[str, Any], request: AsyncBoltRequest,
                                context: AsyncBoltContext, next: Callable[[], Any]) -> BoltResponse | None:
        """Slack retries an event it thinks we missed (X-Slack-Retry-Num); one we
        already stored is acknowledged and skipped."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and inbox.accepted(event_id):
            retry = (request.headers.get("x-slack-retry-num") or ["?"])[0]
            reason = (request.headers.get("x-slack-retry-reason") or ["?"])[0]
            logger.info("Slack redelivered event %s (retry %s, %s): already taken, skipped",
                        event_id, retry, reason)
            return await context.ack()
        return await next()  # type: ignore[no-any-return]

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any],
                         request: AsyncBoltRequest) -> BoltResponse | None:
        return await settle_event(inbox.put("message", body, event), inbox, request)

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any],
                         request: AsyncBoltRequest) -> BoltResponse | None:
        return await settle_event(inbox.put("app_mention", body, event), inbox, request)

    @app.action(re.compile(r"^journeybot_"))
    async def on_button(ack: Any, body: dict[str, Any]) -> BoltResponse | None:
        return await interaction(inbox, "action", ack, body)

    @app.command(settings.command)
    async def on_command(ack: Any, body: dict[str, Any]) -> BoltResponse | None:
        word = (body.get("text") or "").strip().split(" ")[0].lower()
        if word in ("", "help"):
            await ack(USAGE.format(command=settings.command))
            return None
        return await interaction(inbox, "command", ack, body)

    @app.shortcut(PRIVATE_SHORTCUT)
    async def on_private_shortcut(ack: Any, body: dict[str, Any]) -> BoltResponse | None:
        return await interaction(inbox, "shortcut", ack, body)

    @app.error
    async def on_listener_error(error: Exception, body: dict[str, Any]) -> None:
        logger.error("Slack listener failed on a %s payload", body.get("type"), exc_info=error)
        if on_error is not None:
            on_error(error)

    return app
