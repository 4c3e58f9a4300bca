"""Hard eligibility: a resource is offered for a person only if every rule holds.

The rule (DESIGN.md): status active; serves the case's county or citywide; target groups empty or
shared with the person; the person's age (when known) within the resource's ages; capacity not exhausted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.catalog.schemas import STATUS_LABELS
from assistant.matching.types import Person
from assistant.taxonomy.model import CITYWIDE

CAPACITY_FULL = "名额已满"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reasons: tuple[str, ...]  # why eligible (for the caseworker) or why not


def has_capacity(resource: Mapping[str, Any]) -> bool:
    available = (resource.get("capacity") or {}).get("available")
    return available is None or available > 0


def check(resource: Mapping[str, Any], person: Person, county: str, labels: Mapping[str, str]) -> Verdict:
    """Judge one resource for one person in one county; ``labels`` maps codes to Chinese labels.

    The reasons are what a caseworker reads: why it fits, or every rule it breaks (also used by the case
    workflow and the chat to explain a refusal, so the decision and its explanation never diverge).
    """
    failures: list[str] = []
    passes: list[str] = []
    status = resource.get("status")
    if status != "active":
        failures.append(f"资源当前状态为“{STATUS_LABELS.get(str(status), status)}”")
    areas = resource.get("service_areas") or []
    if county in areas:
        passes.append(f"服务区域覆盖{labels.get(county, county)}")
    elif CITYWIDE in areas:
        passes.append("全市范围服务")
    else:
        served = "、".join(labels.get(a, a) for a in areas) or "未填写"
        failures.append(f"服务区域为{served}，不含{labels.get(county, county)}")
    groups = resource.get("target_groups") or []
    if groups:
        shared = [g for g in groups if g in person.groups]
        if shared:
            passes.append(f"服务对象含{'、'.join(labels.get(g, g) for g in shared)}")
        else:
            wanted = "、".join(labels.get(g, g) for g in groups)
            failures.append(f"服务对象限于{wanted}，{person.relation}不属于")
    low, high = resource.get("minimum_age"), resource.get("maximum_age")
    if person.age is not None:
        too_young = low is not None and person.age < low
        too_old = high is not None and person.age > high
        if too_young:
            failures.append(f"要求年满{low}周岁，{person.relation}{person.age}岁")
        if too_old:
            failures.append(f"限{high}周岁以下，{person.relation}{person.age}岁")
        if (low is not None or high is not None) and not (too_young or too_old):
            passes.append(f"年龄{person.age}岁符合要求")
    if not has_capacity(resource):
        failures.append(CAPACITY_FULL)
    return Verdict(ok=not failures, reasons=tuple(failures or passes))


def is_eligible(resource: Mapping[str, Any], person: Person, county: str) -> bool:
    return check(resource, person, county, {}).ok


def chroma_where(person: Person, county: str) -> dict[str, Any]:
    """The same rule as a Chroma metadata filter (see ``vector_index.metadata_for``)."""
    clauses: list[dict[str, Any]] = [
        {"active": True},
        {"has_capacity": True},
        {"$or": [{"service_areas": {"$contains": county}}, {"service_areas": {"$contains": CITYWIDE}}]},
    ]
    group_clauses: list[dict[str, Any]] = [{"open_to_all": True}]
    group_clauses += [{"target_groups": {"$contains": g}} for g in person.groups]
    clauses.append({"$or": group_clauses} if len(group_clauses) > 1 else group_clauses[0])
    if person.age is not None:
        clauses.append({"minimum_age": {"$lte": person.age}})
        clauses.append({"maximum_age": {"$gte": person.age}})
    return {"$and": clauses}
