"""Buttons that keep working after a restart.

Each button is a ``DynamicItem``: the case key (and, for a suggested answer,
the entry) lives in its ``custom_id``, so a click on a message posted by an
earlier run is routed by pattern, with nothing kept in memory. The client
registers these classes in ``setup_hook``.
"""

from __future__ import annotations

from typing import Any, cast

import discord

from adapters.discord.inbound import JourneyClient, Listener, ShardedJourneyClient
from adapters.discord.render import CLAIM_LABEL, FEEDBACK_LABELS, suggest_label
from bot.actions import Card
from bot.events import FeedbackValue

FEEDBACK_STYLES = {"solved": discord.ButtonStyle.success, "not_solved": discord.ButtonStyle.secondary,
                   "human": discord.ButtonStyle.primary}
CUSTOM_ID_MAX = 100  # Discord's limit


def _listener(interaction: discord.Interaction[Any]) -> Listener:
    """The listener of the client the click came in through (see ``inbound``)."""
    client = interaction.client
    assert isinstance(client, JourneyClient | ShardedJourneyClient), "clicks come through journeybot's client"
    return client.listener


class FeedbackButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                     template=r"jb:(?P<value>solved|not_solved|human):(?P<case>[^:]+)"):
    """Solved / Not solved / Talk to a person, about one case."""

    def __init__(self, value: FeedbackValue, case: str) -> None:
        super().__init__(discord.ui.Button(label=FEEDBACK_LABELS[value], style=FEEDBACK_STYLES[value],
                                           custom_id=f"jb:{value}:{case}"))
        self.value = value
        self.case = case

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: Any) -> FeedbackButton:
        return cls(cast("FeedbackValue", match["value"]), match["case"])  # the template admits no other

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _listener(interaction).on_feedback(interaction, case=self.case, value=self.value)


class ClaimButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"jb:claim:(?P<case>[^:]+)"):
    """"I'll take it" on a staff card."""

    def __init__(self, case: str) -> None:
        super().__init__(discord.ui.Button(label=CLAIM_LABEL, style=discord.ButtonStyle.primary,
                                           custom_id=f"jb:claim:{case}"))
        self.case = case

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: Any) -> ClaimButton:
        return cls(match["case"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _listener(interaction).on_card_button(interaction, name="claim", case=self.case, entry=None)


class SuggestButton(discord.ui.DynamicItem[discord.ui.Button[Any]],
                    template=r"jb:suggest:(?P<case>[^:]+)(?::(?P<entry>.+))?"):
    """"Send suggested answer": the best candidate entry goes to the asker."""

    def __init__(self, case: str, entry: str | None, score: float | None = None) -> None:
        custom_id = f"jb:suggest:{case}:{entry}" if entry else f"jb:suggest:{case}"
        if len(custom_id) > CUSTOM_ID_MAX:  # the core falls back to the best candidate
            custom_id, entry = f"jb:suggest:{case}", None
        super().__init__(discord.ui.Button(label=suggest_label(score), style=discord.ButtonStyle.success,
                                           custom_id=custom_id))
        self.case = case
        self.entry = entry

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any],
                             match: Any) -> SuggestButton:
        return cls(match["case"], match["entry"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _listener(interaction).on_card_button(interaction, name="send_suggested", case=self.case,
                                                   entry=self.entry)


PERSISTENT_ITEMS = (FeedbackButton, ClaimButton, SuggestButton)


def feedback_view(case: str, buttons: tuple[str, ...]) -> discord.ui.View | None:
    """The buttons under an answer, in the order the core lists them."""
    known = [cast("FeedbackValue", b) for b in buttons if b in FEEDBACK_LABELS]
    if not known:
        return None
    view = discord.ui.View(timeout=None)
    for value in known:
        view.add_item(FeedbackButton(value, case))
    return view


def card_view(case: str, card: Card | None) -> discord.ui.View:
    """The buttons on a staff card: take it, and send the suggestion when the core made
    one (only for a plausible candidate), its score on the button."""
    view = discord.ui.View(timeout=None)
    view.add_item(ClaimButton(case))
    if card is not None and card.suggested_entry:
        view.add_item(SuggestButton(case, card.suggested_entry, card.suggested_score))
    return view
