"""The core's own names that an adapter maps its platform onto.

A platform has its own roles and channels; the core speaks of ``staff`` and
``moderator`` roles and of one staff channel, named in its settings. Each
adapter translates members' roles into these names and recognises the staff
channel's address by this name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class CoreNames:
    """The core's role names and the name its staff-channel address carries."""

    staff_role: str = "staff"
    moderator_role: str = "moderator"
    staff_channel: str = "staff"

    @classmethod
    def of(cls, settings: Settings) -> CoreNames:
        """The names a running core uses (from its settings)."""
        return cls(staff_role=settings.staff_role, moderator_role=settings.moderator_role,
                   staff_channel=settings.staff_channel)
