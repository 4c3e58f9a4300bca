"""The store: SQLAlchemy 2 engine, the one session factory, Alembic migrations."""

from assistant.db.base import Base, utcnow
from assistant.db.database import Database

__all__ = ["Base", "Database", "utcnow"]
