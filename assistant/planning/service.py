"""Plan drafting and revision: the LLM when one is configured, the offline drafter otherwise or on any failure.

Whatever writes the plan, ``ground`` checks it against this case's eligible matches and the catalog, so a plan
never cites an unknown, inactive or ineligible resource. Everything sent to the LLM is redacted and the
assessment is wrapped as data (``<assessment>…</assessment>``). Users never see an LLM error: a timeout, a 5xx
or unusable output yields the offline plan with ``fallback_reason`` set.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from assistant.config import Settings
from assistant.matching.types import MatchRequest, MatchResult
from assistant.planning.grounding import ResourceLookup, ground
from assistant.planning.llm import LLMFailure, build_chat_model, invoke_structured, model_label
from assistant.planning.offline import OFFLINE_LABEL, OfflineDrafter, person_label
from assistant.planning.prompts import RenderedPrompt, load_prompt
from assistant.planning.schemas import DraftPlan, PlanContent
from assistant.privacy import redact
from assistant.taxonomy.model import Taxonomy, get_taxonomy

log = logging.getLogger(__name__)

_DATA_TAGS = re.compile(r"<\s*(/?)\s*(assessment|instruction|previous_output)\s*>", re.IGNORECASE)
NO_VALID_ITEMS = "大模型方案引用的资源均未通过接地校验"


def as_data(text: str) -> str:
    """Neutralise our data tags inside untrusted text, so it cannot close ``<assessment>`` early."""
    return _DATA_TAGS.sub(lambda m: f"＜{m.group(1)}{m.group(2)}＞", text)


class PlanningService:
    """Drafts (``draft``) and revises (``revise``) service plans; ``llm`` is the chat model or None (offline)."""

    def __init__(
        self,
        settings: Settings,
        catalog: ResourceLookup | None,
        llm: BaseChatModel | None = None,
        *,
        taxonomy: Taxonomy | None = None,
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.llm = llm if llm is not None else build_chat_model(settings)
        self.taxonomy = taxonomy or get_taxonomy(settings.catalog_dir / "taxonomy.yaml")
        self.offline = OfflineDrafter(self.taxonomy, settings.prompts_dir)

    @property
    def author(self) -> str:
        """Who writes plans now: the model name, or ``offline``."""
        return model_label(self.llm) if self.llm is not None else "offline"

    # -- drafting -----------------------------------------------------------------------------------------

    def draft(self, request: MatchRequest, result: MatchResult, *, names: Sequence[str] = ()) -> DraftPlan:
        """A grounded plan for this case's matches. ``names`` (people's names) are redacted before any LLM call."""
        names = tuple(names)
        resources = self._resources(result)
        offline = ground(
            self.offline.draft(request, result, resources), result, resources=resources, names=names
        )
        if self.llm is None:
            return offline
        prompt = load_prompt("plan_draft", self.settings.prompts_dir)
        rendered = prompt.render(
            **self._case_variables(request, result, resources, names),
            output_schema=_schema_text(),
        )
        try:
            answer = invoke_structured(
                self.llm, PlanContent, _messages(rendered), method=self.settings.llm_structured_method
            )
        except LLMFailure as failure:
            log.warning("plan drafting fell back to offline: %s", failure.message)
            return _fallback(offline, failure.message)
        plan = DraftPlan(
            **answer.value.model_dump(),
            author=self.author,
            prompt_id=prompt.id,
            prompt_hash=prompt.sha256,
        )
        plan = ground(plan, result, resources=resources, names=names)
        if not plan.items and offline.items:
            log.warning("plan drafting fell back to offline: no valid item left after grounding")
            return _fallback(offline, NO_VALID_ITEMS, dropped=plan.dropped)
        return _complete(plan, offline)

    def revise(
        self,
        plan: DraftPlan,
        instruction: str,
        request: MatchRequest,
        result: MatchResult,
        *,
        names: Sequence[str] = (),
    ) -> DraftPlan:
        """Apply a caseworker's instruction ("把助餐换成送餐上门的"); the result is grounded again."""
        names = tuple(names)
        resources = self._resources(result)

        def offline_revision(reason: str = "") -> DraftPlan:
            revised = ground(
                self.offline.revise(plan, instruction, result), result, resources=resources, names=names
            )
            return revised.model_copy(update={"fallback_reason": reason}) if reason else revised

        if self.llm is None:
            return offline_revision()
        prompt = load_prompt("plan_revise", self.settings.prompts_dir)
        variables = self._case_variables(request, result, resources, names)
        current = PlanContent.model_validate(plan.model_dump()).model_dump_json(indent=1)
        rendered = prompt.render(
            area=variables["area"],
            applicant=variables["applicant"],
            assessment=variables["assessment"],
            candidates=variables["candidates"],
            current_plan=as_data(redact(current, names)),
            instruction=as_data(redact(instruction, names)),
            output_schema=_schema_text(),
        )
        try:
            answer = invoke_structured(
                self.llm, PlanContent, _messages(rendered), method=self.settings.llm_structured_method
            )
        except LLMFailure as failure:
            log.warning("plan revision fell back to offline: %s", failure.message)
            return offline_revision(failure.message)
        revised = DraftPlan(
            **answer.value.model_dump(),
            author=self.author,
            prompt_id=prompt.id,
            prompt_hash=prompt.sha256,
        )
        revised = ground(revised, result, resources=resources, names=names)
        if not revised.items and revised.dropped:
            return offline_revision(NO_VALID_ITEMS)
        return _complete(revised, self.offline.draft(request, result, resources))

    # -- prompt material ------------------------------------------------------------------------------------

    def _resources(self, result: MatchResult) -> dict[str, dict[str, Any]]:
        if self.catalog is None:
            return {}
        return self.catalog.get_many(sorted(result.eligible_ids()))

    def _case_variables(
        self,
        request: MatchRequest,
        result: MatchResult,
        resources: Mapping[str, Mapping[str, Any]],
        names: tuple[str, ...],
    ) -> dict[str, str]:
        t = self.taxonomy
        facts = []
        if request.age is not None:
            facts.append(f"{request.age}岁")
        if request.groups:
            facts.append("救助对象类别：" + "、".join(t.group_label(g) for g in request.groups))
        for member in request.members:
            detail = "，".join(
                [f"{member.age}岁"] * (member.age is not None) + [t.group_label(g) for g in member.groups]
            )
            facts.append(f"家庭成员：{member.relation}" + (f"（{detail}）" if detail else ""))
        need_lines, candidate_lines = [], []
        for number, entry in enumerate(result.needs, start=1):
            need = entry.need
            head = f"需求{number}【{t.category_label(need.category)}｜{need.category}】服务对象：{person_label(need.person)}"
            need_lines.append(f"{head}；原文：{redact(need.text, names)}")
            candidate_lines.append(head)
            if not entry.matches:
                candidate_lines.append("  （无候选资源）")
            for match in entry.matches:
                stored = resources.get(match.resource_id, {})
                fields = [
                    f"resource_id={match.resource_id}",
                    match.name,
                    f"机构：{match.organization or stored.get('organization') or '未填'}",
                    "类别：" + "、".join(t.category_label(c) for c in match.categories),
                    f"服务时间：{match.schedule_description or stored.get('schedule_description') or '未填'}",
                    f"费用：{match.cost_description or stored.get('cost_description') or '未填'}",
                    f"适用条件：{stored.get('eligibility_description') or '未填'}",
                ]
                if match.capacity_available is not None:
                    fields.append(f"剩余名额：{match.capacity_available}")
                if match.reasons:
                    fields.append("匹配理由：" + "；".join(match.reasons))
                candidate_lines.append("  - " + "｜".join(fields))
        unmet_lines = [
            f"- 【{t.category_label(u.category)}｜{u.category}】{redact(u.text, names)}；原因：{u.reason}"
            for u in result.unmet
        ]
        return {
            "area": f"{t.area_label(request.county)}（{request.county}）",
            "applicant": "；".join(facts) or "未填写",
            "assessment": as_data(redact(request.text, names)),
            "needs": "\n".join(need_lines) or "（未识别出需求）",
            "candidates": "\n".join(candidate_lines) or "（无）",
            "unmet": "\n".join(unmet_lines) or "（无）",
        }


def _schema_text() -> str:
    return json.dumps(PlanContent.model_json_schema(), ensure_ascii=False)


def _messages(prompt: RenderedPrompt) -> list[BaseMessage]:
    # A last safety net: whatever the variables held, no PII pattern leaves the process.
    return [SystemMessage(redact(prompt.system)), HumanMessage(redact(prompt.user))]


def _fallback(offline: DraftPlan, reason: str, *, dropped: list[dict[str, str]] | None = None) -> DraftPlan:
    return offline.model_copy(
        update={"fallback_reason": reason, "dropped": [*(dropped or []), *offline.dropped]}
    )


def _complete(plan: DraftPlan, offline: DraftPlan) -> DraftPlan:
    """Fill what a model left out from the offline plan: every unmet need keeps its next steps."""
    covered = {u.category for u in plan.unmet}
    unmet = [*plan.unmet, *(u for u in offline.unmet if u.category not in covered)]
    return plan.model_copy(
        update={
            "unmet": unmet,
            "goals": plan.goals or offline.goals,
            "follow_ups": plan.follow_ups or offline.follow_ups,
            # only the offline drafter may carry its label, whatever a model was told to write
            "summary": plan.summary.replace(OFFLINE_LABEL, "").strip()
            or f"本方案安排{len(plan.items)}项服务，{len(unmet)}项需求暂无可用资源，请社工核对后确认。",
        }
    )
