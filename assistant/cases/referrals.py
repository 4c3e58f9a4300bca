"""Referral (服务工单) life cycle: statuses, legal transitions, reason codes and capacity release."""

from __future__ import annotations

from sqlalchemy.orm import Session

from assistant.cases.audit_trail import log_change, log_place
from assistant.cases.errors import unknown
from assistant.cases.models import Plan, Referral, ReferralEvent, new_id
from assistant.catalog.service import CatalogService
from assistant.db import utcnow
from assistant.errors import Conflict, Invalid
from assistant.matching.types import Person
from assistant.planning.schemas import PlanItem

STATUS_LABELS: dict[str, str] = {
    "pending": "待接单",
    "accepted": "已接单",
    "in_service": "服务中",
    "completed": "已完成",
    "declined": "已退回",
    "cancelled": "已取消",
}

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("accepted", "declined", "cancelled"),
    "accepted": ("in_service", "declined", "cancelled"),
    "in_service": ("completed", "cancelled"),
    "completed": (),
    "declined": (),
    "cancelled": (),
}

# Statuses that free the reserved place again.
RELEASING = frozenset({"declined", "cancelled"})
# A referral in these statuses is still open (the case has work going on).
ACTIVE = frozenset({"pending", "accepted", "in_service"})

REASON_LABELS: dict[str, str] = {
    "not_eligible": "不符合服务条件",
    "no_capacity": "名额不足",
    "couldnt_contact": "无法联系",
    "no_longer_interested": "本人不再需要",
    "referred_elsewhere": "已转介其他机构",
    "case_closed": "个案已结案",
}
# ``case_closed`` is set by the system when a case is closed with open referrals; people pick the others.
USER_REASON_CODES: tuple[str, ...] = tuple(code for code in REASON_LABELS if code != "case_closed")


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def allowed_next(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


def check_transition(referral: Referral, to_status: str, reason_code: str | None) -> None:
    """Raise ``Conflict`` (with the allowed statuses) or ``Invalid`` when the change cannot be made."""
    allowed = allowed_next(referral.status)
    if to_status not in STATUS_LABELS:
        raise unknown("工单状态", to_status, STATUS_LABELS, allowed=list(allowed))
    if to_status not in allowed:
        labels = "、".join(f"{s}（{status_label(s)}）" for s in allowed) or "无（工单已结束）"
        raise Conflict(
            f"工单 {referral.id} 当前为“{status_label(referral.status)}”，不能改为“{status_label(to_status)}”；"
            f"可改为：{labels}",
            extra={"status": referral.status, "allowed": list(allowed)},
        )
    if to_status in RELEASING:
        if not reason_code:
            raise Invalid(
                f"退回或取消工单须注明原因代码：{'、'.join(f'{c}（{REASON_LABELS[c]}）' for c in USER_REASON_CODES)}",
                extra={"reason_codes": list(USER_REASON_CODES)},
            )
        if reason_code not in REASON_LABELS:
            raise unknown("原因代码", reason_code, USER_REASON_CODES, reason_codes=list(USER_REASON_CODES))
    elif reason_code is not None and reason_code not in REASON_LABELS:
        raise unknown("原因代码", reason_code, USER_REASON_CODES)


def apply_transition(
    session: Session,
    catalog: CatalogService,
    referral: Referral,
    to_status: str,
    *,
    actor: str,
    reason_code: str | None = None,
    note: str = "",
) -> bool:
    """Move a referral to ``to_status`` inside the caller's transaction, audited.

    Returns True when a reserved place went back to the resource (the caller publishes capacity after commit).
    """
    check_transition(referral, to_status, reason_code)
    from_status = referral.status
    released = False
    if to_status in RELEASING and referral.place_reserved:
        catalog.release_place(session, referral.resource_id, actor)
        referral.place_reserved = False
        released = True
        log_place(session, actor, "resource.release", referral)
    referral.status = to_status
    referral.reason_code = reason_code if to_status in RELEASING else referral.reason_code
    referral.note = note or referral.note
    referral.updated_at = utcnow()
    referral.updated_by = actor
    session.add(
        ReferralEvent(
            referral_id=referral.id,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            reason_code=reason_code,
            note=note,
        )
    )
    log_change(
        session,
        actor,
        "referral.status",
        referral,
        {
            "from": from_status,
            "to": to_status,
            "reason_code": reason_code,
            "case_id": referral.case_id,
            "resource_id": referral.resource_id,
        },
    )
    return released


def open_referral(
    session: Session, plan: Plan, index: int, item: PlanItem, person: Person, *, counted: bool, actor: str
) -> Referral:
    """A pending referral for one confirmed item; ``counted`` says a place was reserved for it."""
    referral = Referral(
        id=new_id("ref"),
        plan_id=plan.id,
        case_id=plan.case_id,
        county=plan.county,
        item_index=index,
        resource_id=item.resource_id,
        resource_name=item.resource_name,
        category=item.category,
        need=item.need,
        person_relation=person.relation,
        place_reserved=counted,
        status="pending",
        created_by=actor,
        updated_by=actor,
    )
    session.add(referral)
    session.flush()
    session.add(ReferralEvent(referral_id=referral.id, actor=actor, from_status=None, to_status="pending"))
    if counted:
        log_place(session, actor, "resource.reserve", referral)
    log_change(
        session,
        actor,
        "referral.create",
        referral,
        {
            "case_id": plan.case_id,
            "plan_id": plan.id,
            "resource_id": item.resource_id,
            "category": item.category,
            "person": person.relation,
        },
    )
    return referral
