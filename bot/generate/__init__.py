"""Grounded generation through any OpenAI-compatible endpoint: optional, never required.

With ``JOURNEYBOT_LLM_MODEL`` set (and ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY``
as the endpoint needs), answers are composed by the official ``openai``
client from the decided entry, close entries and the person's journey, and
cite their sources by number. Without one the bot answers extractively, as
it always could. ``prompt`` builds bounded, redacted prompts whose member and
staff text is fenced data; ``check`` refuses output that cites nothing,
cites what it was not given or promises what no policy entry says;
``generator`` talks to the endpoint and records the evidence.
"""

from bot.generate.generator import Generated, Generator, GeneratorUnavailable

__all__ = ["Generated", "Generator", "GeneratorUnavailable"]
