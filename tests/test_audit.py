"""The audit log is append-only at the database level, and catalog writes land in it."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from assistant.app.container import Container
from assistant.audit.service import list_events
from assistant.catalog.schemas import ResourceData
from tests.utils.factories import resource_payload


def test_catalog_create_is_audited_and_audit_rows_cannot_be_changed(container: Container) -> None:
    container.catalog.create(ResourceData.model_validate(resource_payload()))
    with container.db.session() as session:
        events = list_events(session, entity_type="resource", entity_id="test-meal-001")
        assert [e.action for e in events] == ["resource.create"]
    for statement in ("UPDATE audit_events SET actor='x'", "DELETE FROM audit_events"):
        with pytest.raises(DatabaseError), container.db.session() as session:
            session.execute(text(statement))
