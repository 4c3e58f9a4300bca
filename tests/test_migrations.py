"""Migrations and ORM models describe the same schema (a missing migration fails here)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import assistant.models  # noqa: F401
from assistant.app.container import Container
from assistant.db.base import Base


def test_migrated_store_matches_models(container: Container) -> None:
    with container.db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
