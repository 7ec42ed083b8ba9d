"""One event's handling: the actions it produces and the evidence it leaves.

Flows (``bot/flows``) receive a ``Handling``: the event, the ``Services`` they
may use, and the means to reply, log and build staff cards. Changes of a
case's state go through ``bot.casework``. Everything a flow writes lands in
the event's single transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import numpy as np

from bot.actions import Action, Candidate, Card, CardUpdate, Reply
from bot.cards import labelled
from bot.cases import Case
from bot.compose import Words
from bot.events import Address, Event
from bot.journeys import Journey, summary
from bot.policy import plausible
from bot.services import Services
from bot.text import neutralise_mentions
from storage.vocabulary import LogKind, Transition

logger = logging.getLogger(__name__)


class Handling:
    """The unit of work for one event, with the services its flow may use."""

    def __init__(self, services: Services, event: Event, notes: dict[str, Any] | None = None) -> None:
        self.services = services
        self.event = event
        self.notes = notes or {}
        self.now: datetime = event.at
        self.space = event.space
        self.actions: list[Action] = []
        self._journeys: dict[tuple[str, str], Journey] = {}

    # -- state -------------------------------------------------------------

    async def journey(self, user: str) -> Journey:
        key = (self.space, user)
        if key not in self._journeys:
            self._journeys[key] = await self.services.journeys.get(self.space, user)
        return self._journeys[key]

    def keep_journey(self, journey: Journey) -> None:
        self._journeys[(journey.space, journey.user)] = journey

    async def flush(self) -> None:
        for journey in self._journeys.values():
            await self.services.journeys.save(journey)

    async def save(self, case: Case, vector: np.ndarray | None = None) -> None:
        await self.services.cases.save(case, vector)

    # -- evidence ------------------------------------------------------------

    async def log(self, kind: LogKind, body: dict[str, Any], case: str | None = None) -> None:
        await self.services.log.append(kind, at=self.now, space=self.space, case=case,
                                   event_id=self.event.id, body=body)

    async def transition(self, case: Case, to: Transition, **details: Any) -> None:
        """Record a case's change of state (only ``bot.casework`` does): the
        scorecard is computed from these."""
        body = {"to": to, "user": case.user, "owner": case.owner, **details}
        await self.log("case", body, case=case.key)

    # -- actions -------------------------------------------------------------

    def emit(self, action: Action) -> None:
        self.actions.append(action)

    def reply(
        self,
        case: Case | None,
        words: Words | str,
        *,
        kind: str = "notice",
        address: Address | None = None,
        **fields: Any,
    ) -> Reply:
        text = neutralise_mentions(words.text if isinstance(words, Words) else words)
        if isinstance(words, Words):
            if words.owner is not None:
                fields.setdefault("owner", words.owner)
            if words.next_step is not None:
                fields.setdefault("next_step", words.next_step)
        target = address or (case.address if case else None)
        if target is None:
            raise ValueError("a reply needs a case or an address")
        action = Reply(event=self.event.id, case=case.key if case else None, space=self.space,
                       address=target, text=text, kind=kind, **fields)  # type: ignore[arg-type]
        self.emit(action)
        return action

    def staff_address(self, thread: str | None = None, *, case: Case | None = None) -> Address:
        """The staff channel on the event's platform, or on ``case``'s own (where its card is),
        whoever acts on it (a command from the web console, time passing)."""
        platform = case.address.platform if case is not None else self.event.platform
        return Address(platform, self.space, self.services.community.staff_channel, thread)

    async def card(self, case: Case, *, reason: str, candidates: tuple[Candidate, ...]) -> Card:
        journey = await self.journey(case.user)
        # What "Send suggested answer" would send, when the best candidate is plausible at
        # all: staff see it, and its score, before they press.
        best, answer = None, None
        if candidates and plausible(candidates[0].score, self.services.policy):
            top = await self.services.kb.get(candidates[0].entry)
            if top is not None and top.status == "live":
                best, answer = candidates[0], top.answer
        return labelled(Card(
            question=case.question, asker=case.user, asker_name=case.user_name, reason=reason,
            journey_summary=summary(journey, current=case.key, now=self.now),
            candidates=candidates, case_address=case.address, owner=case.owner,
            status=case.status, conversation=tuple(f"{t.who} {t.user}: {t.text}" for t in case.turns),
            suggested=answer, suggested_entry=best.entry if best else None,
            suggested_score=best.score if best else None,
            owner_name=case.owner_name,
        ), detail=case.route_detail if reason == case.route_reason else None)

    async def update_card(self, case: Case, note: str) -> None:
        """Tell staff what changed on a card (taken, answered, closed …)."""
        if not case.card:
            return
        content = await self.card(case, reason=case.route_reason or "", candidates=case.candidates)
        self.emit(CardUpdate(event=self.event.id, case=case.key, space=self.space,
                             address=self.staff_address(case=case), card=case.card, card_ref=case.card_ref,
                             text=neutralise_mentions(note), content=content))
