"""Hard eligibility: a resource is offered for a person only if every rule holds.

The rule (DESIGN.md): status active; serves the case's county or citywide; target groups empty or
shared with the person; the person's age (when known) within the resource's ages; capacity not exhausted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.matching.types import Person
from assistant.taxonomy.model import CITYWIDE


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reasons: tuple[str, ...]  # why eligible (for the caseworker) or why not


def has_capacity(resource: Mapping[str, Any]) -> bool:
    available = (resource.get("capacity") or {}).get("available")
    return available is None or available > 0


def check(resource: Mapping[str, Any], person: Person, county: str, labels: Mapping[str, str]) -> Verdict:
    """Judge one resource for one person in one county; ``labels`` maps codes to Chinese labels."""
    failures: list[str] = []
    passes: list[str] = []
    if resource.get("status") != "active":
        failures.append(f"当前状态为“{resource.get('status')}”，未在服务")
    areas = resource.get("service_areas") or []
    if county in areas:
        passes.append(f"服务区域覆盖{labels.get(county, county)}")
    elif CITYWIDE in areas:
        passes.append("全市范围服务")
    else:
        failures.append(f"服务区域不含{labels.get(county, county)}")
    groups = resource.get("target_groups") or []
    if groups:
        shared = [g for g in groups if g in person.groups]
        if shared:
            passes.append(f"服务对象含{'、'.join(labels.get(g, g) for g in shared)}")
        else:
            failures.append(f"仅面向{'、'.join(labels.get(g, g) for g in groups)}")
    low, high = resource.get("minimum_age"), resource.get("maximum_age")
    if person.age is not None:
        if low is not None and person.age < low:
            failures.append(f"年龄{person.age}岁，低于最低年龄{low}岁")
        elif high is not None and person.age > high:
            failures.append(f"年龄{person.age}岁，超过最高年龄{high}岁")
        elif low is not None or high is not None:
            passes.append(f"年龄{person.age}岁符合要求")
    if not has_capacity(resource):
        failures.append("名额已满")
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
