"""The offline responder: intent rules (``intents.parse``) mapped onto the case tools. Deterministic, no LLM."""

from __future__ import annotations

import re
from typing import Any

from assistant.chat.intents import Intent, parse
from assistant.chat.tools import Answer, CaseTools

PRONOUN = re.compile(r"它|这个|那个|这家|那家|这项|那项|该资源")
OFFLINE_LABEL = "离线规则回答（未使用大模型）"

HELP = (
    "我可以围绕当前个案回答这些问题（请直接用中文说）：\n"
    "· 为什么匹配某项资源：“为什么推荐花湖街道老年幸福食堂”\n"
    "· 找替代资源：“有没有离家近一点的助餐点”“换一个周末也开的”“有没有免费的”\n"
    "· 修改方案：“加上第一个”“把助浴去掉”“把 hsg-meal-001 换成第二个”\n"
    "· 资格判断：“他能申请助浴吗”“符合 yx-bath-001 的条件吗”\n"
    "· 查看概况：“现在的方案是什么”\n"
    "方案修改会保存为新版本，确认前都可以再改；资源均以「名称」（编号）标出。"
)


def respond(tools: CaseTools, text: str, memory: dict[str, Any] | None = None) -> Answer:
    """Answer one message. ``memory`` is the previous answer's meta (category, cited, proposed ids)."""
    memory = memory or {}
    proposed: list[str] = list(memory.get("proposed") or [])
    cited: list[str] = list(memory.get("cited") or [])
    known = tools.known_names(extra=[*proposed, *cited])
    intent = parse(text, known)
    targets = _resolve(intent, tools, proposed)
    if not targets and PRONOUN.search(text) and cited:
        targets = cited[:1]
    category = intent.categories[0] if intent.categories else memory.get("category")
    kind = intent.kind

    if kind == "help":
        return Answer(HELP, "help")
    if kind == "summary":
        return tools.overview()
    if kind == "why":
        if targets:
            return _joined([tools.explain(rid) for rid in targets[:3]], "why")
        if intent.categories:
            return tools.list_category(intent.categories[0])
        return tools.explain_plan()
    if kind == "eligibility":
        if targets:
            return _joined([tools.eligibility(rid) for rid in targets[:3]], "eligibility")
        if category:
            return tools.eligibility_for_category(category)
        return Answer("请说明要判断的资源（名称或编号）或服务类别，例如“能申请助浴吗”。", "eligibility")
    if kind == "alternatives":
        if not category and targets:
            resource = tools.resource(targets[0])
            category = (resource or {}).get("categories", [None])[0]
        if category:
            return tools.alternatives(category, intent.wishes)
        return Answer("请说明要找哪一类服务，例如“有没有周末也开的助餐点”。", "alternatives")
    if kind == "add":
        if targets:
            return _joined([tools.add(rid) for rid in targets[:3]], "add")
        if intent.categories:
            best = tools.alternatives(intent.categories[0], intent.wishes)
            if best.proposed:
                return tools.add(best.proposed[0])
            return best
        return Answer("请说明要加入的资源，例如“加上第一个”或“加上 yx-bath-001”。", "add")
    if kind == "drop":
        if targets or intent.categories:
            return tools.drop(targets, intent.categories)
        return Answer("请说明要删除的条目，例如“把助浴去掉”。", "drop")
    if kind in ("replace", "use"):
        if not targets:
            if category:
                return tools.alternatives(category, intent.wishes)
            return Answer("请说明换成哪一项，例如“换成第一个”。", kind)
        old = list(intent.old_resource_ids)
        old += [
            i.resource_id
            for c in intent.old_categories
            for _, i in tools.plan_items(c)
            if i.resource_id not in old
        ]
        if not old and category:
            # "就用第一个" after "有没有周末也开的助餐点": it replaces the plan's item of the category asked about,
            # even when the chosen resource is listed under another category first.
            old = [i.resource_id for _, i in tools.plan_items(category)]
        return tools.replace(old, targets[0])
    if kind == "category" and category:
        return tools.list_category(category)
    return Answer(HELP, "help")


def _resolve(intent: Intent, tools: CaseTools, proposed: list[str]) -> list[str]:
    """Explicit ids first, then ordinals ("第一个") over the last proposals, else over the plan's items."""
    out = list(intent.resource_ids)
    pool = proposed or [item.resource_id for _, item in tools.plan_items()]
    for ordinal in intent.ordinals:
        if ordinal < len(pool) and pool[ordinal] not in out:
            out.append(pool[ordinal])
    return out


def _joined(answers: list[Answer], intent: str) -> Answer:
    cited = [rid for a in answers for rid in a.cited]
    return Answer(
        "\n\n".join(a.text for a in answers),
        intent,
        cited=list(dict.fromkeys(cited)),
        proposed=[rid for a in answers for rid in a.proposed],
        category=next((a.category for a in answers if a.category), None),
        plan_changed=any(a.plan_changed for a in answers),
    )
