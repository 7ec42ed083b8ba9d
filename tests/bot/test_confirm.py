"""An entry that leads but may not be what was asked is offered alone: the asker
confirms it with "yes" (or its number) and is answered, or says "no" and a
person takes it."""

from __future__ import annotations

from knowledge.embedder import CachedEmbedder
from tests.chat import Chat, make_core
from tests.conftest import DEMO_KB


async def test_yes_confirms_a_lone_option_and_no_hands_it_over(embedder: CachedEmbedder) -> None:
    # A centroid floor no question reaches: every answer that is not sure is confirmed first.
    core = await make_core(embedder, kb=DEMO_KB, policy={"centroid_floor": 0.999, "sure_threshold": 1.5})
    try:
        chat = Chat(core)
        asked = await chat.ask("how do I rotate my API key?", id="m1")
        assert asked.reply.kind == "clarify" and asked.reply.options == ("api-key-rotate",)
        assert "1." in asked.reply.text and "2." not in asked.reply.text

        confirmed = await chat.say("yes", thread="m1")
        assert confirmed.reply.kind == "answer" and confirmed.reply.sources == ("api-key-rotate",)

        await chat.ask("how do I rotate my API key?", id="m2", user="u2")
        refused = await chat.say("no", thread="m2", user="u2")
        assert refused.route.reason == "low_confidence"
    finally:
        await core.close()
