"""A recording fake of Discord's gateway and REST API on loopback, for the real
discord.py client (grown from shared/recipes/discord_fake.py).

It keeps what the bot posted (messages, threads, edits, DMs, interaction
responses) so tests assert on what Discord would have received, and it can
script failures (a 429 with ``Via``, a refused intent) and a RESUME that
replays events the bot had already seen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.adapters.discord import payloads as p

Call = tuple[str, str, Any]  # (METHOD, path, json body or None)


def jr(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # discord.py parses JSON only when Content-Type is exactly "application/json"
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json", **(headers or {})})


def not_found(code: int, what: str) -> web.Response:
    return jr({"message": f"Unknown {what}", "code": code}, 404)


class FakeDiscord:
    """Gateway + REST; ``calls`` records every REST request the bot made."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.fail_next: dict[tuple[str, str], tuple[int, dict[str, Any]]] = {}
        self.errors: list[BaseException] = []
        self.identify: dict[str, Any] | None = None
        self.resumes: list[dict[str, Any]] = []
        self.refuse_privileged = False
        self.token = "test-token"
        self.ws: web.WebSocketResponse | None = None
        self.seq = 0
        self.sent: list[tuple[int, str, dict[str, Any]]] = []  # dispatched events, for RESUME
        self.replay_after: int | None = None  # scripted: on RESUME replay events after this seq
        self.messages: dict[str, dict[str, Any]] = {}
        self.nonces: dict[str, str] = {}  # nonce -> the bot message sent with it
        self.on_callback: Callable[[str], Awaitable[None]] | None = None  # awaited with the interaction id
        self.threads: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, str] = {}  # interaction token -> channel id, for follow-ups
        self._changed = asyncio.Event()
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self.server = TestServer(app, host="127.0.0.1")

    async def start(self) -> FakeDiscord:
        await self.server.start_server()
        return self

    async def close(self) -> None:
        await self.server.close()

    def gateway_url(self) -> str:
        return str(self.server.make_url("/gateway")).replace("http", "ws", 1)

    def patch(self, monkeypatch: Any) -> None:
        """Point discord.py at us: REST base URL and default gateway URL (class attributes)."""
        monkeypatch.setattr(discord.http.Route, "BASE", str(self.server.make_url("/api/v10")))
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(self.gateway_url()))

    # -- gateway -------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.ws = ws
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41250}, "s": None, "t": None})  # HELLO
        async for msg in ws:
            try:
                await self._on_gateway(ws, json.loads(msg.data))
            except Exception as exc:  # a broken fake must fail the test, not hang it
                self.errors.append(exc)
        return ws

    async def _on_gateway(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        if data["op"] == 1:  # HEARTBEAT
            await ws.send_json({"op": 11, "d": None, "s": None, "t": None})
        elif data["op"] == 2:  # IDENTIFY
            self.identify = data["d"]
            if self.refuse_privileged and data["d"]["intents"] & (1 << 15):
                await ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            ready = {"v": 10, "user": p.BOT, "guilds": [{"id": p.GUILD_ID, "unavailable": True}],
                     "session_id": "sess", "resume_gateway_url": self.gateway_url(),
                     "application": {"id": p.APP_ID, "flags": 0}}
            if "shard" in data["d"]:
                ready["shard"] = data["d"]["shard"]
            await self.dispatch("READY", ready)
            # active threads come with the guild, as on Discord
            await self.dispatch("GUILD_CREATE", {**p.guild(), "threads": list(self.threads.values())})
        elif data["op"] == 6:  # RESUME: replay what the client may have missed, then RESUMED
            self.resumes.append(data["d"])
            after = self.replay_after if self.replay_after is not None else data["d"]["seq"]
            for seq, name, body in [e for e in self.sent if e[0] > after]:
                await ws.send_json({"op": 0, "t": name, "s": seq, "d": body})
            self.seq += 1
            await ws.send_json({"op": 0, "t": "RESUMED", "s": self.seq, "d": {}})

    async def dispatch(self, event: str, data: dict[str, Any]) -> int:
        """Send a DISPATCH (text frame: discord.py inflates only binary frames)."""
        assert self.ws is not None, "no gateway connection"
        self.seq += 1
        if event not in ("READY", "GUILD_CREATE"):
            self.sent.append((self.seq, event, data))
        await self.ws.send_json({"op": 0, "t": event, "s": self.seq, "d": data})
        return self.seq

    async def reconnect(self) -> None:
        """Op 7 RECONNECT: discord.py reconnects and sends RESUME."""
        assert self.ws is not None
        await self.ws.send_json({"op": 7, "d": None, "s": None, "t": None})

    # -- what the test says on the gateway ------------------------------------------

    async def say(self, channel_id: str, author: dict[str, Any], content: str, **extra: Any) -> dict[str, Any]:
        """A member posts a message: MESSAGE_CREATE."""
        msg = p.message(channel_id, author, content, **extra)
        self.messages[msg["id"]] = msg
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    async def forum_post(self, author: dict[str, Any], title: str, content: str) -> dict[str, Any]:
        """A new forum post: THREAD_CREATE, then the starter message (same id) in it."""
        tid = p.next_id()
        thread = p.thread(tid, p.FORUM_ID, title, owner_id=author["id"], forum=True)
        self.threads[tid] = thread
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return await self.say(tid, author, content, mid=tid)

    async def dm(self, author: dict[str, Any], content: str) -> dict[str, Any]:
        msg = p.message(self.dm_channel_id(author["id"]), author, content, guild=False)
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    async def click(self, message: dict[str, Any], custom_id: str, author: dict[str, Any]) -> dict[str, Any]:
        """A button press on ``message`` (as the fake stored it): INTERACTION_CREATE type 3."""
        where = self.threads.get(message["channel_id"]) or {"id": message["channel_id"], "type": 0,
                                                            "guild_id": p.GUILD_ID, "name": "channel"}
        data = p.interaction(3, {"custom_id": custom_id, "component_type": 2}, author=author,
                             channel_data=where, message=message)
        self.tokens[data["token"]] = where["id"]
        await self.dispatch("INTERACTION_CREATE", data)
        return data

    async def slash(self, name: str, author: dict[str, Any], channel_id: str) -> dict[str, Any]:
        """A slash command run in a channel or thread: INTERACTION_CREATE type 2."""
        where = self.threads.get(channel_id) or {"id": channel_id, "type": 0, "guild_id": p.GUILD_ID,
                                                 "name": "channel"}
        data = p.interaction(2, {"id": p.next_id(), "name": name, "type": 1}, author=author,
                             channel_data=where)
        self.tokens[data["token"]] = where["id"]
        await self.dispatch("INTERACTION_CREATE", data)
        return data

    @staticmethod
    def dm_channel_id(user_id: str) -> str:
        return f"7{user_id}"

    # -- REST -------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        body = await request.json() if request.can_read_body else None
        self.calls.append((request.method, path, body))
        self._changed.set()
        for (method, prefix), (status, err) in list(self.fail_next.items()):
            if request.method == method and path.startswith(prefix):
                del self.fail_next[(method, prefix)]
                # discord.py treats a 429 without Via as a Cloudflare ban and does not retry
                return jr(err, status, {"Via": "1.1 google"} if status == 429 else None)
        try:
            return await self._route(request, path, body)
        except Exception as exc:  # a 500 would make discord.py retry for ~16 s: fail fast instead
            self.errors.append(exc)
            return jr({"message": f"fake error: {exc!r}", "code": 50035}, 400)

    async def _route(self, request: web.Request, path: str, body: Any) -> web.StreamResponse:
        parts = path.strip("/").split("/")
        method = request.method
        # interactions and webhooks carry their token in the URL
        if parts[0] not in ("interactions", "webhooks") and request.headers.get("Authorization") != \
                f"Bot {self.token}":
            return jr({"message": "401: Unauthorized", "code": 0}, 401)
        if path == "/gateway/bot":
            return jr({"url": self.gateway_url(), "shards": 1, "session_start_limit": {
                "total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})
        if path == "/users/@me":
            return jr(p.BOT)
        if path == "/oauth2/applications/@me":
            return jr({"id": p.APP_ID, "name": "journeybot", "description": "", "icon": None,
                       "bot_public": True, "bot_require_code_grant": False, "owner": p.user("1", "owner"),
                       "verify_key": "k", "flags": 0})
        if path == "/users/@me/channels":
            rid = str(body["recipient_id"])
            return jr({"id": self.dm_channel_id(rid), "type": 1, "recipients": [p.user(rid, "someone")]})
        if parts[0] == "channels":
            return await self._channels(method, parts, body)
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            return jr([{**c, "id": p.next_id(), "application_id": p.APP_ID, "version": "1"} for c in body])
        if parts[0] == "interactions" and parts[-1] == "callback":
            if self.on_callback is not None:  # scripted: what happens while Discord gets the acknowledgement
                await self.on_callback(parts[1])
            return jr({"interaction": {"id": parts[1], "type": body["type"]}, "resource": None})
        if parts[0] == "webhooks":
            channel_id = self.tokens.get(parts[2], "0")
            if method == "POST":  # a follow-up message
                msg = p.message(channel_id, p.BOT, body.get("content") or "", webhook_id=p.APP_ID,
                                flags=body.get("flags", 0))
                return jr(msg)
            if method == "DELETE":
                return web.Response(status=204)
            return jr(p.message(channel_id, p.BOT, (body or {}).get("content") or "", webhook_id=p.APP_ID))
        return jr({"message": "404: Not Found", "code": 0}, 404)

    async def _channels(self, method: str, parts: list[str], body: Any) -> web.StreamResponse:
        cid = parts[1]
        known = {c["id"]: c for c in p.guild()["channels"]}
        if len(parts) == 2 and method == "GET":
            found = self.threads.get(cid) or known.get(cid)
            return jr(found) if found else not_found(10003, "Channel")
        if parts[2:] == ["messages"] and method == "POST":
            nonce = body.get("nonce")
            if body.get("enforce_nonce") and nonce in self.nonces:  # Discord: the first message, not a new one
                return jr(self.messages[self.nonces[nonce]])
            in_guild = cid in known or cid in self.threads
            extra = {k: body[k] for k in ("components", "embeds", "message_reference", "nonce") if body.get(k)}
            msg = p.message(cid, p.BOT, body.get("content") or "", guild=in_guild, **extra)
            self.messages[msg["id"]] = msg
            if nonce is not None:
                self.nonces[nonce] = msg["id"]
            return jr(msg)
        if len(parts) == 4 and parts[2] == "messages":
            mid = parts[3]
            if mid not in self.messages:
                return not_found(10008, "Message")
            if method == "PATCH":
                self.messages[mid].update({k: v for k, v in body.items() if k in ("content", "embeds",
                                                                                   "components")})
                self.messages[mid]["edited_timestamp"] = p.NOW
            return jr(self.messages[mid])
        if len(parts) == 5 and parts[4] == "threads" and method == "POST":
            mid = parts[3]
            if mid in self.threads:
                return jr({"message": "A thread has already been created for this message", "code": 160004},
                          400)
            thread = p.thread(mid, cid, body["name"], owner_id=p.BOT_ID)  # a thread gets its message's id
            self.threads[mid] = thread
            await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
            return jr(thread)
        return jr({"message": "404: Not Found", "code": 0}, 404)

    # -- reading what the bot did ------------------------------------------------------

    def posts(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        """Message bodies the bot POSTed (to one channel or thread)."""
        return [b for m, path, b in self.calls if m == "POST" and path.endswith("/messages")
                and path.startswith("/channels/") and (channel_id is None or path.split("/")[2] == channel_id)]

    def matching(self, method: str, test: Callable[[str], bool]) -> list[Call]:
        return [c for c in self.calls if c[0] == method and test(c[1])]

    async def wait_for(self, method: str, prefix: str, count: int = 1, within: float = 10.0) -> list[Call]:
        """Wait until the bot made ``count`` requests like this (the core may take a moment)."""
        async def poll() -> list[Call]:
            while len(hits := [c for c in self.calls if c[0] == method and c[1].startswith(prefix)]) < count:
                self._changed.clear()
                await self._changed.wait()
            return hits
        try:
            return await asyncio.wait_for(poll(), within)
        except TimeoutError:
            seen = "\n  ".join(f"{m} {path}" for m, path, _ in self.calls)
            raise AssertionError(f"no {count}x {method} {prefix} within {within}s; saw:\n  {seen}") from None

    def bot_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """What the bot posted in a channel or thread, as stored (with ids and later edits)."""
        return [m for m in self.messages.values() if m["channel_id"] == channel_id and m["author"]["id"] == p.BOT_ID]
