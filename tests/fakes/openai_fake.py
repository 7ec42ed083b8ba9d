"""A scripted OpenAI-compatible server on 127.0.0.1 for the real ``openai`` client.

Adapted from ``shared/recipes/openai_fake.py``. Each request to
``/v1/chat/completions`` takes the next scripted step (or the default answer
once the script is empty) and is recorded, so tests assert on exactly what
the bot sent:

    fake.then(answer="Use the reset link [1].").then(status=429, retry_after_ms=10)
    ...
    body = fake.requests[0].body   # the JSON the client posted

Steps: ``answer`` (text, or a function of the request body returning text),
``status`` (+ ``retry_after_ms``) for an error response, ``delay`` seconds
before responding, ``hold`` (an ``asyncio.Event``) to answer only once it is set, ``raw`` to send a 200 whose body is not a completion,
``finish_reason`` to mark an answer as cut off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

Answer = str | Callable[[dict[str, Any]], str]


@dataclass(frozen=True, slots=True)
class Request:
    """One request the fake received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages") or [])

    def text(self) -> str:
        """Every message's content, joined: what the model would read."""
        return "\n".join(str(m.get("content") or "") for m in self.messages)


class FakeOpenAI:
    """Answers ``POST /v1/chat/completions`` as scripted and records every request."""

    def __init__(self, *, default_answer: Answer = "default answer [1]") -> None:
        self.requests: list[Request] = []
        self.script: list[dict[str, Any]] = []
        self.default_answer = default_answer
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self.server = TestServer(app, host="127.0.0.1")
        self.base_url = ""

    async def start(self) -> FakeOpenAI:
        await self.server.start_server()
        self.base_url = str(self.server.make_url("/v1"))
        return self

    async def close(self) -> None:
        await self.server.close()

    def then(self, **step: Any) -> FakeOpenAI:
        self.script.append(step)
        return self

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(Request(request.path, body, dict(request.headers)))
        step = self.script.pop(0) if self.script else {}
        if step.get("delay"):
            await asyncio.sleep(step["delay"])
        if step.get("hold") is not None:
            await step["hold"].wait()
        if step.get("status"):
            headers = ({"retry-after-ms": str(step["retry_after_ms"])}
                       if "retry_after_ms" in step else {})
            error = {"error": {"message": f"scripted {step['status']}", "type": "server_error",
                               "code": None}}
            return web.json_response(error, status=step["status"], headers=headers)
        if "raw" in step:
            return web.Response(text=step["raw"], content_type="application/json")
        answer = step.get("answer", self.default_answer)
        text = answer(body) if callable(answer) else answer
        words = len(text.split())
        return web.json_response({
            "id": f"chatcmpl-{len(self.requests)}", "object": "chat.completion",
            "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": step.get("finish_reason", "stop"), "logprobs": None}],
            "usage": {"prompt_tokens": 5, "completion_tokens": words, "total_tokens": 5 + words},
        })
