"""adapters/names.py: the core's own names, as both adapters map onto them."""

from __future__ import annotations

from adapters.names import CoreNames
from bot.settings import Settings


def test_the_names_are_the_running_cores() -> None:
    settings = Settings(staff_role="helper", moderator_role="warden", staff_channel="crew")
    assert CoreNames.of(settings) == CoreNames(staff_role="helper", moderator_role="warden",
                                               staff_channel="crew")


def test_without_a_core_the_defaults_are_the_cores_defaults() -> None:
    defaults = Settings()
    assert CoreNames() == CoreNames.of(defaults)
