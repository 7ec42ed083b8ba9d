"""Each action goes to the platform's rendering of its kind; nothing is posted for a lesson."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from bot.actions import Action, CardUpdate, Learned, Private, Reply, Route, sender_for


class Recorder:
    """A platform that notes which of its renderings was asked to post."""

    def __init__(self) -> None:
        self.posted: list[str] = []

    async def reply(self, action: Reply, /) -> str | None:
        self.posted.append("reply")
        return "m1"

    async def route(self, action: Route, /) -> str | None:
        self.posted.append("route")
        return "m2"

    async def card_update(self, action: CardUpdate, /) -> str | None:
        self.posted.append("card_update")
        return "m3"

    async def private(self, action: Private, /) -> str | None:
        self.posted.append("private")
        return "m4"


@dataclass(frozen=True, slots=True)
class Poll(Action):
    """An action no platform renders yet."""


async def test_each_action_reaches_the_rendering_of_its_kind() -> None:
    platform = Recorder()
    for action in (Reply("e1", "c1", "default"), Route("e2", "c1", "default"),
                   CardUpdate("e3", "c1", "default"), Private("e4", "c1", "default")):
        send = sender_for(platform, action, "Test")
        assert send is not None
        await send(action)
    assert platform.posted == ["reply", "route", "card_update", "private"]


def test_a_lesson_posts_nothing_and_an_unknown_action_is_skipped_out_loud(
        caplog: pytest.LogCaptureFixture) -> None:
    platform = Recorder()
    with caplog.at_level(logging.WARNING, logger="bot.actions"):
        assert sender_for(platform, Learned("e5", "c1", "default"), "Test") is None
        assert not caplog.records
        assert sender_for(platform, Poll("e6", "c1", "default"), "Test") is None
    assert "no Test rendering for Poll: skipped" in caplog.text
    assert platform.posted == []
