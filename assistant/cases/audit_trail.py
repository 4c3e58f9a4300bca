"""Audit entries for case records, written in the caller's transaction (see ``assistant.audit``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from assistant.audit.service import record
from assistant.cases.models import Case, FollowUpTask, Plan, Referral

ENTITY_TYPES: dict[type, str] = {Case: "case", Plan: "plan", Referral: "referral", FollowUpTask: "followup"}


def log_change(
    session: Session,
    actor: str,
    action: str,
    row: Case | Plan | Referral | FollowUpTask,
    detail: dict[str, Any],
) -> None:
    """One change of a case record, logged against the record and its county."""
    record(
        session,
        actor=actor,
        action=action,
        entity_type=ENTITY_TYPES[type(row)],
        entity_id=row.id,
        county=row.county,
        detail=detail,
    )


def log_place(session: Session, actor: str, action: str, referral: Referral) -> None:
    """One place reserved for a referral or given back by it, logged against the resource."""
    record(
        session,
        actor=actor,
        action=action,
        entity_type="resource",
        entity_id=referral.resource_id,
        county=referral.county,
        detail={"referral_id": referral.id, "places": 1},
    )
