"""A question that only *looks* sensitive goes to a person once; when staff answer
it in public, the bot may answer the next one like it. What a cue names, what
staff answer in private, and harassment or security reports always reach a person."""

from __future__ import annotations

import json

from bot.core import Core
from tests.chat import Chat

DECLINED = "my card got declined at the shop, what do I do?"
DECLINED_AGAIN = "why was my card declined when I paid?"
ANSWER = ("A declined card usually means your bank stopped the payment: check the card's limit, "
          "then try again or pay with another card.")


async def decisions(core: Core) -> list[dict[str, object]]:
    rows = await core.db.fetchall("SELECT body FROM log WHERE kind = 'decision'")
    return [json.loads(r["body"]) for r in rows]


async def test_staff_answering_a_look_alike_in_public_lets_the_bot_answer_the_next_one(core: Core) -> None:
    chat = Chat(core)
    first = await chat.ask(DECLINED, id="m1", user="ann")
    assert first.route.reason == "sensitive"  # it resembles a billing dispute: a person first

    taught = await chat.staff(ANSWER, card="card:m1")
    assert ANSWER in taught.to("m1")[-1].text  # relayed in the asker's public thread
    entry = await core.kb.get(taught.learned.entry)
    assert entry is not None and "sensitive-ok:billing_dispute" in entry.tags
    cleared = await core.db.fetchall("SELECT body FROM log WHERE kind = 'cleared'")
    assert [json.loads(r["body"]) for r in cleared] == [{"entry": entry.id, "tag": "sensitive-ok:billing_dispute"}]

    again = await chat.ask(DECLINED_AGAIN, id="m2", user="bob")
    assert not again.routed
    assert again.reply.kind == "answer" and again.reply.sources == (entry.id,)
    why = str((await decisions(core))[-1]["why"])
    assert "resembles billing_dispute" in why and entry.id in why

    # A cue says "dispute" outright: a person handles it, whatever staff cleared.
    cue = await chat.ask("my card was declined and then I was charged twice, I want to dispute the charge",
                         id="m3", user="cy")
    assert cue.route.reason == "sensitive"


async def test_an_answer_given_in_private_clears_nothing(core: Core) -> None:
    chat = Chat(core)
    await chat.ask(DECLINED, id="m1", user="ann", channel="dm:ann")
    taught = await chat.staff(ANSWER, card="card:m1")
    entry = await core.kb.get(taught.learned.entry)
    assert entry is not None and entry.status == "pending"
    assert not [t for t in entry.tags if t.startswith("sensitive-ok:")]
    await chat.command("approve", user="alice", roles=("staff",), args=entry.id)
    # approved, the entry answers ordinary questions, but a look-alike still reaches a person
    again = await chat.ask(DECLINED_AGAIN, id="m2", user="bob")
    assert again.route.reason == "sensitive"


async def test_harassment_is_never_cleared(core: Core) -> None:
    chat = Chat(core)
    first = await chat.ask("another member keeps sending me creepy messages", id="m1", user="ann")
    assert first.route.reason == "sensitive"
    taught = await chat.staff("Use the report button on the message; a moderator looks at every report.",
                              card="card:m1")
    entry = await core.kb.get(taught.learned.entry)
    assert entry is not None and not [t for t in entry.tags if t.startswith("sensitive-ok:")]
    again = await chat.ask("someone keeps sending me creepy messages in private", id="m2", user="bob")
    assert again.route.reason == "sensitive"
