"""The Slack adapter: the core's port (start, stop, perform) on slack-bolt.

Socket Mode by default (no public URL); HTTP mode serves ``/slack/events``
for several instances behind a load balancer. Inbound payloads are queued
by the Bolt listeners (``inbound``) in the ``Inbox``, translated in arrival
order (``translate``) and each handed to the core in its own named task;
outbound actions go through the ``Performer`` (``outbound``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.names import CoreNames
from adapters.slack.directory import Directory, StaffChannelMissing
from adapters.slack.errors import REFUSED, SlackSetupError, SlackTokenError, SlackUnreachable, error_of
from adapters.slack.inbound import RESPONDS_LATER, Inbox, Payload, build_app
from adapters.slack.interactions import Interactions
from adapters.slack.outbound import Pacer, Performer
from adapters.slack.settings import HOW_TO, SlackSettings
from adapters.slack.translate import Translator
from bot.actions import Action
from bot.events import Event
from bot.ports import EventSink, Health

logger = logging.getLogger(__name__)

SLACK_API = "https://slack.com/api/"
STOP_GRACE = 10.0  # seconds ``stop`` waits for payloads already taken


class SlackAdapter:
    """Journeybot on one Slack workspace."""

    name = "slack"

    def __init__(self, settings: SlackSettings, *, mode: Literal["socket", "http"] = "socket",
                 host: str = "0.0.0.0", port: int = 3000, path: str = "/slack/events",
                 names: CoreNames | None = None) -> None:
        self.settings = settings
        self.mode = mode
        self.host, self.port, self.path = host, port, path
        self.names = names or CoreNames()
        self._sink: EventSink | None = None
        self.inbox = Inbox()
        self.interactions = Interactions()
        self._tasks: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._ready_lock = asyncio.Lock()
        self._socket: Any = None
        self._runner: web.AppRunner | None = None
        self.client: AsyncWebClient | None = None
        self.directory: Directory | None = None
        self.performer: Performer | None = None
        self.translator: Translator | None = None
        self.app: AsyncApp | None = None
        self.identity: dict[str, Any] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def check(self) -> dict[str, Any]:
        """Ask Slack who we are (``auth.test``) and find the staff channel.

        Raises ``SlackTokenError`` when Slack refuses the bot token and
        ``SlackSetupError`` when the staff channel cannot be found: cards would
        pile up in the outbox, and every later reply behind them."""
        await self._ready()
        assert self.directory is not None
        try:
            await self.directory.staff_channel()
        except StaffChannelMissing as exc:
            raise SlackSetupError(str(exc)) from exc
        return self.identity

    async def _ready(self) -> None:
        """Build the Web API client and learn the bot's identity, once (perform may come first:
        the runtime sends what a previous run left before it starts the adapters)."""
        async with self._ready_lock:
            if self.performer is not None:
                return
            token = self.settings.bot_token.get_secret_value() if self.settings.bot_token else ""
            self._session = self._session or aiohttp.ClientSession()
            client = AsyncWebClient(
                token=token, base_url=self.settings.api_url or SLACK_API, session=self._session,
                retry_handlers=[AsyncConnectionErrorRetryHandler(),
                                AsyncRateLimitErrorRetryHandler(max_retry_count=self.settings.rate_limit_retries),
                                AsyncServerErrorRetryHandler(max_retry_count=1)])
            try:
                identity = await client.auth_test()
            except SlackApiError as exc:
                if error_of(exc) in REFUSED:
                    raise SlackTokenError(f"Slack refused SLACK_BOT_TOKEN ({error_of(exc)}): "
                                          f"{HOW_TO['bot_token']}") from exc
                raise
            except aiohttp.ClientError as exc:
                raise SlackTokenError(f"cannot reach the Slack Web API at {client.base_url} ({exc}); "
                                      "check the network or SLACK_API_URL") from exc
            self.identity = dict(identity.data) if isinstance(identity.data, dict) else {}
            self.client = client
            self.directory = Directory(client, self.settings, self.names)
            self.translator = Translator(self.directory, self.settings, bot_user=self.identity.get("user_id"))
            self.performer = Performer(client, self.directory, self.interactions,
                                       pacer=Pacer(self.settings.post_interval_seconds),
                                       workspace_url=self.identity.get("url"))
            logger.info("connected to Slack workspace %s as %s", self.identity.get("team"),
                        self.identity.get("user"))

    async def start(self, sink: EventSink) -> None:
        """Connect (Socket Mode) or listen (HTTP) and return; events flow to ``sink``.

        Raises ``SlackSetupError`` (see ``check``), or ``SlackTokenError`` when
        Slack refuses the app token."""
        await self.check()
        assert self.client is not None
        self._sink = sink
        self.app = build_app(self.client, self.settings, self.inbox, http=self.mode == "http")
        self._worker = asyncio.create_task(self._work(), name="slack-inbox")
        if self.mode == "http":
            await self._listen()
        else:
            await self._connect()

    async def _connect(self) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        assert self.client is not None
        token = self.settings.app_token.get_secret_value() if self.settings.app_token else ""
        # The Socket Mode client retries a refused token forever; ask once ourselves first.
        try:
            opened = await self.client.apps_connections_open(app_token=token)
        except SlackApiError as exc:
            if error_of(exc) in REFUSED:
                raise SlackTokenError(f"Slack refused SLACK_APP_TOKEN ({error_of(exc)}): "
                                      f"{HOW_TO['app_token']}") from exc
            raise
        self._socket = AsyncSocketModeHandler(self.app, app_token=token, web_client=self.client)  # type: ignore[arg-type]
        self._socket.client.wss_uri = opened["url"]  # use the URL we were just given
        await self._socket.connect_async()
        logger.info("listening to Slack over Socket Mode")

    async def _listen(self) -> None:
        assert self.app is not None
        web_app = self.app.web_app(path=self.path)
        web_app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(web_app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self._runner.addresses:  # the real port when asked for port 0
            self.port = int(self._runner.addresses[0][1])
        logger.info("listening for Slack requests on http://%s:%d%s", self.host, self.port, self.path)

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 "ok" while the bot can store what it is sent; 503 and why when it cannot."""
        health = self._sink.health() if self._sink is not None else Health()
        return web.Response(status=200 if health.ok else 503, text=health.describe())

    async def stop(self) -> None:
        """Stop taking payloads, finish what was taken (briefly), close connections."""
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        try:
            await asyncio.wait_for(self.drain(), timeout=STOP_GRACE)
        except TimeoutError:
            logger.warning("stopped with Slack events still being handled")
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        for task in list(self._tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def drain(self) -> None:
        """Wait until every payload taken so far has been handled by the core."""
        while True:
            await self.inbox.join()
            if not self._tasks:
                return
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- inbound -------------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            payload = await self.inbox.get()
            try:
                event = await self._read(payload)
                if event is None:
                    payload.settle("ignored")
                else:
                    self._spawn(event, payload)
            except SlackUnreachable as exc:
                logger.warning("could not read a Slack %s payload: Slack is unreachable (%s); not "
                               "acknowledged, so Slack delivers it again", payload.kind, exc)
                payload.settle("refused")
            except Exception:
                logger.exception("could not read a Slack %s payload; not acknowledged", payload.kind)
                payload.settle("refused")
            finally:
                self.inbox.done()

    async def _read(self, payload: Payload) -> Event | None:
        assert self.translator is not None
        event = await self.translator.payload(payload)
        if event is not None and payload.kind in RESPONDS_LATER:
            self.interactions.hold(event.id, payload.body.get("response_url"))
        return event

    def _spawn(self, event: Event, payload: Payload) -> None:
        task = asyncio.create_task(self._deliver(event, payload), name=f"slack-event-{event.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: Event, payload: Payload) -> None:
        assert self._sink is not None
        try:
            await self._sink(event, accepted=payload.settle)
        except Exception:
            logger.exception("handling Slack event %s failed", event.id)
        finally:
            payload.settle("refused")  # no verdict came: Slack should deliver it again

    # -- outbound ------------------------------------------------------------------------------

    async def perform(self, action: Action) -> str | None:
        await self._ready()
        assert self.performer is not None
        return await self.performer.perform(action)
