"""Who may do casework, and where: caseworkers and admins, each within the counties they may act in."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from assistant.auth.models import Role, User
from assistant.cases.models import Case, FollowUpTask, Plan, Referral
from assistant.errors import Forbidden, NotFound
from assistant.taxonomy import get_taxonomy

CASEWORK_ROLES = frozenset({Role.caseworker.value, Role.admin.value})

# Every case record belongs to one county; these are their names in messages to the caseworker.
Scoped = TypeVar("Scoped", Case, Plan, Referral, FollowUpTask)
NOUNS: dict[type, str] = {Case: "个案", Plan: "服务方案", Referral: "工单", FollowUpTask: "回访任务"}


def area(code: str) -> str:
    return get_taxonomy().area_label(code)


def require_casework(user: User) -> None:
    if user.role not in CASEWORK_ROLES:
        raise Forbidden("个案、方案与工单仅限社工和管理员办理")


def require_scope(user: User, county: str, what: str = "个案") -> None:
    if not user.can_act_in(county):
        raise Forbidden(f"该{what}属于{area(county)}，您只能办理{area(user.county)}的{what}")


def load(session: Session, model: type[Scoped], row_id: str, user: User) -> Scoped:
    """The record ``row_id`` if it exists (else 404) and ``user`` may do casework in its county (else 403)."""
    require_casework(user)
    what = NOUNS[model]
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{what} {row_id} 不存在")
    require_scope(user, row.county, what)
    return row


def listing_counties(user: User, county: str | None) -> list[str] | None:
    """Counties a listing may show: the asked one if allowed; None means every county."""
    if county:
        if not user.can_act_in(county):
            raise Forbidden(f"您只能查看{area(user.county)}的数据，不能查看{area(county)}的数据")
        return [county]
    return None if user.citywide else [user.county]
