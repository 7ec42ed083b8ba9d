"""The storage layer: one database holds entries, vectors, cases, journeys and the event log.

``database_for`` opens the store a setting names: a file path (or
``:memory:``) is SQLite, the embedded default; a ``postgresql://`` URL is
PostgreSQL, which several worker processes can share. The repositories
(``storage.contract``) work on either.
"""

from storage.database import Database
from storage.sql import Sql, StoreError, StoreHealth, StoreUnavailable, Transactions

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(location: str) -> bool:
    """Does ``location`` name a PostgreSQL database (rather than an SQLite file)?"""
    return location.startswith(POSTGRES_SCHEMES)


def database_for(location: str) -> Sql:
    """The database ``location`` names, not yet open (``await db.open()``)."""
    if is_postgres(location):
        from storage.postgres import PostgresDatabase

        return PostgresDatabase(location)
    return Database(location)


__all__ = ["Database", "Sql", "StoreError", "StoreHealth", "StoreUnavailable", "Transactions", "database_for", "is_postgres"]
