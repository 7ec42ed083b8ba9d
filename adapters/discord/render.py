"""How the core's replies and cards look on Discord: message chunks, embeds and
the words on buttons (``views`` makes the buttons themselves).

The words are the core's; this module only fits them into Discord's limits
(2000 characters a message, 1024 an embed field) and lays them out.
"""

from __future__ import annotations

import discord

from bot.actions import Card, Citation
from bot.trust.redact import redact

MESSAGE_MAX = 2000
FIELD_MAX = 1024
DESCRIPTION_MAX = 4096
TITLE_MAX = 256
THREAD_NAME_MAX = 100
FEEDBACK_LABELS = {"solved": "Solved", "not_solved": "Not solved", "human": "Talk to a person"}
CLAIM_LABEL = "I'll take it"
SUGGEST_LABEL = "Send suggested answer"
STATUS_COLOURS = {"routed": discord.Colour.orange(), "reopened": discord.Colour.red(),
                  "answered": discord.Colour.green(), "resolved": discord.Colour.dark_green(),
                  "closed": discord.Colour.light_grey()}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def chunks(text: str, limit: int = MESSAGE_MAX) -> list[str]:
    """Split ``text`` into messages, at line breaks where possible."""
    text = text.strip() or "…"
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return parts


def thread_name(question: str | None) -> str:
    """A thread title from the question's first line, redacted like everything
    the bot posts from what members wrote: a title is public, and it stays
    after the message is deleted."""
    first = (question or "").strip().splitlines()[0] if (question or "").strip() else ""
    return clip(redact(first).text.strip(), THREAD_NAME_MAX) or "Question"


def jump_link(guild_id: int | None, channel_id: str, message_id: str | None = None) -> str | None:
    if guild_id is None:
        return None
    link = f"https://discord.com/channels/{guild_id}/{channel_id}"
    return f"{link}/{message_id}" if message_id else link


def sources_embed(citations: tuple[Citation, ...]) -> discord.Embed | None:
    """The answer's sources as links (the answer text names them too)."""
    if not citations:
        return None
    lines = []
    for c in citations:
        title = clip(c.title or c.entry, 200).replace("[", "(").replace("]", ")")
        lines.append(f"[{title}]({c.url})" if c.url else title)
        lines[-1] += f" · {c.entry} v{c.version}"
    return discord.Embed(title="Sources", description=clip("\n".join(lines), DESCRIPTION_MAX),
                         colour=discord.Colour.blurple())


def card_embed(card: Card | None, *, fallback_text: str, case: str, link: str | None,
               latest: str | None = None) -> discord.Embed:
    """A staff card: the question, who asked, why it's here, the journey, the
    candidates with scores, a jump link to the thread, and what changed last."""
    if card is None:  # the core's fallback route has only words
        embed = discord.Embed(title="Question for staff", description=clip(fallback_text, DESCRIPTION_MAX),
                              colour=discord.Colour.orange())
        if link:
            embed.add_field(name="Thread", value=link, inline=False)
        embed.set_footer(text=f"case {case} · reply to this card to answer")
        return embed
    asker = card.asker_name or card.asker
    embed = discord.Embed(title=clip(f"Question from {asker}", TITLE_MAX),
                          description=clip("> " + card.question.replace("\n", "\n> "), DESCRIPTION_MAX),
                          colour=STATUS_COLOURS.get(card.status, discord.Colour.orange()))
    embed.add_field(name="Why it's here", value=clip(card.reason_label or card.reason or "—", FIELD_MAX),
                    inline=False)
    embed.add_field(name="Journey", value=clip(card.journey_summary or "—", FIELD_MAX), inline=False)
    if card.candidates:
        lines = [f"`{c.entry}` {c.score:.2f} {c.title}" for c in card.candidates]
        embed.add_field(name="Candidates", value=clip("\n".join(lines), FIELD_MAX), inline=False)
    if card.suggested and card.suggested_entry:
        embed.add_field(name=clip(f"Suggested answer ({card.suggested_entry}, score {card.suggested_score or 0:.2f})",
                                  TITLE_MAX), value=clip(card.suggested, FIELD_MAX), inline=False)
    embed.add_field(name="Owner", value=clip(owner_text(card), FIELD_MAX))
    embed.add_field(name="Status", value=card.status_label or card.status)
    if card.case_address.dm_user:
        embed.add_field(name="Thread", value="moved to a private conversation", inline=False)
    elif link:
        embed.add_field(name="Thread", value=link, inline=False)
    if latest:
        embed.add_field(name="Latest", value=clip(latest, FIELD_MAX), inline=False)
    embed.set_footer(text=f"case {case} · reply to this card (or in a thread on it) to answer: "
                          f"{card.reply_label or 'your reply goes to the asker and becomes knowledge'}")
    return embed


def owner_text(card: Card) -> str:
    """A person as a mention (shown as their name; ``AllowedMentions.none()`` keeps it from
    pinging), anyone else in the card's words."""
    if card.owner_user is not None and card.owner_user.isdigit():
        return f"<@{card.owner_user}>"
    return card.owner_label or card.owner


def suggest_label(score: float | None) -> str:
    """"Send suggested answer", with how close the suggestion is when known."""
    return SUGGEST_LABEL if score is None else f"{SUGGEST_LABEL} ({score:.2f})"


def card_is_open(card: Card | None) -> bool:
    """Whether the staff buttons belong on the card (a bare fallback card always has them)."""
    return card is None or card.awaiting_staff
