"""A recording fake of the Slack Web API (and Socket Mode), on loopback only.

Grown from ``shared/recipes/slack_fake.py``: it answers the methods the
adapter uses from a small fictional workspace, records every call, and can
be scripted to fail a method (``fail("chat.postMessage", status=429)``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

BOT_USER, BOT_ID, TEAM = "UBOT", "BBOT", "T1"
WORKSPACE_URL = "https://acme.slack.invalid/"
HELP, STAFF, RANDOM = "CHELP", "CSTAFF", "CRANDOM"
CHANNELS = {HELP: "help", STAFF: "staff", RANDOM: "random"}
USERS = {"UANN": "Ann", "UBOB": "Bob", "UALICE": "Alice", "USTAN": "Stan", "UMOD": "Mo", BOT_USER: "journeybot"}
GROUPS = {"SSUPPORT": ("support", ["USTAN"]), "SMODS": ("mods", ["UMOD"])}
BOT_TOKEN, APP_TOKEN = "xoxb-test", "xapp-test"
WAIT_SECONDS = 5.0


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    result: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    @property
    def ts(self) -> str:
        """The ts of the message this call posted (or updated)."""
        return str(self.result.get("ts") or self.params.get("ts"))

    def blocks(self) -> list[dict[str, Any]]:
        raw = self.params.get("blocks") or []
        return json.loads(raw) if isinstance(raw, str) else raw

    def everything(self) -> str:
        """All text Slack would render: the fallback text and every block."""
        return json.dumps({"text": self.params.get("text", ""), "blocks": self.blocks()}, ensure_ascii=False)

    def buttons(self) -> dict[str, str]:
        """action_id → value of every button in the blocks."""
        return {e["action_id"]: e.get("value", "") for b in self.blocks() if b.get("type") == "actions"
                for e in b["elements"]}


class FakeSlack:
    """Answers POST /api/<method> like slack.com/api and records every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict[str, Any]]] = {}  # channel -> what the bot posted there
        self._changed = asyncio.Event()
        self._failures: dict[str, list[tuple[int, str, dict[str, str]]]] = {}
        self._cuts: dict[str, int] = {}
        self._ts = itertools.count(1)
        self._base = int(time.time())
        self.socket_mode_ws: web.WebSocketResponse | None = None
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)  # slack_sdk reads some lists with GET
        app.router.add_post("/response_url/{id}", self._response_url)
        app.router.add_get("/link", self._socket_mode)
        self.server = TestServer(app, host="127.0.0.1")

    async def start(self) -> FakeSlack:
        await self.server.start_server()
        self.api_url = str(self.server.make_url("/api"))  # no trailing slash: the adapter adds it
        return self

    async def close(self) -> None:
        if self.socket_mode_ws is not None:
            await self.socket_mode_ws.close()
        await self.server.close()

    def response_url(self, name: str) -> str:
        return str(self.server.make_url(f"/response_url/{name}"))

    def next_ts(self) -> str:
        return f"{self._base + next(self._ts)}.000100"

    def fail(self, method: str, *, status: int = 200, error: str = "ratelimited", times: int = 1,
             retry_after: int | None = 0) -> None:
        """The next ``times`` calls of ``method`` fail (429 with Retry-After by default)."""
        headers = {"Retry-After": str(retry_after)} if status == 429 and retry_after is not None else {}
        self._failures.setdefault(method, []).extend([(status, error, headers)] * times)

    def cut(self, method: str, *, times: int = 1_000_000) -> None:
        """The next ``times`` calls of ``method`` lose their connection (Slack unreachable)."""
        self._cuts[method] = times

    # -- what was received -----------------------------------------------------------------

    def of(self, method: str, **where: Any) -> list[Call]:
        return [c for c in self.calls if c.method == method
                and all(c.params.get(k) == v for k, v in where.items())]

    def posts(self, **where: Any) -> list[Call]:
        return self.of("chat.postMessage", **where)

    async def wait_for(self, method: str, count: int = 1, **where: Any) -> list[Call]:
        """The adapter works after Slack's ack, so tests wait (up to 5 s) for calls to arrive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_SECONDS
        while True:
            found = self.of(method, **where)
            if len(found) >= count:
                return found
            self._changed.clear()
            left = deadline - loop.time()
            if left <= 0:
                seen = [(c.method, c.params.get("channel"), c.params.get("thread_ts")) for c in self.calls]
                raise AssertionError(f"{method} x{count} {where} not seen; calls={seen}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)

    # -- the API ------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                params.update(json.loads(raw))
            else:
                params.update(parse_qsl(raw.decode()))
        return params

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self._cuts.get(method):
            self._cuts[method] -= 1
            assert request.transport is not None
            request.transport.abort()  # the client sees the connection drop: no answer at all
            return web.Response(status=599)
        call = Call(method, await self._params(request), dict(request.headers))
        status, headers = 200, dict[str, str]()
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        expected = APP_TOKEN if method == "apps.connections.open" else BOT_TOKEN
        if token != expected:
            call.result = {"ok": False, "error": "invalid_auth"}
        elif self._failures.get(method):
            status, error, headers = self._failures[method].pop(0)
            call.result = {"ok": False, "error": error}
        else:
            try:
                call.result = {"ok": True, **self._answer(method, call.params)}
            except KeyError as exc:  # a call the fake cannot answer: fail fast and visibly
                call.result = {"ok": False, "error": f"invalid_arguments: {exc}"}
        self._record(call)
        return web.json_response(call.result, status=status, headers=headers)

    def _answer(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"user_id": BOT_USER, "bot_id": BOT_ID, "team_id": TEAM, "team": "Acme",
                    "user": "journeybot", "url": WORKSPACE_URL}
        if method == "chat.postMessage":
            ts = self.next_ts()
            message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": ts, "text": p.get("text"),
                       "thread_ts": p.get("thread_ts"), "metadata": _json(p.get("metadata"))}
            self.messages.setdefault(p["channel"], []).append(message)
            return {"channel": p["channel"], "ts": ts, "message": {"text": p.get("text")}}
        if method in ("conversations.replies", "conversations.history"):
            return {"messages": self._read(method, p), "has_more": False, "response_metadata": {"next_cursor": ""}}
        if method == "chat.postEphemeral":
            return {"message_ts": self.next_ts()}
        if method == "chat.update":
            return {"channel": p["channel"], "ts": p["ts"], "text": p.get("text")}
        if method == "chat.getPermalink":
            return {"channel": p["channel"],
                    "permalink": f"{WORKSPACE_URL}archives/{p['channel']}/p{p['message_ts'].replace('.', '')}"}
        if method == "conversations.open":
            return {"channel": {"id": "D" + p["users"].split(",")[0]}}
        if method == "conversations.list":
            return {"channels": [{"id": cid, "name": name} for cid, name in CHANNELS.items()],
                    "response_metadata": {"next_cursor": ""}}
        if method == "conversations.info":
            return {"channel": {"id": p["channel"], "name": CHANNELS.get(p["channel"], "elsewhere")}}
        if method == "users.info":
            name = USERS[p["user"]]
            return {"user": {"id": p["user"], "name": name.lower(), "profile": {"display_name": name}}}
        if method == "usergroups.list":
            return {"usergroups": [{"id": gid, "handle": handle} for gid, (handle, _) in GROUPS.items()]}
        if method == "usergroups.users.list":
            return {"users": GROUPS[p["usergroup"]][1]}
        if method == "apps.connections.open":
            return {"url": str(self.server.make_url("/link")).replace("http", "ws", 1)}
        raise KeyError(method)

    def _read(self, method: str, p: dict[str, Any]) -> list[dict[str, Any]]:
        """What the bot posted in a thread (oldest first) or a channel (newest first), as Slack
        gives it back: metadata only when asked for with include_all_metadata."""
        posted = self.messages.get(p["channel"], [])
        if method == "conversations.replies":
            found = [m for m in posted if p["ts"] in (m["ts"], m["thread_ts"])]
        else:
            found = [m for m in reversed(posted) if m["thread_ts"] in (None, m["ts"])][: int(p.get("limit", 100))]
        full = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        return [{k: v for k, v in m.items() if full or k != "metadata"} for m in found]

    async def _response_url(self, request: web.Request) -> web.Response:
        self._record(Call("response_url", await request.json(), dict(request.headers)))
        return web.Response(text="ok")

    async def _socket_mode(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "hello", "num_connections": 1, "debug_info": {},
                            "connection_info": {"app_id": "A1"}})
        self.socket_mode_ws = ws
        async for msg in ws:  # acks from the client: {"envelope_id": ..., "payload": ...}
            self._record(Call("socket_mode_ack", json.loads(msg.data)))
        return ws


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value
