"""Case, plan, referral and follow-up shapes at the API edge. Messages are Chinese for caseworkers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from assistant.matching.types import Member
from assistant.planning.schemas import FollowUp, PlanItem, UnmetStep
from assistant.taxonomy import get_taxonomy
from assistant.taxonomy.model import CITYWIDE

# In the order a case moves through them (see ``service.advance_case``).
CASE_STATUS_LABELS: dict[str, str] = {
    "open": "待制定方案",
    "drafted": "方案待确认",
    "planned": "方案已确认",
    "in_service": "服务中",
    "closed": "已结案",
}

PLAN_STATUS_LABELS: dict[str, str] = {
    "draft": "草稿",
    "edited": "已修改（待确认）",
    "confirmed": "已确认",
    "rejected": "已驳回",
    "superseded": "已被新方案取代",
    "withdrawn": "已撤回（个案结案）",
}
OPEN_PLAN_STATUSES = ("draft", "edited")  # still editable: can be changed, confirmed or rejected
CURRENT_PLAN_STATUSES = (*OPEN_PLAN_STATUSES, "confirmed")  # the plan a case is working from

CLOSE_REASONS: dict[str, str] = {
    "services_completed": "服务完成",
    "needs_resolved": "需求已解决",
    "declined_services": "本人拒绝服务",
    "moved_away": "迁出本辖区",
    "deceased": "死亡",
    "duplicate": "重复建档",
    "other": "其他",
}


Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    """One page of a listing: ``total`` counts every match, ``items`` those from ``offset`` on."""

    items: list[Item]
    total: int
    limit: int
    offset: int


def case_status_label(status: str) -> str:
    return CASE_STATUS_LABELS.get(status, status)


def plan_status_label(status: str) -> str:
    return PLAN_STATUS_LABELS.get(status, status)


def _group_codes(values: list[str]) -> list[str]:
    taxonomy = get_taxonomy()
    out: list[str] = []
    unknown: list[str] = []
    for value in values:
        code = taxonomy.resolve("group", str(value))
        if code is None:
            unknown.append(str(value))
        elif code not in out:
            out.append(code)
    if unknown:
        raise ValueError(f"未知救助对象类别：{'、'.join(unknown)}（可选：{'、'.join(taxonomy.groups)}）")
    return out


# -- cases ---------------------------------------------------------------------------------------------


class CaseCreate(BaseModel):
    """A needs assessment and the applicant's facts (``POST /api/cases``)."""

    model_config = ConfigDict(str_strip_whitespace=True)

    text: str = Field(
        min_length=1, max_length=20_000, description="需求评估原文（只保存在本系统，对外一律脱敏）"
    )
    county: str = Field(description="申请人所在区县代码，如 420222")
    groups: list[str] = Field(default_factory=list, description="救助对象类别代码或中文名称")
    age: int | None = Field(default=None, ge=0, le=130)
    members: list[Member] = Field(default_factory=list, description="家庭中其他需要服务的成员")
    name: str | None = Field(default=None, max_length=60, description="申请人姓名（可选，用于脱敏）")
    notes: str = Field(default="", max_length=5_000, description="家庭情况备注")

    @field_validator("county")
    @classmethod
    def _known_county(cls, value: str) -> str:
        taxonomy = get_taxonomy()
        code = taxonomy.resolve("area", value)
        if code is None or code == CITYWIDE:
            options = "、".join(f"{c}（{taxonomy.area_label(c)}）" for c in taxonomy.counties)
            raise ValueError(f"请填写申请人所在区县代码：{options}")
        return code

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, values: list[str]) -> list[str]:
        return _group_codes(values)

    @field_validator("members")
    @classmethod
    def _members_groups(cls, members: list[Member]) -> list[Member]:
        for member in members:
            member.groups = _group_codes(member.groups)
        return members


class CaseClose(BaseModel):
    reason: str | None = Field(
        default=None,
        description="结案原因代码：" + "、".join(f"{k}（{v}）" for k, v in CLOSE_REASONS.items()),
    )
    note: str = Field(default="", max_length=2_000)
    cancel_open_referrals: bool = Field(
        default=False, description="仍有进行中的工单时，是否一并取消（释放名额）"
    )


class PlanSummary(BaseModel):
    id: str
    status: str
    status_label: str
    version: int
    created_at: datetime
    created_by: str


class CaseOut(BaseModel):
    id: str
    county: str
    county_label: str
    groups: list[str]
    age: int | None
    members: list[Member]
    name: str | None = Field(description="申请人姓名（仅本辖区经办人员可见）")
    notes: str = Field(description="家庭情况备注（已脱敏）")
    text: str = Field(description="需求评估（已脱敏）")
    status: str
    status_label: str
    caseworker: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    close_reason_label: str | None = None
    close_note: str = ""
    plans: list[PlanSummary] = Field(default_factory=list)
    referrals: list[ReferralOut] = Field(default_factory=list)


class CasePage(Page[CaseOut]):
    pass


# -- plans ---------------------------------------------------------------------------------------------


class ItemProblem(BaseModel):
    """A plan item that cannot stand against the catalog as it is now."""

    index: int = Field(description="条目序号（从 0 开始）")
    resource_id: str
    resource_name: str = ""
    reason_code: str = Field(description="not_found | not_eligible | no_capacity | duplicate")
    reasons: list[str] = Field(default_factory=list)
    message: str


class ReferralEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    actor: str
    from_status: str | None
    to_status: str
    reason_code: str | None
    note: str


class ReferralOut(BaseModel):
    id: str
    plan_id: str
    case_id: str
    county: str
    resource_id: str
    resource_name: str
    category: str
    category_label: str
    need: str
    person_relation: str
    status: str
    status_label: str
    reason_code: str | None
    reason_label: str | None
    note: str
    place_reserved: bool
    allowed_next: list[str]
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    events: list[ReferralEventOut] = Field(default_factory=list)


class ReferralPage(Page[ReferralOut]):
    pass


class FollowUpOut(BaseModel):
    id: str
    plan_id: str
    case_id: str
    county: str
    assignee: str
    due_date: date
    overdue: bool
    method: str
    focus: str
    success_criteria: str
    status: str
    done_at: datetime | None
    done_by: str | None
    note: str


class FollowUpPage(Page[FollowUpOut]):
    pass


class PlanOut(BaseModel):
    """A plan as the caseworker sees it: the current version plus the candidates behind it."""

    id: str
    case_id: str
    county: str
    status: str
    status_label: str
    version: int
    author: str = Field(description="方案写作方式：模型名称，或 offline（离线规则生成，非大模型）")
    version_by: str = Field(description="当前版本的制作人")
    version_at: datetime
    created_by: str
    created_at: datetime
    updated_at: datetime
    goals: list[str]
    items: list[PlanItem]
    follow_ups: list[FollowUp]
    unmet: list[UnmetStep]
    summary: str
    notes: str
    dropped: list[dict[str, str]]
    matches: list[dict[str, Any]] = Field(description="各项需求及其候选资源（可供替换）")
    match_unmet: list[dict[str, Any]] = Field(description="匹配时未找到合适资源的需求")
    decided_at: datetime | None = None
    decided_by: str | None = None
    reject_reason: str = ""
    referrals: list[ReferralOut] = Field(default_factory=list)
    skipped: list[ItemProblem] = Field(default_factory=list, description="确认时因已失效而跳过的条目")
    follow_up_tasks: list[FollowUpOut] = Field(default_factory=list)


class PlanVersionOut(BaseModel):
    version: int
    kind: str
    created_at: datetime
    created_by: str
    notes: str
    goals: list[str]
    items: list[PlanItem]
    follow_ups: list[FollowUp]
    unmet: list[UnmetStep]
    summary: str
    author: str


class PlanEdit(BaseModel):
    """The full edited plan and the version it was based on. Omitted sections keep their current content."""

    model_config = ConfigDict(extra="ignore")

    base_version: int = Field(
        ge=1, validation_alias=AliasChoices("base_version", "version"), description="所编辑的版本号"
    )
    items: list[PlanItem]
    goals: list[str] | None = None
    follow_ups: list[FollowUp] | None = None
    unmet: list[UnmetStep] | None = None
    summary: str | None = None
    notes: str = Field(default="", max_length=5_000, description="本次修改说明")


class PlanRevise(BaseModel):
    instruction: str = Field(min_length=1, max_length=2_000, description="修改意见，如“把助餐换成送餐上门”")
    base_version: int = Field(ge=1, validation_alias=AliasChoices("base_version", "version"))


class PlanConfirm(BaseModel):
    skip_invalid: bool = Field(default=False, description="跳过已失效的条目，只确认其余条目")
    version: int | None = Field(default=None, ge=1, description="确认的版本号（可选；与当前版本不符时 409）")


class PlanReject(BaseModel):
    reason: str = Field(min_length=1, max_length=2_000, description="驳回原因")


# -- referrals and follow-ups --------------------------------------------------------------------------


class ReferralStatusUpdate(BaseModel):
    status: str = Field(description="pending | accepted | in_service | completed | declined | cancelled")
    reason_code: str | None = Field(
        default=None,
        description="退回/取消原因：not_eligible | no_capacity | couldnt_contact | no_longer_interested | "
        "referred_elsewhere",
    )
    note: str = Field(default="", max_length=2_000)


class FollowUpDone(BaseModel):
    note: str = Field(default="", max_length=5_000, description="回访记录")


# -- audit ---------------------------------------------------------------------------------------------


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    county: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditOut]
    limit: int
    offset: int


CaseOut.model_rebuild()
