"""The generator: one OpenAI-compatible endpoint, asked for grounded words.

It never decides anything and never raises into the core: every call ends
in checked words or in ``None`` with the reason, and the caller records the
evidence and then uses the words it would have used without a model.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlparse

import openai
from openai import AsyncOpenAI

from bot.generate.check import check_answer, check_recap
from bot.generate.prompt import Prompt, answer_prompt, recap_prompt
from bot.journeys import Journey
from bot.settings import LLMSettings, Settings
from knowledge.entries import Entry

logger = logging.getLogger(__name__)

OPENAI_HOSTS = ("api.openai.com",)
LOCAL_KEY = "not-needed"  # local servers (Ollama, vLLM, llama.cpp) ignore the key; the client wants one


class GeneratorUnavailable(Exception):
    """An LLM is configured but cannot be used as configured (e.g. no API key)."""


@dataclass(frozen=True, slots=True)
class Generated:
    """What generation produced for one answer (``use`` "answer") or recap, with its evidence.

    ``text`` is the checked answer with its numbered source list, or ``None``
    when generation fell back (``fallback`` says why: ``timeout``,
    ``rate_limited``, ``http_500``, ``connection``, ``malformed``,
    ``truncated``, ``uncited``, ``unknown_citation``, ``promise``,
    ``no_answer`` …). ``sources`` are the entries the answer cites;
    ``promised`` the commitment kinds a refused answer would have made. The
    evidence: the prompt's hash and size, what redaction removed from it, the
    entries ``offered`` (numbered from 1) and the numbers ``cited``.
    """

    use: Literal["answer", "recap"]
    text: str | None
    answer: str | None
    sources: tuple[Entry, ...]
    model: str
    prompt_hash: str | None
    prompt_chars: int = 0
    redactions: int = 0
    offered: tuple[Entry, ...] = ()
    cited: tuple[int, ...] = ()
    fallback: str | None = None
    promised: tuple[str, ...] = ()

    @property
    def used(self) -> bool:
        return self.text is not None


class Generator:
    """Grounded answers (and recaps) through ``openai.AsyncOpenAI``.

    Lifecycle: construct (no I/O), use, ``await close()``.
    """

    def __init__(self, settings: LLMSettings, *, api_key: str | None = None,
                 base_url: str | None = None, bot_name: str = "journeybot",
                 client: AsyncOpenAI | None = None) -> None:
        if not settings.model:
            raise GeneratorUnavailable("no model is configured (JOURNEYBOT_LLM_MODEL)")
        self.settings = settings
        self.model: str = settings.model
        self.bot_name = bot_name
        self.base_url = base_url or settings.base_url
        self.client = client or AsyncOpenAI(
            base_url=self.base_url, api_key=api_key, timeout=settings.timeout_seconds,
            max_retries=settings.max_retries)
        self._token_field = settings.answer_token_field or (
            "max_completion_tokens" if _is_openai(self.base_url) else "max_tokens")

    @property
    def endpoint(self) -> str:
        """Where requests go, without any credentials a URL might carry."""
        if self.base_url is None:
            return "api.openai.com"
        url = urlparse(self.base_url)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.hostname}{port}{url.path}"

    @classmethod
    def from_settings(cls, settings: Settings) -> Generator:
        """From ``settings.llm`` and the environment (``OPENAI_BASE_URL``, ``OPENAI_API_KEY``)."""
        base_url = settings.llm.base_url or os.environ.get("OPENAI_BASE_URL") or None
        api_key = os.environ.get("OPENAI_API_KEY") or None
        if api_key is None:
            if _is_openai(base_url):
                raise GeneratorUnavailable(
                    f"JOURNEYBOT_LLM_MODEL is {settings.llm.model!r} but OPENAI_API_KEY is not set "
                    "(set OPENAI_BASE_URL too for a local server that needs no key)")
            api_key = LOCAL_KEY
        return cls(settings.llm, api_key=api_key, base_url=base_url, bot_name=settings.bot_name)

    async def close(self) -> None:
        await self.client.close()

    # -- answers -------------------------------------------------------------

    @property
    def max_sources(self) -> int:
        """How many entries an answer prompt offers, the decided one included."""
        return self.settings.max_sources

    async def compose(self, *, question: str, thread: Sequence[str], sources: Sequence[Entry],
                      journey: str) -> Generated:
        """An answer to ``question`` from ``sources`` (the decided entry first), checked.

        ``thread`` is what was said after the question, oldest first;
        ``journey`` the person's summary. Whatever the endpoint does, this
        returns: ``text`` is ``None`` when the caller must fall back, and the
        result carries the evidence the caller records either way.
        """
        offered = tuple(sources)
        prompt = answer_prompt(
            question=question, thread=list(thread), journey=journey, sources=list(offered),
            budget=self.settings.max_prompt_chars, bot_name=self.bot_name,
            max_words=self.settings.max_answer_words)
        raw, failure = await self._complete(prompt)
        verdict = check_answer(raw, offered) if failure is None else None
        text: str | None
        answer: str | None
        if verdict is not None and verdict.text is not None:
            cited = tuple(offered[n - 1] for n in verdict.cited)
            listing = "\n".join(f"[{n}] {_cite(offered[n - 1])}" for n in verdict.cited)
            text, answer = f"{verdict.text}\n\nSources:\n{listing}", verdict.text
            fallback = None
        else:
            text = answer = None
            cited = ()
            fallback = failure or (verdict.reason if verdict else "error")
        return Generated("answer", text, answer, cited, self.model, prompt.digest, prompt.chars,
                         prompt.redactions, offered=offered, cited=verdict.cited if verdict else (),
                         fallback=fallback, promised=verdict.promised if verdict else ())

    # -- recaps --------------------------------------------------------------

    async def recap(self, journey: Journey) -> Generated:
        """The person's journey as goal, stages, errors, state and next step
        (``text`` ``None`` to fall back to the summary)."""
        prompt = recap_prompt(journey=journey_data(journey), budget=self.settings.max_prompt_chars)
        raw, failure = await self._complete(prompt)
        verdict = check_recap(raw, [f.text for f in journey.facts if f.kind == "error"]) \
            if failure is None else None
        text = verdict.text if verdict else None
        return Generated("recap", text, text, (), self.model, prompt.digest, prompt.chars,
                         prompt.redactions, fallback=failure or (verdict.reason if verdict else "error"))

    # -- the endpoint --------------------------------------------------------

    async def _complete(self, prompt: Prompt) -> tuple[str | None, str | None]:
        """The model's text, or why there is none. The whole call, retries
        included, is bounded by ``timeout_seconds``."""
        extra: dict[str, Any] = {self._token_field: self.settings.max_answer_tokens}
        if self.settings.temperature is not None:
            extra["temperature"] = self.settings.temperature
        try:
            async with asyncio.timeout(self.settings.timeout_seconds):
                response = await self.client.chat.completions.create(
                    model=self.model, messages=list(prompt.messages), **extra)  # type: ignore[arg-type]
        except (TimeoutError, openai.APITimeoutError):
            return None, "timeout"
        except openai.RateLimitError:
            return None, "rate_limited"
        except openai.APIStatusError as exc:
            return None, f"http_{exc.status_code}"
        except openai.APIConnectionError:
            return None, "connection"
        except (openai.OpenAIError, ValueError) as exc:  # ValueError: a body that is not JSON
            logger.warning("the LLM endpoint answered with something unreadable: %s", exc)
            return None, "malformed"
        except Exception:
            logger.exception("asking the LLM failed")
            return None, "error"
        try:
            choice = response.choices[0]
            content = choice.message.content
            finish = choice.finish_reason
        except (AttributeError, IndexError, TypeError):
            return None, "malformed"
        if not isinstance(content, str):
            return None, "malformed"
        if finish == "length":
            return None, "truncated"
        return content, None


def _cite(entry: Entry) -> str:
    return f"{entry.title} ({entry.url})" if entry.url else f"{entry.title} [{entry.id}]"


def _is_openai(base_url: str | None) -> bool:
    if base_url is None:
        return True
    host = urlparse(base_url).hostname or ""
    return host in OPENAI_HOSTS or host.endswith(".openai.azure.com")


def journey_data(journey: Journey) -> str:
    """Everything on record about a person, for a recap: cases, facts, what we told them."""
    lines = ["Questions, oldest first:"]
    for note in journey.cases:
        line = f"- {note.opened_at:%Y-%m-%d %H:%M} “{note.question}”: {note.outcome or note.status}"
        if note.stuck:
            line += f"; stuck: {note.stuck}"
        lines.append(line)
    labels = {"setup": "Their setup", "tried": "What they tried", "error": "Errors they met",
              "said": "They said"}
    for kind, label in labels.items():
        said = [f.text for f in journey.facts if f.kind == kind]
        if said:
            lines.append(f"{label}:")
            lines += [f"- {text}" for text in said]
    if journey.told:
        lines.append("What we told them:")
        lines += [f"- {t.what}" + (f" [{t.source}]" if t.source else "") for t in journey.told]
    return "\n".join(lines)
