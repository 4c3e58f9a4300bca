"""Plan versions and plan status changes, in the caller's transaction.

A plan's content is never changed in place: every edit, revision or skip at confirmation adds a
``PlanVersion``. Changes of an open plan are conditional updates on its row, so of two caseworkers
acting on the same version at once exactly one wins and the other gets a 409.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from assistant.cases.errors import stale
from assistant.cases.models import Plan, PlanVersion
from assistant.cases.schemas import OPEN_PLAN_STATUSES, plan_status_label
from assistant.db import utcnow
from assistant.errors import Conflict
from assistant.planning.schemas import DraftPlan


def current_version(session: Session, plan: Plan) -> PlanVersion:
    row = session.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.version == plan.current_version)
    )
    assert row is not None, f"plan {plan.id} lacks version {plan.current_version}"
    return row


def current_content(session: Session, plan: Plan) -> DraftPlan:
    return DraftPlan.model_validate(current_version(session, plan).content)


def add_version(
    session: Session, plan: Plan, version: int, kind: str, actor: str, content: DraftPlan, notes: str = ""
) -> None:
    """Store ``content`` as ``version`` of ``plan``; ``kind`` is draft | edit | revise | confirm."""
    session.add(
        PlanVersion(
            plan_id=plan.id,
            version=version,
            kind=kind,
            created_by=actor,
            content=content.model_dump(),
            notes=notes,
        )
    )


def require_open(plan: Plan, version: int | None = None) -> None:
    """Refuse a plan that is decided, or (when ``version`` is given) one that has moved past it."""
    if plan.status not in OPEN_PLAN_STATUSES:
        raise Conflict(
            f"服务方案 {plan.id} {plan_status_label(plan.status)}，不能再修改、确认或驳回",
            extra={"status": plan.status},
        )
    if version is not None and version != plan.current_version:
        raise Conflict(
            f"服务方案已更新到第 {plan.current_version} 版，您编辑的是第 {version} 版；请刷新后在最新版本上修改",
            extra={"current_version": plan.current_version},
        )


def claim(session: Session, plan: Plan, *, version: int | None = None, **values: Any) -> None:
    """Set ``values`` on the plan if it is still open (and still at ``version``), else 409; then reload it."""
    query = update(Plan).where(Plan.id == plan.id, Plan.status.in_(OPEN_PLAN_STATUSES))
    if version is not None:
        query = query.where(Plan.current_version == version)
    done = session.execute(
        query.values(updated_at=utcnow(), **values).execution_options(synchronize_session=False)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        raise stale("该服务方案")
    session.refresh(plan)


def next_version(session: Session, plan: Plan, base: int, status: str) -> int:
    """Claim version ``base + 1`` atomically; a concurrent editor who claimed it first wins."""
    claim(session, plan, version=base, current_version=base + 1, status=status)
    return base + 1


def open_ids(session: Session, case_id: str) -> list[str]:
    """The case's plans that are neither confirmed nor set aside."""
    return list(
        session.scalars(select(Plan.id).where(Plan.case_id == case_id, Plan.status.in_(OPEN_PLAN_STATUSES)))
    )


def retire_open(session: Session, case_id: str, status: str) -> list[str]:
    """Move the case's open plans to ``status`` (superseded, withdrawn); returns their ids."""
    ids = open_ids(session, case_id)
    if ids:
        session.execute(
            update(Plan)
            .where(Plan.id.in_(ids), Plan.status.in_(OPEN_PLAN_STATUSES))
            .values(status=status, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return ids
