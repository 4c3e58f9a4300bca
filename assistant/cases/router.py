"""Routes for cases, plans, referrals, follow-ups, gap reports and the audit log.

Roles: casework (cases, plans, referrals, follow-ups) for caseworkers and admins, scoped to the
caseworker's county; gap reports for resource managers and admins; the audit log for admins only.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response

from assistant.audit.service import list_events
from assistant.auth.deps import AdminUser, CaseworkerUser, ManagerUser, container
from assistant.cases.gaps import LOCAL_TZ, GapReport, gap_csv, gap_report, gap_xlsx
from assistant.cases.schemas import (
    AuditOut,
    AuditPage,
    CaseClose,
    CaseCreate,
    CaseOut,
    CasePage,
    FollowUpDone,
    FollowUpOut,
    FollowUpPage,
    PlanConfirm,
    PlanEdit,
    PlanOut,
    PlanReject,
    PlanRevise,
    PlanVersionOut,
    ReferralOut,
    ReferralPage,
    ReferralStatusUpdate,
)
from assistant.cases.service import CaseService
from assistant.errors import Invalid

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def case_service(request: Request) -> CaseService:
    return container(request).cases  # type: ignore[no-any-return]


Cases = Annotated[CaseService, Depends(case_service)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]

cases_router = APIRouter(prefix="/api/cases", tags=["cases"])
plans_router = APIRouter(prefix="/api/plans", tags=["plans"])
referrals_router = APIRouter(prefix="/api/referrals", tags=["referrals"])
followups_router = APIRouter(prefix="/api/followups", tags=["follow-ups"])
reports_router = APIRouter(prefix="/api/reports", tags=["reports"])
audit_router = APIRouter(prefix="/api/audit", tags=["audit"])


# -- cases ---------------------------------------------------------------------------------------------


@cases_router.post("", response_model=CaseOut, status_code=201, summary="新建个案（保存需求评估）")
def create_case(user: CaseworkerUser, data: CaseCreate, cases: Cases) -> Any:
    return cases.create_case(data, user)


@cases_router.get("", response_model=CasePage, summary="个案列表（社工只看本辖区）")
def list_cases(
    user: CaseworkerUser,
    cases: Cases,
    status: Annotated[str | None, Query(description="open | drafted | planned | in_service | closed")] = None,
    county: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    return cases.list_cases(user, status=status, county=county, limit=limit, offset=offset)


@cases_router.get("/{case_id}", response_model=CaseOut, summary="个案详情（评估文本已脱敏）")
def get_case(case_id: str, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.get_case(case_id, user)


@cases_router.post("/{case_id}/close", response_model=CaseOut, summary="结案")
def close_case(
    case_id: str, user: CaseworkerUser, cases: Cases, data: Annotated[CaseClose | None, Body()] = None
) -> Any:
    return cases.close_case(case_id, data or CaseClose(), user)


@cases_router.post(
    "/{case_id}/plan",
    response_model=PlanOut,
    status_code=201,
    summary="匹配资源并起草服务方案（第 1 版，草稿）",
)
def draft_plan(case_id: str, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.draft_plan(case_id, user)


# -- plans ---------------------------------------------------------------------------------------------


@plans_router.get("/{plan_id}", response_model=PlanOut, summary="服务方案（当前版本）")
def get_plan(plan_id: str, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.get_plan(plan_id, user)


@plans_router.get("/{plan_id}/versions", response_model=list[PlanVersionOut], summary="服务方案的全部版本")
def plan_versions(plan_id: str, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.plan_versions(plan_id, user)


@plans_router.put("/{plan_id}", response_model=PlanOut, summary="保存修改后的方案（新版本；版本不符时 409）")
def edit_plan(plan_id: str, data: PlanEdit, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.edit_plan(plan_id, data, user)


@plans_router.post("/{plan_id}/revise", response_model=PlanOut, summary="按修改意见重写方案（新版本）")
def revise_plan(plan_id: str, data: PlanRevise, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.revise_plan(plan_id, data.instruction, data.base_version, user)


@plans_router.post(
    "/{plan_id}/confirm", response_model=PlanOut, summary="确认方案：生成工单、预留名额、安排回访"
)
def confirm_plan(
    plan_id: str, user: CaseworkerUser, cases: Cases, data: Annotated[PlanConfirm | None, Body()] = None
) -> Any:
    data = data or PlanConfirm()
    return cases.confirm_plan(plan_id, user, skip_invalid=data.skip_invalid, version=data.version)


@plans_router.post("/{plan_id}/reject", response_model=PlanOut, summary="驳回方案")
def reject_plan(plan_id: str, data: PlanReject, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.reject_plan(plan_id, data.reason, user)


# -- referrals -----------------------------------------------------------------------------------------


@referrals_router.get("", response_model=ReferralPage, summary="工单列表")
def list_referrals(
    user: CaseworkerUser,
    cases: Cases,
    status: Annotated[
        str | None, Query(description="pending | accepted | in_service | completed | declined | cancelled")
    ] = None,
    county: str | None = None,
    case_id: str | None = None,
    plan_id: str | None = None,
    resource_id: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    return cases.list_referrals(
        user,
        status=status,
        county=county,
        case_id=case_id,
        plan_id=plan_id,
        resource_id=resource_id,
        limit=limit,
        offset=offset,
    )


@referrals_router.get("/{referral_id}", response_model=ReferralOut, summary="工单详情（含状态记录）")
def get_referral(referral_id: str, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.get_referral(referral_id, user)


@referrals_router.post("/{referral_id}/status", response_model=ReferralOut, summary="更新工单状态")
def update_referral(referral_id: str, data: ReferralStatusUpdate, user: CaseworkerUser, cases: Cases) -> Any:
    return cases.update_referral(referral_id, data, user)


# -- follow-ups ----------------------------------------------------------------------------------------


@followups_router.get("", response_model=FollowUpPage, summary="我的回访任务（管理员看全部）")
def list_followups(
    user: CaseworkerUser,
    cases: Cases,
    due_before: Annotated[date | None, Query(description="到期日不晚于（含当天），YYYY-MM-DD")] = None,
    status: Annotated[str | None, Query(description="open | done | cancelled；留空为全部")] = "open",
    case_id: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Any:
    return cases.list_followups(
        user, due_before=due_before, status=status or None, case_id=case_id, limit=limit, offset=offset
    )


@followups_router.post("/{followup_id}/done", response_model=FollowUpOut, summary="完成回访并记录")
def complete_followup(
    followup_id: str, user: CaseworkerUser, cases: Cases, data: Annotated[FollowUpDone | None, Body()] = None
) -> Any:
    return cases.complete_followup(followup_id, (data or FollowUpDone()).note, user)


# -- reports -------------------------------------------------------------------------------------------


@reports_router.get(
    "/gaps",
    summary="资源缺口报表（json / csv / xlsx）",
    responses={200: {"model": GapReport, "content": {"text/csv": {}, XLSX: {}}}},
)
def gap_report_route(
    request: Request,
    user: ManagerUser,
    date_from: Annotated[
        date | None, Query(alias="from", description="起始日期（含），默认结束日期前 29 天")
    ] = None,
    date_to: Annotated[date | None, Query(alias="to", description="结束日期（含），默认今天")] = None,
    county: Annotated[str | None, Query(description="区县代码；市级人员留空为全市")] = None,
    format: Annotated[str, Query(pattern="^(json|csv|xlsx)$")] = "json",
) -> Response:
    report = gap_report(container(request).db, user, date_from=date_from, date_to=date_to, county=county)
    if format == "json":
        return Response(report.model_dump_json(by_alias=True), media_type="application/json")
    name = f"gaps-{report.county or 'all'}-{report.date_from:%Y%m%d}-{report.date_to:%Y%m%d}.{format}"
    content, media = (
        (gap_csv(report), "text/csv; charset=utf-8") if format == "csv" else (gap_xlsx(report), XLSX)
    )
    return Response(
        content, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# -- audit ---------------------------------------------------------------------------------------------


def _bound(value: str | None, *, end: bool) -> datetime | None:
    """A date (Huangshi day; ``to`` includes the whole day) or an ISO datetime (naive = Huangshi time)."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + timedelta(days=1 if end else 0)
            return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise Invalid(f"时间格式不正确：{value!r}（应为 YYYY-MM-DD 或 ISO 8601 时间）") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)


@audit_router.get("", response_model=AuditPage, summary="审计日志（仅管理员）")
def audit_log(
    request: Request,
    _user: AdminUser,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    date_from: Annotated[str | None, Query(alias="from", description="YYYY-MM-DD 或 ISO 8601 时间")] = None,
    date_to: Annotated[
        str | None, Query(alias="to", description="YYYY-MM-DD（含当天）或 ISO 8601 时间")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Offset = 0,
) -> Any:
    since, until = _bound(date_from, end=False), _bound(date_to, end=True)
    with container(request).db.session() as session:
        events = list_events(
            session,
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
        return AuditPage(items=[AuditOut.model_validate(e) for e in events], limit=limit, offset=offset)


router = APIRouter()
for _sub in (cases_router, plans_router, referrals_router, followups_router, reports_router, audit_router):
    router.include_router(_sub)
