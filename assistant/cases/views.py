"""Stored rows → the shapes the API answers with (labels added, text redacted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.cases import referrals as referral_rules
from assistant.cases.gaps import local_today
from assistant.cases.models import Case, FollowUpTask, Plan, PlanVersion, Referral, ReferralEvent
from assistant.cases.plans import current_version
from assistant.cases.schemas import (
    CLOSE_REASONS,
    CaseOut,
    FollowUpOut,
    PlanOut,
    PlanSummary,
    PlanVersionOut,
    ReferralEventOut,
    ReferralOut,
    case_status_label,
    plan_status_label,
)
from assistant.matching.types import MatchResult, Member
from assistant.planning.schemas import DraftPlan
from assistant.privacy import redact
from assistant.taxonomy import get_taxonomy


def _content_fields(content: DraftPlan) -> dict[str, Any]:
    """What a plan version says, as both the plan and the version shapes show it."""
    return {
        "goals": content.goals,
        "items": content.items,
        "follow_ups": content.follow_ups,
        "unmet": content.unmet,
        "summary": content.summary,
        "author": content.author,
    }


def case_out(session: Session, case: Case, *, detail: bool) -> CaseOut:
    """A case with redacted text and notes; ``detail`` adds its plans and referrals."""
    names = [case.name] if case.name else []
    out = CaseOut(
        id=case.id,
        county=case.county,
        county_label=get_taxonomy().area_label(case.county),
        groups=list(case.groups),
        age=case.age,
        members=[Member.model_validate(m) for m in case.members],
        name=case.name,
        notes=redact(case.notes, names),
        text=case.text_redacted,
        status=case.status,
        status_label=case_status_label(case.status),
        caseworker=case.caseworker,
        created_at=case.created_at,
        updated_at=case.updated_at,
        closed_at=case.closed_at,
        closed_by=case.closed_by,
        close_reason=case.close_reason,
        close_reason_label=CLOSE_REASONS.get(case.close_reason) if case.close_reason else None,
        close_note=redact(case.close_note, names),
    )
    if detail:
        plans = session.scalars(
            select(Plan).where(Plan.case_id == case.id).order_by(Plan.created_at, Plan.id)
        )
        out.plans = [
            PlanSummary(
                id=p.id,
                status=p.status,
                status_label=plan_status_label(p.status),
                version=p.current_version,
                created_at=p.created_at,
                created_by=p.created_by,
            )
            for p in plans
        ]
        referrals = session.scalars(
            select(Referral).where(Referral.case_id == case.id).order_by(Referral.created_at, Referral.id)
        )
        out.referrals = [referral_out(r) for r in referrals]
    return out


def plan_out(session: Session, plan: Plan, *, with_referrals: bool = False) -> PlanOut:
    """The plan's current version with the matches behind it; optionally its referrals and follow-ups."""
    row = current_version(session, plan)
    content = DraftPlan.model_validate(row.content)
    matches = MatchResult.model_validate(plan.match_result).to_json()
    out = PlanOut(
        id=plan.id,
        case_id=plan.case_id,
        county=plan.county,
        status=plan.status,
        status_label=plan_status_label(plan.status),
        version=plan.current_version,
        version_by=row.created_by,
        version_at=row.created_at,
        created_by=plan.created_by,
        created_at=plan.created_at,
        updated_at=plan.updated_at,
        notes=row.notes,
        dropped=content.dropped,
        matches=matches["needs"],
        match_unmet=matches["unmet"],
        decided_at=plan.decided_at,
        decided_by=plan.decided_by,
        reject_reason=plan.reject_reason,
        **_content_fields(content),
    )
    if with_referrals:
        referrals = session.scalars(
            select(Referral).where(Referral.plan_id == plan.id).order_by(Referral.item_index)
        )
        out.referrals = [referral_out(r) for r in referrals]
        tasks = session.scalars(
            select(FollowUpTask).where(FollowUpTask.plan_id == plan.id).order_by(FollowUpTask.due_date)
        )
        out.follow_up_tasks = [followup_out(t) for t in tasks]
    return out


def version_out(row: PlanVersion) -> PlanVersionOut:
    return PlanVersionOut(
        version=row.version,
        kind=row.kind,
        created_at=row.created_at,
        created_by=row.created_by,
        notes=row.notes,
        **_content_fields(DraftPlan.model_validate(row.content)),
    )


def referral_out(referral: Referral, events: list[ReferralEvent] | None = None) -> ReferralOut:
    taxonomy = get_taxonomy()
    return ReferralOut(
        id=referral.id,
        plan_id=referral.plan_id,
        case_id=referral.case_id,
        county=referral.county,
        resource_id=referral.resource_id,
        resource_name=referral.resource_name,
        category=referral.category,
        category_label=taxonomy.category_label(referral.category),
        need=referral.need,
        person_relation=referral.person_relation,
        status=referral.status,
        status_label=referral_rules.status_label(referral.status),
        reason_code=referral.reason_code,
        reason_label=referral_rules.REASON_LABELS.get(referral.reason_code) if referral.reason_code else None,
        note=referral.note,
        place_reserved=referral.place_reserved,
        allowed_next=list(referral_rules.allowed_next(referral.status)),
        created_at=referral.created_at,
        created_by=referral.created_by,
        updated_at=referral.updated_at,
        updated_by=referral.updated_by,
        events=[ReferralEventOut.model_validate(e) for e in events or []],
    )


def followup_out(task: FollowUpTask) -> FollowUpOut:
    return FollowUpOut(
        id=task.id,
        plan_id=task.plan_id,
        case_id=task.case_id,
        county=task.county,
        assignee=task.assignee,
        due_date=task.due_date,
        overdue=task.status == "open" and task.due_date < local_today(),
        method=task.method,
        focus=task.focus,
        success_criteria=task.success_criteria,
        status=task.status,
        done_at=task.done_at,
        done_by=task.done_by,
        note=task.note,
    )
