"""Small stand-ins for the matcher and the planner, so case logic is tested in milliseconds.

The fake matcher finds, for each configured need, the catalog's resources of that category that are
eligible now (same rule as DESIGN.md); the fake planner turns each need's first match into a plan item.
"""

from __future__ import annotations

from typing import Any, cast

from assistant.app.container import Container
from assistant.cases.plan_checks import ineligibility_reasons
from assistant.cases.service import CaseService
from assistant.catalog.schemas import ResourceData
from assistant.catalog.service import CatalogService
from assistant.matching.models import UnmetNeedRecord
from assistant.matching.types import Match, MatchRequest, MatchResult, Need, NeedMatches, Person, Unmet
from assistant.planning.schemas import DraftPlan, FollowUp, PlanItem, UnmetStep
from tests.utils.factories import resource_payload

YX, DY, CITY = "420222", "420281", "420200"


class FakeMatcher:
    def __init__(
        self, catalog: CatalogService, needs: list[Need] | None = None, only: set[str] | None = None
    ) -> None:
        self.catalog = catalog
        self.only = only  # offer only these resource ids (a store shared between runs holds others)
        self.needs = (
            needs
            if needs is not None
            else [Need(text="老人做饭困难，希望有人送餐", category="meal_assistance")]
        )
        self.calls: list[tuple[MatchRequest, str | None]] = []

    def eligible(self, resource: dict[str, Any], person: Person, county: str) -> bool:
        return not ineligibility_reasons(resource, person, county)

    def match(
        self,
        request: MatchRequest,
        *,
        config: str = "hybrid",
        record_unmet: bool = True,
        case_id: str | None = None,
    ) -> MatchResult:
        self.calls.append((request, case_id))
        result = MatchResult(config=config)
        for need in self.needs:
            person = need.person
            if person.relation == "申请人":
                person = Person(age=request.age, groups=list(request.groups))
            need = need.model_copy(update={"person": person})
            matches = [
                Match(
                    resource_id=r["id"],
                    name=r["name"],
                    categories=r["categories"],
                    service_areas=r["service_areas"],
                    target_groups=r["target_groups"],
                    score=1.0,
                )
                for r in cast(list[dict[str, Any]], self.catalog.all())
                if need.category in r["categories"]
                and (self.only is None or r["id"] in self.only)
                and self.eligible(r, person, request.county)
            ]
            if matches:
                result.needs.append(NeedMatches(need=need, matches=matches))
            else:
                result.unmet.append(
                    Unmet(text=need.text, category=need.category, reason="本辖区无此类资源", person=person)
                )
        if record_unmet and result.unmet:
            with self.catalog.db.session() as session:
                for unmet in result.unmet:
                    session.add(
                        UnmetNeedRecord(
                            county=request.county,
                            category=unmet.category,
                            reason_code="no_resource_in_area",
                            reason=unmet.reason,
                            need_text=unmet.text,
                            person_relation=unmet.person.relation,
                            case_id=case_id,
                        )
                    )
        return result


class FakePlanner:
    """Each need's first match becomes an item; follow-ups at 7 and 30 days. ``extra_ids`` tests grounding."""

    def __init__(self, extra_ids: list[str] | None = None) -> None:
        self.extra_ids = extra_ids or []
        self.names_seen: list[list[str]] = []

    def draft(self, request: MatchRequest, result: MatchResult, *, names: list[str] = []) -> DraftPlan:  # noqa: B006
        self.names_seen.append(list(names))
        items = [
            PlanItem(
                need=n.need.text,
                category=n.need.category,
                resource_id=n.matches[0].resource_id,
                resource_name=n.matches[0].name,
                action="按需提供服务",
            )
            for n in result.needs
        ]
        items += [
            PlanItem(need="编造的需求", category="legal_aid", resource_id=rid) for rid in self.extra_ids
        ]
        return DraftPlan(
            goals=["保障基本生活"],
            items=items,
            follow_ups=[FollowUp(due_in_days=7, focus="服务是否到位"), FollowUp(due_in_days=30)],
            unmet=[UnmetStep(need=u.text, category=u.category, reason=u.reason) for u in result.unmet],
            summary="测试方案",
            author="offline",
        )

    def revise(
        self, plan: DraftPlan, instruction: str, request: MatchRequest, result: MatchResult
    ) -> DraftPlan:
        return plan.model_copy(update={"summary": f"已按意见修改：{instruction}"})


def add_resource(container: Container, rid: str, county: str = YX, **overrides: Any) -> dict[str, Any]:
    return container.catalog.create(
        ResourceData.model_validate(resource_payload(rid, county=county, **overrides))
    )


def fake_cases(container: Container, needs: list[Need] | None = None, **planner: Any) -> CaseService:
    """Install a CaseService with fakes on the container (the app then uses it too)."""
    service = CaseService(
        container.db, container.catalog, FakeMatcher(container.catalog, needs), FakePlanner(**planner)
    )
    container.cases = service  # type: ignore[misc]
    return service
