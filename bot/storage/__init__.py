"""The one database: entries, vectors, cases, journeys and the event log."""

from bot.storage.database import Database

__all__ = ["Database"]
