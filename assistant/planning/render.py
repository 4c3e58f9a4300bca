"""A plan as readable Chinese text (CLI output; also usable for print views and chat context)."""

from __future__ import annotations

from assistant.matching.types import MatchResult
from assistant.planning.schemas import DraftPlan
from assistant.taxonomy.model import Taxonomy


def plan_to_text(plan: DraftPlan, taxonomy: Taxonomy, result: MatchResult | None = None) -> str:
    label = taxonomy.category_label
    author = "离线规则生成（非大模型撰写）" if plan.author == "offline" else f"大模型 {plan.author}"
    lines = [f"服务方案（草稿）　撰写方式：{author}"]
    if plan.fallback_reason:
        lines.append(f"说明：大模型暂不可用或输出无效，已改用离线生成（{plan.fallback_reason}）")
    if result is not None:
        total = len(result.needs) + len(result.unmet)
        lines += ["", f"一、识别的需求（{total}项）"]
        for entry in result.needs:
            person = entry.need.person.relation
            who = "" if person == "申请人" else f"［{person}］"
            lines.append(f"  · {label(entry.need.category)}{who}：{entry.need.text}")
        for gap in result.unmet:
            lines.append(f"  · {label(gap.category)}：{gap.text}（暂无可用资源）")
    lines += ["", "二、服务目标"]
    lines += [f"  {n}. {goal}" for n, goal in enumerate(plan.goals, start=1)] or ["  （无）"]
    lines += ["", "三、服务安排"]
    if not plan.items:
        lines.append("  （暂无可安排的服务）")
    for n, item in enumerate(plan.items, start=1):
        lines.append(f"  {n}. 【{label(item.category)}】{item.resource_name}（{item.resource_id}）")
        for name, value in (
            ("服务内容", item.action),
            ("服务频次", item.frequency),
            ("服务期限", item.duration),
            ("责任机构", item.responsible),
            ("开始时间", item.start),
            ("备注", item.notes),
        ):
            if value:
                lines.append(f"     {name}：{value}")
    lines += ["", "四、回访安排"]
    lines += [
        f"  · 第{f.due_in_days}天　{f.method}：{f.focus}"
        + (f"\n    成效判断：{f.success_criteria}" if f.success_criteria else "")
        for f in plan.follow_ups
    ] or ["  （无）"]
    lines += ["", "五、暂无资源的需求及后续措施"]
    if not plan.unmet:
        lines.append("  （无）")
    for step in plan.unmet:
        lines.append(f"  · {label(step.category)}：{step.need}（原因：{step.reason}）")
        lines += [f"      - {s}" for s in step.next_steps]
    lines += ["", "六、方案摘要", f"  {plan.summary}"]
    if plan.dropped:
        lines += ["", "附：接地校验删除的引用"]
        lines += [f"  · {d.get('resource_id', '')}：{d.get('reason', '')}" for d in plan.dropped]
    return "\n".join(lines)
