"""Block Kit for what the bot posts: answers with sources and buttons,
clarifying questions with numbered choices, and staff cards.

Every piece of text that came from a person or the knowledge base goes
through ``escape``; only the links and labels built here are markup.
"""

from __future__ import annotations

import json
from typing import Any

from adapters.slack.text import chunks, escape, link
from bot.actions import Card, Reply

Block = dict[str, Any]

FEEDBACK_ACTIONS = {"solved": "journeybot_solved", "not_solved": "journeybot_not_solved",
                    "human": "journeybot_human"}
FEEDBACK_LABELS = {"solved": "Solved", "not_solved": "Not solved", "human": "Talk to a person"}
CLAIM_LABEL = "I'll take it"
SUGGEST_LABEL = "Send suggested answer"
FEEDBACK_BY_ACTION = {action: value for value, action in FEEDBACK_ACTIONS.items()}
CLAIM = "journeybot_claim"
SEND_SUGGESTED = "journeybot_send_suggested"
PICK = "journeybot_pick"


def section(mrkdwn: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def sections(text: str) -> list[Block]:
    return [section(piece) for piece in chunks(escape(text)) if piece.strip()]


def button(label: str, action_id: str, value: str, *, style: str | None = None) -> Block:
    made: Block = {"type": "button", "text": {"type": "plain_text", "text": label[:75], "emoji": False},
                   "action_id": action_id, "value": value[:2000]}
    if style:
        made["style"] = style
    return made


def reply_blocks(reply: Reply) -> list[Block]:
    """An answer, relay, clarifying question or notice, as Slack shows it."""
    blocks = sections(reply.text)
    if reply.citations:
        sources = " · ".join(link(c.url, c.title or c.entry) for c in reply.citations)
        blocks.append({"type": "context", "block_id": "journeybot_sources",
                       "elements": [{"type": "mrkdwn", "text": f"Sources: {sources}"}]})
    if reply.options:
        picks = [(str(n), str(n)) for n in range(1, len(reply.options) + 1)] + [("None of these", "none")]
        blocks.append({"type": "actions", "block_id": "journeybot_options", "elements": [
            button(label, f"{PICK}_{value}", json.dumps({"thread": reply.address.thread, "pick": value}))
            for label, value in picks]})
    shown = [b for b in reply.buttons if b in FEEDBACK_ACTIONS]
    if shown and reply.case:
        blocks.append({"type": "actions", "block_id": "journeybot_feedback", "elements": [
            button(FEEDBACK_LABELS[b], FEEDBACK_ACTIONS[b], reply.case,
                   style="primary" if b == "solved" else None) for b in shown]})
    return blocks


def card_blocks(card: Card, *, case: str, owner_name: str, asker_name: str,
                thread_link: str | None, note: str | None = None) -> list[Block]:
    """A staff card: the question, why it is here, the journey, the candidates,
    a link to the thread and, while the case awaits staff, the staff buttons.
    The words for reason, owner and status are the card's own labels."""
    status = card.status_label or card.status
    title = card.headline or status
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{title}: question from "
                                    f"{asker_name}"[:150], "emoji": False}},
        section("*Question*\n" + "\n".join("> " + line for line in escape(card.question)[:2800].split("\n"))),
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Why it's here*\n{escape(card.reason_label or card.reason)}"},
            {"type": "mrkdwn", "text": f"*Owner*\n{escape(owner_name)}"},
            {"type": "mrkdwn", "text": f"*Status*\n{escape(status)}"},
            {"type": "mrkdwn", "text": "*Thread*\n" + (link(thread_link, "Open the thread") if thread_link
                                                       else "private conversation")},
        ]},
        *sections(f"*Journey*\n{card.journey_summary}"),
    ]
    later = list(card.conversation[1:])[-6:]
    if later:
        blocks += sections("*In the thread since*\n" + "\n".join(line[:300] for line in later))
    if card.candidates:
        lines = [f"• {c.title or c.entry} ({c.entry}, v{c.version}) score {c.score:.2f}"
                 for c in card.candidates[:5]]
        blocks += sections("*Closest entries*\n" + "\n".join(lines))
    else:
        blocks.append(section("*Closest entries*\nnone"))
    if card.suggested and card.suggested_entry:
        blocks += sections(f"*Suggested answer* ({card.suggested_entry}, score {card.suggested_score or 0:.2f})\n"
                           f"{card.suggested}")
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": escape(note)[:2000]}]})
    if card.awaiting_staff:
        buttons = [button(CLAIM_LABEL, CLAIM, case, style="primary")]
        if card.suggested_entry:  # the core suggests only a plausible candidate
            label = SUGGEST_LABEL if card.suggested_score is None else f"{SUGGEST_LABEL} ({card.suggested_score:.2f})"
            buttons.append(button(label, SEND_SUGGESTED, json.dumps({"case": case, "entry": card.suggested_entry})))
        blocks.append({"type": "actions", "block_id": "journeybot_card", "elements": buttons})
    said = card.reply_label or "your reply goes to the asker and becomes knowledge"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text":
                   f"Reply in this card's thread to answer: {escape(said)}."}]})
    return blocks
