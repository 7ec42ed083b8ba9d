"""The one database: entries, vectors, cases, journeys and the event log."""

from storage.database import Database

__all__ = ["Database"]
