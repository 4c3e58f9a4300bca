"""What the chat can do with one case, in words a caseworker reads: explain a match, find alternatives,
judge eligibility, add / drop / replace plan items, summarise. Both the offline responder and the LLM's
tools call these, so an answer always comes from the catalog, the matcher and the stored plan.

Every resource is cited by name and id: 「name」（id）.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.auth.models import User
from assistant.cases.plan_checks import household, ineligibility_reasons
from assistant.cases.schemas import CURRENT_PLAN_STATUSES, OPEN_PLAN_STATUSES, CaseOut, PlanEdit, PlanOut
from assistant.catalog.service import CatalogService, ResourceFilter
from assistant.chat.intents import WISH_LABELS
from assistant.errors import DomainError
from assistant.matching.types import Person
from assistant.planning.schemas import PlanItem
from assistant.taxonomy import get_taxonomy
from assistant.taxonomy.model import CITYWIDE

WEEKEND_OPEN = re.compile(
    r"周六|周日|周末|星期六|星期日|星期天|每天|每日|全年|无休|365|7\s*天|七天|节假日|全天候|随叫随到"
)
FREE = re.compile(r"免费|无偿|不收费|公益|政府购买")
AT_HOME = re.compile(r"上门|送餐|入户|到家|流动")
PLACE = re.compile(r"([\u4e00-\u9fa5]{2,5}?)(?:镇|乡|街道|社区|村|小区|管理区)")
MAX_OPTIONS = 3


class Eligibility(Protocol):
    def eligible(self, resource: Mapping[str, Any], person: Person, county: str) -> bool: ...


class Cases(Protocol):
    def get_case(self, case_id: str, user: User) -> CaseOut: ...
    def get_plan(self, plan_id: str, user: User) -> PlanOut: ...
    def edit_plan(self, plan_id: str, data: PlanEdit, user: User) -> PlanOut: ...


def cite(resource: Mapping[str, Any]) -> str:
    """How an answer names a resource."""
    rid = resource.get("id") or resource.get("resource_id")
    return f"「{resource.get('name') or resource.get('resource_name') or rid}」（{rid}）"


@dataclass
class Answer:
    """A reply and what it was about (kept with the message so the next turn can say "第一个", "换一个")."""

    text: str
    intent: str
    cited: list[str] = field(default_factory=list)
    proposed: list[str] = field(default_factory=list)
    category: str | None = None
    plan_changed: bool = False

    def meta(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "cited": self.cited,
            "proposed": self.proposed,
            "category": self.category,
            "plan_changed": self.plan_changed,
        }


def _person_text(person: Person) -> str:
    taxonomy = get_taxonomy()
    parts = [person.relation]
    if person.age is not None:
        parts.append(f"{person.age}岁")
    if person.groups:
        parts.append("、".join(taxonomy.group_label(g) for g in person.groups))
    return "，".join(parts)


class CaseTools:
    """Operations over one case as seen by one user (the cases service enforces who may see and edit)."""

    def __init__(
        self, case_id: str, user: User, *, cases: Cases, catalog: CatalogService, matcher: Eligibility
    ) -> None:
        self.case_id = case_id
        self.user = user
        self.cases = cases
        self.catalog = catalog
        self.matcher = matcher
        self.taxonomy = get_taxonomy()
        self.case: CaseOut
        self.plan: PlanOut | None = None
        self.reload()

    # -- state ---------------------------------------------------------------------------------------

    def reload(self) -> None:
        self.case = self.cases.get_case(self.case_id, self.user)
        current = [p for p in self.case.plans if p.status in CURRENT_PLAN_STATUSES]
        self.plan = self.cases.get_plan(current[-1].id, self.user) if current else None

    @property
    def people(self) -> list[Person]:
        members = [m.model_dump() for m in self.case.members]
        return household(self.case.age, self.case.groups, members)

    def needs(self) -> list[dict[str, Any]]:
        return list(self.plan.matches) if self.plan else []

    def matched(self) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
        """resource id → (need, match) for every resource the matcher offered this case."""
        out: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
        for need in self.needs():
            for match in need.get("matches", []):
                out.setdefault(match["resource_id"], (need, match))
        return out

    def known_names(self, extra: Iterable[str] = ()) -> dict[str, str]:
        """Resources the conversation can refer to by name: matches, plan items, earlier proposals."""
        names = {rid: m["name"] for rid, (_, m) in self.matched().items()}
        if self.plan:
            names.update({i.resource_id: i.resource_name or i.resource_id for i in self.plan.items})
        missing = [rid for rid in extra if rid not in names]
        names.update({rid: r["name"] for rid, r in self.catalog.get_many(missing).items()})
        return names

    def resource(self, resource_id: str) -> dict[str, Any] | None:
        return self.catalog.get_many([resource_id]).get(resource_id)

    def person_for(self, category: str | None) -> Person:
        """The person a category's need is for (the applicant unless the matcher said otherwise)."""
        for need in self.needs():
            if need.get("category") == category and need.get("person"):
                return Person.model_validate(need["person"])
        return self.people[0]

    def plan_items(self, category: str | None = None) -> list[tuple[int, PlanItem]]:
        if not self.plan:
            return []
        return [(i, item) for i, item in enumerate(self.plan.items) if category in (None, item.category)]

    # -- answers -------------------------------------------------------------------------------------

    def overview(self) -> Answer:
        """The case at a glance: who, needs with matches, plan items, unmet needs, referrals."""
        case, taxonomy = self.case, self.taxonomy
        lines = [
            f"个案 {case.id}（{case.county_label}，{case.status_label}）：{_person_text(self.people[0])}。",
        ]
        for member in self.people[1:]:
            lines.append(f"家庭成员：{_person_text(member)}。")
        cited: list[str] = []
        if not self.plan:
            lines.append("尚未生成服务方案。可在工作台点击“生成方案”，我再据此解释匹配、查找替代资源。")
            return Answer("\n".join(lines), "summary")
        needs = self.needs()
        lines.append(f"识别到 {len(needs)} 项需求：")
        for n, need in enumerate(needs, 1):
            label = taxonomy.category_label(need["category"])
            top = need.get("matches", [])[:2]
            names = "、".join(cite(m) for m in top) or "无合适资源"
            cited += [m["resource_id"] for m in top]
            lines.append(f"{n}. {label}——“{need['text']}”；候选：{names}")
        for unmet in self.plan.match_unmet:
            lines.append(f"未找到合适资源：{taxonomy.category_label(unmet['category'])}（{unmet['reason']}）")
        lines.append(
            f"服务方案第 {self.plan.version} 版（{self.plan.status_label}）共 {len(self.plan.items)} 项："
        )
        for n, item in enumerate(self.plan.items, 1):
            detail = "，".join(x for x in (item.frequency, item.duration) if x)
            lines.append(
                f"{n}. {taxonomy.category_label(item.category)}：{cite(item.model_dump())}"
                + (f"（{detail}）" if detail else "")
            )
            cited.append(item.resource_id)
        if self.case.referrals:
            lines.append(
                "转介工单："
                + "；".join(f"{r.resource_name}（{r.status_label}）" for r in self.case.referrals)
            )
        return Answer("\n".join(lines), "summary", cited=list(dict.fromkeys(cited)))

    def explain(self, resource_id: str) -> Answer:
        """Why a resource was matched (the matcher's reasons), or why it was not."""
        found = self.matched().get(resource_id)
        in_plan = [n for n, item in self.plan_items() if item.resource_id == resource_id]
        if found:
            need, match = found
            label = self.taxonomy.category_label(need["category"])
            text = [f"{cite(match)} 匹配的是“{label}”需求（评估原文：“{need['text']}”）。理由："]
            text += [f"· {reason}" for reason in match.get("reasons", [])]
            facts = self._facts(match)
            if facts:
                text.append(facts)
            text.append(
                f"已列入方案第 {in_plan[0] + 1} 项。" if in_plan else "目前未列入方案，如需要可以说“加上它”。"
            )
            return Answer("\n".join(text), "why", cited=[resource_id], category=need["category"])
        resource = self.resource(resource_id)
        if resource is None:
            return Answer(f"资源目录中没有编号为 {resource_id} 的资源，请核对编号。", "why")
        verdict = self.eligibility(resource_id)
        return Answer(
            f"{cite(resource)} 不在本个案的匹配结果中。{verdict.text}",
            "why",
            cited=[resource_id],
            category=(resource.get("categories") or [None])[0],
        )

    def explain_plan(self) -> Answer:
        if not self.plan or not self.plan.items:
            return self.overview()
        parts = [self.explain(item.resource_id).text for _, item in self.plan_items()]
        return Answer("\n\n".join(parts), "why", cited=[i.resource_id for _, i in self.plan_items()])

    def eligibility(self, resource_id: str) -> Answer:
        """Whether each person in the household qualifies for a resource, with the reasons."""
        resource = self.resource(resource_id)
        if resource is None:
            return Answer(f"资源目录中没有编号为 {resource_id} 的资源，请核对编号。", "eligibility")
        county = self.case.county
        lines = []
        qualified = False
        for person in self.people:
            if self.matcher.eligible(resource, person, county):
                qualified = True
                lines.append(f"· {person.relation}：符合条件（{self._passes(resource, person)}）")
            else:
                reasons = ineligibility_reasons(resource, person, county) or ["不符合该资源的服务条件"]
                lines.append(f"· {person.relation}：不符合——{'；'.join(reasons)}")
        head = f"{cite(resource)} {'可以申请' if qualified else '本户无人符合条件'}："
        rule = resource.get("eligibility_description")
        tail = [f"资源写明的申请条件：{rule}"] if rule else []
        return Answer(
            "\n".join([head, *lines, *tail]),
            "eligibility",
            cited=[resource_id],
            category=(resource.get("categories") or [None])[0],
        )

    def eligibility_for_category(self, category: str) -> Answer:
        label = self.taxonomy.category_label(category)
        person = self.person_for(category)
        pool = self._pool(category, person)
        everything = self._category_resources(category)
        if pool:
            names = "、".join(cite(r) for r in pool[:MAX_OPTIONS])
            text = f"{person.relation}可以申请的{label}服务有 {len(pool)} 项，例如：{names}。"
            return Answer(
                text,
                "eligibility",
                cited=[r["id"] for r in pool[:MAX_OPTIONS]],
                proposed=[r["id"] for r in pool[:MAX_OPTIONS]],
                category=category,
            )
        if not everything:
            return Answer(
                f"{self.case.county_label}目前没有{label}类服务资源，建议登记资源缺口或链接市级资源。",
                "eligibility",
                category=category,
            )
        reasons = []
        for resource in everything[:MAX_OPTIONS]:
            why = ineligibility_reasons(resource, person, self.case.county) or ["不符合服务条件"]
            reasons.append(f"· {cite(resource)}：{'；'.join(why)}")
        return Answer(
            f"{person.relation}目前不符合本地{label}服务的条件：\n" + "\n".join(reasons),
            "eligibility",
            cited=[r["id"] for r in everything[:MAX_OPTIONS]],
            category=category,
        )

    def alternatives(
        self, category: str, wishes: set[str] | None = None, *, exclude_plan: bool = True
    ) -> Answer:
        """Other eligible resources of a category, ranked by the caseworker's wishes."""
        wishes = wishes or set()
        label = self.taxonomy.category_label(category)
        person = self.person_for(category)
        current = {item.resource_id for _, item in self.plan_items(category)} if exclude_plan else set()
        pool = [r for r in self._pool(category, person) if r["id"] not in current]
        # "near" ranks; the other wishes filter (and are relaxed when nothing meets them).
        filters = "、".join(WISH_LABELS[w] for w in sorted(wishes - {"near"}) if w in WISH_LABELS)
        if not pool:
            return Answer(
                f"除方案中已有的以外，{self.case.county_label}暂无{person.relation}可申请的其他{label}服务。"
                "可以登记资源缺口，或请资源管理员链接邻近区县、市级资源。",
                "alternatives",
                category=category,
            )
        places = self._home_places()
        kept = [r for r in pool if all(self._meets(r, w) for w in wishes - {"near"})]
        relaxed = not kept
        if relaxed:
            kept = pool
        scores = {rid: m.get("score", 0.0) for rid, (_, m) in self.matched().items()}
        kept.sort(key=lambda r: self._rank(r, wishes, places, scores), reverse=True)
        chosen = kept[:MAX_OPTIONS]
        if relaxed:
            head = f"没有完全符合“{filters}”的{label}资源，以下是{person.relation}可申请的其他选择（请留意服务时间和收费）"
        else:
            wanted = f"符合“{filters}”的" if filters else ""
            head = f"为{person.relation}找到 {len(kept)} 项{wanted}可申请的{label}服务"
        if "near" in wishes:
            head += "，按离家远近排列"
        if current:
            head += f"（已排除方案中的 {'、'.join(sorted(current))}）"
        lines = [head + "："]
        for n, resource in enumerate(chosen, 1):
            lines.append(f"{n}. {cite(resource)}")
            lines.append(f"   {self._facts(resource, places)}")
        if "near" in wishes and not places:
            lines.append("（评估中未写明住址所在的镇/街道，已优先列出本区县的资源；补充住址后可更准确。）")
        if self.plan and self.plan.status in OPEN_PLAN_STATUSES:
            verb = "换成第一个" if current else "加上第一个"
            lines.append(f"如需采用，可以说“{verb}”。")
        ids = [r["id"] for r in chosen]
        return Answer("\n".join(lines), "alternatives", cited=ids, proposed=ids, category=category)

    def list_category(self, category: str) -> Answer:
        label = self.taxonomy.category_label(category)
        entries = [
            m for need in self.needs() if need["category"] == category for m in need.get("matches", [])
        ]
        if not entries:
            return self.alternatives(category, exclude_plan=False)
        lines = [f"本个案{label}需求的匹配结果："]
        for n, match in enumerate(entries[:MAX_OPTIONS], 1):
            lines.append(f"{n}. {cite(match)}——{'；'.join(match.get('reasons', [])[:3])}")
        ids = [m["resource_id"] for m in entries[:MAX_OPTIONS]]
        return Answer("\n".join(lines), "category", cited=ids, proposed=ids, category=category)

    # -- plan edits ----------------------------------------------------------------------------------

    def _editable(self) -> str | None:
        if not self.plan:
            return "该个案还没有服务方案，请先生成方案。"
        if self.plan.status not in OPEN_PLAN_STATUSES:
            return f"方案第 {self.plan.version} 版已{self.plan.status_label}，不能在对话中修改；如需调整，请重新生成方案。"
        return None

    def _save(self, items: list[PlanItem], note: str) -> str | None:
        """Store the edited items as a new plan version; returns an error message or None."""
        assert self.plan is not None
        try:
            self.plan = self.cases.edit_plan(
                self.plan.id,
                PlanEdit(base_version=self.plan.version, items=items, notes=note),
                self.user,
            )
        except DomainError as exc:
            return exc.message
        return None

    def _item_for(self, resource: dict[str, Any]) -> PlanItem:
        found = self.matched().get(resource["id"])
        categories = resource.get("categories") or []
        if found:
            need_text, category = found[0]["text"], found[0]["category"]
        else:
            need = next((n for n in self.needs() if n["category"] in categories), None)
            need_text = need["text"] if need else "对话中补充的需求"
            category = need["category"] if need else categories[0]
        return PlanItem(
            need=need_text,
            category=category,
            resource_id=resource["id"],
            resource_name=resource["name"],
            action=self.taxonomy.category_label(category),
            frequency=resource.get("schedule_description") or "",
            responsible=resource.get("organization") or "",
            notes="对话中添加",
        )

    def add(self, resource_id: str) -> Answer:
        blocked = self._editable()
        if blocked:
            return Answer(blocked, "add")
        assert self.plan is not None
        resource = self.resource(resource_id)
        if resource is None:
            return Answer(f"资源目录中没有编号为 {resource_id} 的资源。", "add")
        if any(item.resource_id == resource_id for _, item in self.plan_items()):
            return Answer(f"{cite(resource)} 已在方案中。", "add", cited=[resource_id])
        item = self._item_for(resource)
        error = self._save([*self.plan.items, item], f"对话中添加 {resource_id}")
        if error:
            return Answer(f"未能加入 {cite(resource)}：{error}", "add", cited=[resource_id])
        return Answer(
            f"已将 {cite(resource)} 加入方案（{self.taxonomy.category_label(item.category)}），"
            f"方案更新为第 {self.plan.version} 版，确认前仍可修改。",
            "add",
            cited=[resource_id],
            category=item.category,
            plan_changed=True,
        )

    def drop(self, resource_ids: list[str], categories: list[str]) -> Answer:
        blocked = self._editable()
        if blocked:
            return Answer(blocked, "drop")
        assert self.plan is not None
        items = self.plan.items
        gone = [
            i
            for i in items
            if i.resource_id in resource_ids or (not resource_ids and i.category in categories)
        ]
        if not gone:
            what = "、".join(resource_ids) or "、".join(self.taxonomy.category_label(c) for c in categories)
            return Answer(f"方案中没有找到“{what}”对应的条目。当前方案：{self._items_text()}", "drop")
        kept = [i for i in items if i not in gone]
        error = self._save(kept, "对话中删除 " + "、".join(i.resource_id for i in gone))
        if error:
            return Answer(f"未能修改方案：{error}", "drop")
        names = "、".join(cite(i.model_dump()) for i in gone)
        return Answer(
            f"已从方案中删除 {names}，方案更新为第 {self.plan.version} 版。剩余：{self._items_text()}",
            "drop",
            cited=[i.resource_id for i in gone],
            category=gone[0].category,
            plan_changed=True,
        )

    def replace(self, old_ids: list[str], new_id: str) -> Answer:
        """Swap the items of ``old_ids`` (or, if none given, the items of the new resource's category)."""
        blocked = self._editable()
        if blocked:
            return Answer(blocked, "replace")
        assert self.plan is not None
        resource = self.resource(new_id)
        if resource is None:
            return Answer(f"资源目录中没有编号为 {new_id} 的资源。", "replace")
        new_item = self._item_for(resource)
        targets = (
            [i for i in self.plan.items if i.resource_id in old_ids]
            if old_ids
            else [i for i in self.plan.items if i.category == new_item.category]
        )
        if not targets:
            return self.add(new_id)
        if any(i.resource_id == new_id for i in targets):
            return Answer(f"{cite(resource)} 已在方案中。", "replace", cited=[new_id])
        new_item = new_item.model_copy(update={"need": targets[0].need, "category": targets[0].category})
        items: list[PlanItem] = []
        for item in self.plan.items:
            if item is targets[0]:
                items.append(new_item)
            elif item not in targets:
                items.append(item)
        error = self._save(items, f"对话中将 {'、'.join(t.resource_id for t in targets)} 换成 {new_id}")
        if error:
            return Answer(f"未能替换：{error}", "replace", cited=[new_id])
        old = "、".join(cite(t.model_dump()) for t in targets)
        return Answer(
            f"已将方案中的 {old} 换成 {cite(resource)}，方案更新为第 {self.plan.version} 版。",
            "replace",
            cited=[*(t.resource_id for t in targets), new_id],
            category=new_item.category,
            plan_changed=True,
        )

    # -- helpers -------------------------------------------------------------------------------------

    def _items_text(self) -> str:
        if not self.plan or not self.plan.items:
            return "（无条目）"
        return "；".join(
            f"{self.taxonomy.category_label(i.category)} {cite(i.model_dump())}" for i in self.plan.items
        )

    def _category_resources(self, category: str) -> list[dict[str, Any]]:
        items, _ = self.catalog.list(ResourceFilter(area=self.case.county, category=category, limit=500))
        return items

    def _pool(self, category: str, person: Person) -> list[dict[str, Any]]:
        """Eligible resources of a category for a person in the case's county (the matcher decides)."""
        return [
            r
            for r in self._category_resources(category)
            if self.matcher.eligible(r, person, self.case.county)
        ]

    def _home_places(self) -> list[str]:
        """Towns, streets and communities named in the assessment (for "离家近")."""
        text = self.case.text
        places = [m.group(1) for m in PLACE.finditer(text)]
        area = self.taxonomy.areas.get(self.case.county)
        if area:
            places += [alias.rstrip("镇乡街道") for alias in area.aliases if alias in text]
        return [p for p in dict.fromkeys(places) if len(p) >= 2]

    @staticmethod
    def _meets(resource: Mapping[str, Any], wish: str) -> bool:
        text = {
            "weekend": resource.get("schedule_description") or "",
            "free": resource.get("cost_description") or "",
            "at_home": f"{resource.get('name')}{resource.get('description')}",
        }.get(wish, "")
        pattern = {"weekend": WEEKEND_OPEN, "free": FREE, "at_home": AT_HOME}.get(wish)
        return bool(pattern and pattern.search(text))

    def _rank(
        self, resource: Mapping[str, Any], wishes: set[str], places: list[str], scores: Mapping[str, float]
    ) -> tuple[float, ...]:
        where = f"{resource.get('address')}{resource.get('name')}{resource.get('description')}"
        near = sum(1 for p in places if p in where) if "near" in wishes else 0
        local = 0 if resource.get("service_areas") == [CITYWIDE] else 1
        wished = sum(1 for w in wishes if self._meets(resource, w))
        available = (resource.get("capacity") or {}).get("available")
        return (near, wished, local, scores.get(resource["id"], 0.0), min(available or 0, 50))

    def _facts(self, resource: Mapping[str, Any], places: list[str] | None = None) -> str:
        parts = []
        for key, label in (
            ("address", "地址"),
            ("schedule_description", "时间"),
            ("cost_description", "收费"),
            ("phone", "电话"),
        ):
            value = resource.get(key)
            if value:
                parts.append(f"{label}：{value}")
        capacity = resource.get("capacity") or {}
        available = capacity.get("available", resource.get("capacity_available"))
        if available is not None:
            parts.append(f"余 {available} 个名额")
        if places:
            hits = [p for p in places if p in f"{resource.get('address')}{resource.get('name')}"]
            if hits:
                parts.insert(0, f"与住址同在{hits[0]}")
        return "；".join(parts)

    def _passes(self, resource: Mapping[str, Any], person: Person) -> str:
        taxonomy = self.taxonomy
        county = self.case.county
        areas = resource.get("service_areas") or []
        parts = [f"服务区域覆盖{taxonomy.area_label(county)}" if county in areas else "全市范围服务"]
        groups = [g for g in resource.get("target_groups") or [] if g in person.groups]
        parts.append(
            f"服务对象含{'、'.join(taxonomy.group_label(g) for g in groups)}" if groups else "不限对象"
        )
        if person.age is not None and (
            resource.get("minimum_age") is not None or resource.get("maximum_age") is not None
        ):
            parts.append(f"年龄{person.age}岁符合要求")
        available = (resource.get("capacity") or {}).get("available")
        if available is not None:
            parts.append(f"尚余{available}个名额")
        return "；".join(parts)
