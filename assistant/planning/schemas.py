"""The service plan (服务方案) as drafted, edited and stored."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PlanItem(BaseModel):
    need: str = Field(description="对应的需求（评估原文摘录）")
    category: str = Field(description="服务类别代码")
    resource_id: str
    resource_name: str = ""
    action: str = Field(default="", description="具体服务内容")
    frequency: str = Field(default="", description="服务频次，如 每周2次")
    duration: str = Field(default="", description="服务期限，如 3个月")
    responsible: str = Field(default="", description="责任机构")
    start: str = Field(default="", description="开始时间")
    notes: str = ""


class FollowUp(BaseModel):
    """回访：when, how, and how success is judged."""

    due_in_days: int = Field(ge=0, le=365)
    method: str = Field(default="电话回访", description="入户 / 电话 / 服务机构反馈")
    focus: str = Field(default="", description="回访重点")
    success_criteria: str = Field(default="", description="如何判断服务有效")


class UnmetStep(BaseModel):
    need: str
    category: str
    reason: str
    next_steps: list[str] = Field(default_factory=list, description="资源链接、上报缺口等")


class PlanContent(BaseModel):
    """服务方案草稿：服务目标、服务安排、回访安排、暂无资源的需求及后续措施、给社工的摘要。"""

    goals: list[str] = Field(default_factory=list, description="服务目标，2—5条，可检验")
    items: list[PlanItem] = Field(
        default_factory=list, description="服务安排，只能引用候选资源的 resource_id"
    )
    follow_ups: list[FollowUp] = Field(default_factory=list, description="回访安排")
    unmet: list[UnmetStep] = Field(default_factory=list, description="暂无可用资源的需求及后续措施")
    summary: str = Field(default="", description="给社工的简要说明，三四句话")


class DraftPlan(BaseModel):
    goals: list[str] = Field(default_factory=list)
    items: list[PlanItem] = Field(default_factory=list)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    unmet: list[UnmetStep] = Field(default_factory=list)
    summary: str = ""
    author: str = Field(
        default="offline", description="写作方式：模型名称，或 offline（离线规则生成，非大模型）"
    )
    prompt_id: str = ""
    prompt_hash: str = ""
    dropped: list[dict[str, str]] = Field(default_factory=list, description="接地校验中被删除的条目及原因")
    fallback_reason: str = Field(default="", description="配置了大模型却改用离线生成的原因（为空表示未回退）")
