"""Grounding: a plan cites only resources that are eligible matches of this case and active in the catalog.

Whoever wrote the plan (an LLM that may hallucinate or obey an injected instruction, the offline drafter, a
caseworker's edit), every item is checked here. An item that fails is removed and recorded in
``DraftPlan.dropped`` with the reason (and logged, redacted); names and responsible organisations of the kept
items are taken from the catalog, not from the writer.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from assistant.matching.types import Match, MatchResult
from assistant.planning.schemas import DraftPlan, PlanItem
from assistant.privacy import redact

log = logging.getLogger(__name__)

NOT_ELIGIBLE = "不在本案的可用资源中（未匹配或不符合条件），不得引用"
UNKNOWN = "资源目录中不存在该资源"
DUPLICATE = "与前一条服务安排重复"


class ResourceLookup(Protocol):
    def get_many(self, ids: Any) -> dict[str, dict[str, Any]]: ...


def _inactive(status: object) -> str:
    return f"资源当前状态为“{status}”，不在服务中"


def ground(
    plan: DraftPlan,
    result: MatchResult,
    catalog: ResourceLookup | None = None,
    *,
    resources: Mapping[str, Mapping[str, Any]] | None = None,
    names: tuple[str, ...] | list[str] = (),
) -> DraftPlan:
    """Return a copy of ``plan`` whose items all cite eligible, existing, active resources.

    ``resources`` (id → catalog record) may be given to save a lookup; otherwise ``catalog.get_many`` is asked.
    Without either, only the match-result check applies (unit tests of the drafter).
    """
    eligible = result.eligible_ids()
    need_categories: dict[str, list[str]] = {}
    matches: dict[str, Match] = {}
    for entry in result.needs:
        for match in entry.matches:
            need_categories.setdefault(match.resource_id, []).append(entry.need.category)
            matches.setdefault(match.resource_id, match)
    cited = {item.resource_id for item in plan.items if item.resource_id in eligible}
    if resources is None and catalog is not None:
        resources = catalog.get_many(sorted(cited))
    kept: list[PlanItem] = []
    dropped = list(plan.dropped)
    seen: set[tuple[str, str]] = set()
    for item in plan.items:
        reason = ""
        stored = resources.get(item.resource_id) if resources is not None else None
        if item.resource_id not in eligible:
            reason = NOT_ELIGIBLE
        elif resources is not None and stored is None:
            reason = UNKNOWN
        elif stored is not None and stored.get("status") != "active":
            reason = _inactive(stored.get("status"))
        elif (item.resource_id, item.category) in seen:
            reason = DUPLICATE
        if reason:
            dropped.append(
                {
                    "resource_id": item.resource_id,
                    "resource_name": item.resource_name,
                    "category": item.category,
                    "need": redact(item.need, names),
                    "reason": reason,
                }
            )
            log.warning(
                "plan item dropped by grounding: resource=%s category=%s reason=%s",
                redact(item.resource_id),
                item.category,
                reason,
            )
            continue
        seen.add((item.resource_id, item.category))
        match = matches[item.resource_id]
        categories = need_categories[item.resource_id]
        kept.append(
            item.model_copy(
                update={
                    "resource_name": str((stored or {}).get("name") or match.name),
                    "category": item.category if item.category in categories else categories[0],
                    # the catalog's organisation, not the writer's: a model may invent one
                    "responsible": str((stored or {}).get("organization") or "")
                    or match.organization
                    or item.responsible
                    or match.name,
                }
            )
        )
    return plan.model_copy(update={"items": kept, "dropped": dropped})
