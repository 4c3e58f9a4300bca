"""Cases, plan versions, referrals (服务工单) and follow-up tasks (回访) as stored."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from assistant.db.base import Base, utcnow


def new_id(prefix: str) -> str:
    """A short random id with a readable prefix (case-…, plan-…, ref-…, fu-…)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Case(Base):
    """One applicant's assessment. ``text`` (the original) never leaves the store; the rest uses ``text_redacted``."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_county_status", "county", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    county: Mapped[str] = mapped_column(String(6))
    groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    age: Mapped[int | None] = mapped_column(Integer, nullable=True)
    members: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    name: Mapped[str | None] = mapped_column(String(60), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text)
    text_redacted: Mapped[str] = mapped_column(Text)
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    caseworker: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="open")
    close_reason: Mapped[str | None] = mapped_column(String(40), nullable=True)
    close_note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    # Optimistic lock: a confirmation racing a closure fails instead of reopening a closed case.
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}


class Plan(Base):
    """A service plan for a case; its content lives in ``PlanVersion`` rows (every version kept)."""

    __tablename__ = "plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    county: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(20), default="draft")
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # MatchRequest, redacted text
    match_result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    reject_reason: Mapped[str] = mapped_column(Text, default="")


class PlanVersion(Base):
    """One immutable version of a plan's content (a ``DraftPlan``), with who made it and when."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("plan_id", "version", name="uq_plan_versions_plan_id_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))  # draft | edit | revise | confirm
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")


class Referral(Base):
    """A service order (服务工单) for one confirmed plan item."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_county_status", "county", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    county: Mapped[str] = mapped_column(String(6))
    item_index: Mapped[int] = mapped_column(Integer)
    resource_id: Mapped[str] = mapped_column(ForeignKey("resources.id"), index=True)
    resource_name: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(40))
    need: Mapped[str] = mapped_column(Text, default="")  # redacted
    person_relation: Mapped[str] = mapped_column(String(40), default="申请人")
    place_reserved: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_by: Mapped[str] = mapped_column(String(120))
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}


class ReferralEvent(Base):
    """One status change of a referral (its timeline; the audit log holds the same facts for admins)."""

    __tablename__ = "referral_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    referral_id: Mapped[str] = mapped_column(ForeignKey("referrals.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str | None] = mapped_column(String(40), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")


class FollowUpTask(Base):
    """A follow-up (回访) due on a date, assigned to the case's caseworker."""

    __tablename__ = "follow_up_tasks"
    __table_args__ = (Index("ix_follow_up_tasks_assignee_due", "assignee_id", "status", "due_date"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    county: Mapped[str] = mapped_column(String(6))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    assignee: Mapped[str] = mapped_column(String(120))
    due_date: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(60), default="")
    focus: Mapped[str] = mapped_column(Text, default="")
    success_criteria: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | done | cancelled
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    done_by: Mapped[str | None] = mapped_column(String(120), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    row_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": row_version}
