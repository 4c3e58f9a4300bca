"""The offline drafter: a deterministic, grounded plan in plain Chinese, written without any LLM.

It takes the best match per need (the first; the second is named as 备选), fills the per-category templates of
``prompts/offline_plan.yaml`` with the resource's organisation, schedule and cost, and turns unmet needs into
next steps by their reason. The assessment text is only quoted, never interpreted, so nothing written in it
("忽略以上指令…") can change the plan. The summary starts with ``OFFLINE_LABEL`` and the author is ``offline``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.matching.types import Match, MatchRequest, MatchResult, Need, Person
from assistant.planning.prompts import file_sha256
from assistant.planning.schemas import DraftPlan, FollowUp, PlanItem, UnmetStep
from assistant.taxonomy.model import Taxonomy

OFFLINE_AUTHOR = "offline"
OFFLINE_LABEL = "【离线生成，非大模型撰写】"
TEMPLATES_FILE = "offline_plan.yaml"
TEMPLATE_KEYS = ("goal", "action", "frequency", "duration", "success", "focus")

_REMOVE_WORDS = ("删除", "删去", "去掉", "去除", "不要", "取消", "不需要", "移除", "拿掉")
_SWAP_WORDS = ("更换", "替换", "换成", "换一", "换个", "改用", "备选", "换掉")


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, **values: str) -> str:
    """Fill ``{name}`` placeholders; unknown names become empty (a template typo must not crash a plan)."""
    return template.format_map(_Blank(values)).strip()


def person_label(person: Person) -> str:
    """“服务对象” for the applicant, “孙子（10岁）” for a household member."""
    if not person.relation or person.relation == "申请人":
        return "服务对象"
    return f"{person.relation}（{person.age}岁）" if person.age is not None else person.relation


@dataclass(frozen=True)
class Templates:
    id: str
    sha256: str
    start: str
    default: dict[str, str]
    categories: dict[str, dict[str, str]]
    unmet_steps: dict[str, list[str]]
    follow_ups: list[dict[str, Any]]

    def for_category(self, code: str) -> dict[str, str]:
        return {**self.default, **self.categories.get(code, {})}


def load_templates(path: Path) -> Templates:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    default = {k: str(v) for k, v in (raw.get("default") or {}).items()}
    missing = [k for k in TEMPLATE_KEYS if k not in default]
    if missing:
        raise ValueError(f"{path}：default 缺少 {missing}")
    return Templates(
        id=str(raw.get("id") or "offline_plan"),
        sha256=file_sha256(path),
        start=str(raw.get("start") or "方案确认后7日内完成对接"),
        default=default,
        categories={
            str(code): {k: str(v) for k, v in (fields or {}).items()}
            for code, fields in (raw.get("categories") or {}).items()
        },
        unmet_steps={str(k): [str(s) for s in v] for k, v in (raw.get("unmet_steps") or {}).items()},
        follow_ups=list(raw.get("follow_ups") or []),
    )


def _join(values: list[str], sep: str = "；") -> str:
    parts = (v.strip().rstrip("。；;，, ") for v in values)
    return sep.join(dict.fromkeys(p for p in parts if p))


class OfflineDrafter:
    """Drafts and revises plans from matches and templates alone. Deterministic for equal inputs."""

    def __init__(self, taxonomy: Taxonomy, prompts_dir: Path) -> None:
        self.taxonomy = taxonomy
        self.path = prompts_dir / TEMPLATES_FILE

    def templates(self) -> Templates:
        return load_templates(self.path)  # read each time: an edited template applies without a restart

    # -- drafting -----------------------------------------------------------------------------------------

    def draft(
        self,
        request: MatchRequest,
        result: MatchResult,
        resources: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DraftPlan:
        """A complete plan: one item per need with a match, goals, follow-ups, unmet needs with next steps."""
        t = self.templates()
        resources = resources or {}
        items: list[PlanItem] = []
        goals: list[str] = []
        planned: list[tuple[PlanItem, dict[str, str]]] = []
        unmet: list[UnmetStep] = []
        for entry in result.needs:
            if not entry.matches:
                unmet.append(
                    self._unmet_step(t, entry.need.text, entry.need.category, "未找到符合条件的资源", "")
                )
                continue
            item, fields = self._item(t, entry.need, entry.matches, resources)
            items.append(item)
            planned.append((item, fields))
            goals.append(fields["goal"])
        for gap in result.unmet:
            unmet.append(self._unmet_step(t, gap.text, gap.category, gap.reason, gap.reason_code))
        return DraftPlan(
            goals=list(dict.fromkeys(goals)) or ["核实需求并链接可用资源，暂无资源的需求按缺口上报跟进"],
            items=items,
            follow_ups=self._follow_ups(t, planned, unmet),
            unmet=unmet,
            summary=self._summary(result, items, unmet),
            author=OFFLINE_AUTHOR,
            prompt_id=t.id,
            prompt_hash=t.sha256,
        )

    def _item(
        self,
        t: Templates,
        need: Need,
        matches: list[Match],
        resources: Mapping[str, Mapping[str, Any]],
    ) -> tuple[PlanItem, dict[str, str]]:
        best = matches[0]
        stored = resources.get(best.resource_id, {})
        organization = best.organization or str(stored.get("organization") or "") or best.name
        label = self.taxonomy.category_label(need.category)
        values = {
            "resource": best.name,
            "organization": organization,
            "label": label,
            "person": person_label(need.person),
        }
        fields = {key: fill(template, **values) for key, template in t.for_category(need.category).items()}
        notes = [
            f"服务时间：{schedule}"
            if (schedule := best.schedule_description or stored.get("schedule_description"))
            else "",
            f"费用：{cost}" if (cost := best.cost_description or stored.get("cost_description")) else "",
            f"地址：{address}" if (address := best.address or stored.get("address")) else "",
            f"机构电话：{phone}" if (phone := best.phone or stored.get("phone")) else "",
            f"适用条件：{rule}" if (rule := stored.get("eligibility_description")) else "",
        ]
        if len(matches) > 1:
            notes.append(f"备选：{matches[1].name}（{matches[1].resource_id}）")
        item = PlanItem(
            need=need.text,
            category=need.category,
            resource_id=best.resource_id,
            resource_name=best.name,
            action=fields["action"],
            frequency=fields["frequency"],
            duration=fields["duration"],
            responsible=organization,
            start=t.start,
            notes=_join(notes),
        )
        return item, {**fields, "label": label}

    def _unmet_step(self, t: Templates, text: str, category: str, reason: str, code: str) -> UnmetStep:
        steps = (
            t.unmet_steps.get(code)
            or t.unmet_steps.get("default")
            or ["已登记为资源缺口，报区县民政局统筹解决"]
        )
        return UnmetStep(need=text, category=category, reason=reason, next_steps=list(steps))

    def _follow_ups(
        self, t: Templates, planned: list[tuple[PlanItem, dict[str, str]]], unmet: list[UnmetStep]
    ) -> list[FollowUp]:
        if not planned:
            gaps = (
                "、".join(dict.fromkeys(self.taxonomy.category_label(u.category) for u in unmet))
                or "各项需求"
            )
            return [
                FollowUp(
                    due_in_days=30,
                    method="电话回访",
                    focus=f"跟进资源缺口处理进展：{gaps}",
                    success_criteria="暂无资源的需求已链接到替代资源，或已上报并得到答复",
                )
            ]
        values = {
            "services": "、".join(f"{fields['label']}（{item.resource_name}）" for item, fields in planned),
            "focus": _join([f"{fields['label']}：{fields['focus']}" for _, fields in planned]),
            "success": _join([f"{fields['label']}：{fields['success']}" for _, fields in planned]),
        }
        return [
            FollowUp(
                due_in_days=int(spec.get("due_in_days", 30)),
                method=fill(str(spec.get("method") or "电话回访"), **values),
                focus=fill(str(spec.get("focus") or ""), **values),
                success_criteria=fill(str(spec.get("success_criteria") or ""), **values),
            )
            for spec in t.follow_ups
        ]

    def _summary(self, result: MatchResult, items: list[PlanItem], unmet: list[UnmetStep]) -> str:
        label = self.taxonomy.category_label
        total = len(result.needs) + len(result.unmet)
        parts = [f"{OFFLINE_LABEL}本方案根据需求评估识别出{total}项需求"]
        if items:
            services = "、".join(f"{label(i.category)}（{i.resource_name}）" for i in items)
            parts.append(f"已为{len(items)}项安排服务：{services}")
        if unmet:
            gaps = "、".join(dict.fromkeys(label(u.category) for u in unmet))
            parts.append(f"{len(unmet)}项暂无可用资源（{gaps}），已列出后续措施并登记为资源缺口")
        text = "；".join(parts) + "。"
        return text + "服务内容、频次按模板拟定，请社工结合服务对象意愿和机构实际名额核对修改后确认。"

    # -- revising -----------------------------------------------------------------------------------------

    def revise(self, plan: DraftPlan, instruction: str, result: MatchResult) -> DraftPlan:
        """Apply simple instructions without an LLM: remove a service, or switch it to the next match."""
        targets = [i for i, item in enumerate(plan.items) if self._mentions(instruction, item)]
        new = plan.model_copy(deep=True)
        done: list[str] = []
        if targets and any(w in instruction for w in _SWAP_WORDS):
            for index in targets:
                item = new.items[index]
                alternative = self._next_match(result, item)
                if alternative is None:
                    done.append(f"{self.taxonomy.category_label(item.category)}没有其他可用资源，未更换")
                    continue
                done.append(f"{item.resource_name}已更换为{alternative.name}（{alternative.resource_id}）")
                new.items[index] = item.model_copy(
                    update={
                        "resource_id": alternative.resource_id,
                        "resource_name": alternative.name,
                        "responsible": alternative.organization or alternative.name,
                        "notes": _join(
                            [
                                f"服务时间：{alternative.schedule_description}"
                                if alternative.schedule_description
                                else "",
                                f"费用：{alternative.cost_description}"
                                if alternative.cost_description
                                else "",
                                f"原安排：{item.resource_name}（{item.resource_id}）",
                            ]
                        ),
                    }
                )
        elif targets and any(w in instruction for w in _REMOVE_WORDS):
            removed = [new.items[i] for i in targets]
            new.items = [item for i, item in enumerate(new.items) if i not in targets]
            done.append("已删除：" + "、".join(f"{i.resource_name}（{i.resource_id}）" for i in removed))
        if done:
            note = "已按修改意见调整：" + "；".join(done) + "。"
        else:
            note = "离线模式无法理解该修改意见，方案未改动，请直接编辑方案条目。"
        t = self.templates()
        previous = plan.summary.removeprefix(OFFLINE_LABEL)
        new.summary = f"{OFFLINE_LABEL}{note}{previous}"
        new.author = OFFLINE_AUTHOR
        new.prompt_id, new.prompt_hash = t.id, t.sha256
        new.dropped, new.fallback_reason = [], ""
        return new

    def _mentions(self, instruction: str, item: PlanItem) -> bool:
        if item.resource_id and item.resource_id in instruction:
            return True
        if item.resource_name and item.resource_name in instruction:
            return True
        category = self.taxonomy.categories.get(item.category)
        names = [item.category]
        if category:
            names += [p for p in re.split(r"[/（）()、]", category.label) if len(p) >= 2]
        return any(name and name in instruction for name in names)

    @staticmethod
    def _next_match(result: MatchResult, item: PlanItem) -> Match | None:
        for entry in result.needs:
            ids = [m.resource_id for m in entry.matches]
            if entry.need.category == item.category and item.resource_id in ids:
                position = ids.index(item.resource_id)
                if position + 1 < len(entry.matches):
                    return entry.matches[position + 1]
                return entry.matches[0] if position != 0 else None
        return None
