"""Members ask in a help channel, the bot answers in the thread with Block Kit."""

from __future__ import annotations

from tests.adapters.slack.conftest import ANSWERABLE, Workspace
from tests.adapters.slack.fake import HELP


async def test_a_question_is_answered_in_its_thread_with_sources_and_buttons(slack: Workspace) -> None:
    ts = await slack.say(ANSWERABLE)

    (answer,) = slack.fake.posts(channel=HELP, thread_ts=ts)
    assert "Settings → API → Rotate key" in answer.params["text"]
    assert answer.params["parse"] == "none" and answer.params.get("link_names") in (False, 0, "0", "false")
    sources = [b for b in answer.blocks() if b.get("block_id") == "journeybot_sources"]
    assert "<https://docs.tidepool.example/api/keys#rotate|" in sources[0]["elements"][0]["text"]
    assert answer.buttons() == {"journeybot_solved": f"{HELP}:{ts}", "journeybot_not_solved": f"{HELP}:{ts}",
                                "journeybot_human": f"{HELP}:{ts}"}
    labels = [e["text"]["text"] for b in answer.blocks() if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Solved", "Not solved", "Talk to a person"]
