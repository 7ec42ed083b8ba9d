"""PostgreSQL, for several worker processes on one store (asyncpg)."""

from storage.postgres.database import PostgresDatabase, without_password

__all__ = ["PostgresDatabase", "without_password"]
