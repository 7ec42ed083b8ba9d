"""What the flows may use: the narrow context every event's handling gets.

The core builds one ``Services`` at start and hands it to each ``Handling``;
a flow reaches the stores, the knowledge base, the words, the thresholds and
the models through it, and nothing else of the core (not its database, not
its outbox, not its settings object).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.asking import AskingBudget
from bot.cases import CaseStore
from bot.compose import Composer
from bot.events import ChannelKind, Event, Message
from bot.journeys import JourneyStore
from bot.settings import PolicySettings, Settings
from bot.trust.sensitive import SensitiveDetector
from knowledge.base import KnowledgeBase
from knowledge.embedder import CachedEmbedder
from storage.eventlog import EventLog

if TYPE_CHECKING:
    from bot.slowcalls import Writer
    from learning.loop import Learner  # torch: loaded only when the learning loop runs


@dataclass(frozen=True, slots=True)
class Community:
    """Where the bot listens and who may do what: channel names, role names,
    the bot's own name and how much of a message it reads."""

    help_channels: frozenset[str]
    staff_channel: str
    staff_role: str
    moderator_role: str
    bot_name: str
    max_message_chars: int

    @classmethod
    def of(cls, settings: Settings) -> Community:
        return cls(help_channels=frozenset(settings.help_channels), staff_channel=settings.staff_channel,
                   staff_role=settings.staff_role, moderator_role=settings.moderator_role,
                   bot_name=settings.bot_name, max_message_chars=settings.max_message_chars)

    def channel_kind(self, message: Message) -> ChannelKind:
        """help, staff, dm or other: the adapter's word if it gave one, else the names."""
        if message.channel_kind:
            return message.channel_kind
        names = {message.channel, message.channel_name}
        if names & self.help_channels:
            return "help"
        if self.staff_channel in names:
            return "staff"
        if message.channel.startswith("dm:"):
            return "dm"
        return "other"

    def is_staff(self, event: Event) -> bool:
        return self.staff_role in event.roles

    def is_moderator(self, event: Event) -> bool:
        return self.moderator_role in event.roles


@dataclass(frozen=True, slots=True)
class Services:
    """Cases, journeys, the event log, knowledge, words, thresholds, models and the learning loop."""

    community: Community
    cases: CaseStore
    journeys: JourneyStore
    log: EventLog
    kb: KnowledgeBase
    composer: Composer
    policy: PolicySettings
    embedder: CachedEmbedder
    sensitive: SensitiveDetector | None = None
    generator: Writer | None = None  # the LLM, or its stand-in while a flow runs (bot.slowcalls)
    learner: Learner | None = None  # the learning loop: model versions, calibration, outcomes
    asking: AskingBudget | None = None  # how often "did you mean" may be asked (None: always)
