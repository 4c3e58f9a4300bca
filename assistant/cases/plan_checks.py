"""Checking plan items against the catalog as it is now (at edit and at confirmation).

The decision is the matcher's (``eligible(resource, person, county)``); the reasons here only explain a
refusal to the caseworker in words, so the two never disagree on *whether* an item holds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.cases.schemas import ItemProblem
from assistant.matching.eligibility import CAPACITY_FULL, check
from assistant.matching.types import MatchResult, Person
from assistant.planning.schemas import PlanItem
from assistant.taxonomy import get_taxonomy

Eligible = Callable[[dict[str, Any], Person, str], bool]


def household(age: int | None, groups: Sequence[str], members: Sequence[dict[str, Any]]) -> list[Person]:
    """The applicant first, then the listed members, as persons eligibility can be judged on."""
    people = [Person(relation="申请人", age=age, groups=list(groups))]
    for member in members:
        people.append(
            Person(
                relation=str(member.get("relation") or "家庭成员"),
                age=member.get("age"),
                groups=list(member.get("groups") or []),
            )
        )
    return people


def persons_for(item: PlanItem, result: MatchResult, people: list[Person]) -> list[Person]:
    """Whom an item serves: the person of its need when the need is known, else anyone in the household."""
    text = item.need.strip()
    by_text = [n.need.person for n in result.needs if text and n.need.text.strip() == text]
    if by_text:
        return [by_text[0]]
    by_category = [n.need.person for n in result.needs if n.need.category == item.category]
    if len(by_category) == 1:
        return by_category
    return people


def ineligibility_reasons(resource: dict[str, Any], person: Person, county: str) -> list[str]:
    """Why ``resource`` does not serve ``person`` in ``county`` (empty when nothing is wrong), in the words of
    the one eligibility rule (``matching.eligibility.check``)."""
    taxonomy = get_taxonomy()
    labels = {
        **{c: a.label for c, a in taxonomy.areas.items()},
        **{c: g.label for c, g in taxonomy.groups.items()},
    }
    verdict = check(resource, person, county, labels)
    return [] if verdict.ok else list(verdict.reasons)


@dataclass
class ItemCheck:
    """The outcome for one item: the person it serves, or the problem that stops it."""

    person: Person | None
    problem: ItemProblem | None


def _problem(index: int, item: PlanItem, name: str, code: str, reasons: list[str]) -> ItemProblem:
    what = {
        "not_found": "资源不存在",
        "not_eligible": "不符合服务条件",
        "no_capacity": "名额已满",
        "duplicate": "重复",
    }[code]
    detail = "；".join(reasons)
    label = f"第 {index + 1} 条（{name or item.resource_id}，编号 {item.resource_id}）"
    return ItemProblem(
        index=index,
        resource_id=item.resource_id,
        resource_name=name,
        reason_code=code,
        reasons=reasons,
        message=f"{label}{what}" + (f"：{detail}" if detail and detail != what else ""),
    )


def check_item(
    index: int,
    item: PlanItem,
    resource: dict[str, Any] | None,
    people: list[Person],
    county: str,
    eligible: Eligible,
) -> ItemCheck:
    """Decide with ``eligible`` for each candidate person; explain a refusal with the first person's reasons."""
    if resource is None:
        return ItemCheck(None, _problem(index, item, item.resource_name, "not_found", []))
    for person in people:
        if eligible(resource, person, county):
            return ItemCheck(person, None)
    name = str(resource.get("name") or "")
    per_person = [ineligibility_reasons(resource, person, county) for person in people]
    if any(reasons == [CAPACITY_FULL] for reasons in per_person):
        # Someone in the household qualifies; only the places ran out.
        return ItemCheck(None, _problem(index, item, name, "no_capacity", [CAPACITY_FULL]))
    merged: list[str] = []
    for reasons in per_person:
        merged.extend(r for r in reasons if r not in merged)
    return ItemCheck(None, _problem(index, item, name, "not_eligible", merged or ["不符合该资源的服务条件"]))


def full_problem(index: int, item: PlanItem, name: str) -> ItemProblem:
    """An item whose place was taken by someone else between the check and the reservation."""
    return _problem(index, item, name, "no_capacity", [CAPACITY_FULL])


def duplicate_problem(
    index: int, item: PlanItem, name: str, reason: str = "同一需求重复引用同一资源"
) -> ItemProblem:
    return _problem(index, item, name, "duplicate", [reason])
