"""Cases and plan versions on fakes: redaction, drafting, grounding, edits, confirmation, rejection."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from assistant.app.container import Container
from assistant.audit.models import AuditEvent
from assistant.auth.models import User
from assistant.cases.models import Case, FollowUpTask, Referral
from assistant.cases.schemas import PlanEdit
from assistant.cases.service import CaseService
from assistant.catalog.schemas import ResourceData
from assistant.errors import Conflict, Forbidden, Invalid, NotFound
from assistant.matching.types import Need, Person
from assistant.planning.schemas import PlanItem
from tests.cases.conftest import MakeUser, elder_case
from tests.cases.fakes import DY, YX, add_resource, fake_cases
from tests.utils.factories import resource_payload


def edit(plan_version: int, items: list[PlanItem], **extra: object) -> PlanEdit:
    return PlanEdit.model_validate(
        {"base_version": plan_version, "items": [i.model_dump() for i in items], **extra}
    )


def available(container: Container, rid: str) -> int | None:
    return container.catalog.get(rid)["capacity"]["available"]


def test_case_keeps_original_text_in_store_but_shows_and_sends_only_redacted(
    container: Container, cases: CaseService, worker: User
) -> None:
    case = cases.create_case(elder_case(notes="儿子电话13807148888"), worker)
    shown = case.model_dump_json()
    for secret in ("张桂兰，78岁", "420222194801011234", "13907141234", "13807148888"):
        assert secret not in case.text + case.notes
    assert "[姓名]" in case.text and "[身份证号]" in case.text and "[电话]" in case.text
    assert "13807148888" not in shown
    with container.db.session() as session:
        stored = session.get(Case, case.id)
        assert stored is not None and "420222194801011234" in stored.text
        audit = session.scalars(select(AuditEvent).where(AuditEvent.entity_id == case.id)).all()
        assert [e.action for e in audit] == ["case.create"]
        assert "张桂兰" not in json.dumps(audit[0].detail, ensure_ascii=False)
    cases.draft_plan(case.id, worker)
    request, case_id = cases.matcher.calls[-1]  # type: ignore[attr-defined]
    assert case_id == case.id and "13907141234" not in request.text and "张桂兰" not in request.text
    assert cases.planner.names_seen[-1] == ["张桂兰"]  # type: ignore[attr-defined]


def test_caseworker_creates_cases_only_in_own_county(cases: CaseService, make_user: MakeUser) -> None:
    with pytest.raises(Forbidden):
        cases.create_case(elder_case(county=DY), make_user("caseworker", YX))
    with pytest.raises(Forbidden):
        cases.create_case(elder_case(), make_user("resource_manager", YX))
    assert cases.create_case(elder_case(county=DY), make_user("admin", YX)).county == DY


def test_case_county_must_be_a_county_and_groups_known() -> None:
    with pytest.raises(ValueError, match="区县"):
        elder_case(county="420200")
    with pytest.raises(ValueError, match="救助对象"):
        elder_case(groups=["martian"])
    assert elder_case(groups=["低保对象", "elderly"]).groups == ["dibao", "elderly"]


def test_draft_is_version_one_with_matches_and_items_citing_resources(
    cases: CaseService, worker: User
) -> None:
    case = cases.create_case(elder_case(), worker)
    plan = cases.draft_plan(case.id, worker)
    assert (plan.version, plan.status, plan.author) == (1, "draft", "offline")
    assert [i.resource_id for i in plan.items] == ["yx-meal-1"]
    assert plan.matches[0]["matches"][0]["resource_id"] == "yx-meal-1"
    assert cases.get_case(case.id, worker).plans[0].id == plan.id


def test_stored_draft_never_cites_a_resource_outside_the_match_result(
    container: Container, worker: User
) -> None:
    add_resource(container, "yx-meal-1")
    add_resource(container, "dy-legal-1", county=DY, categories=["legal_aid"], target_groups=[])
    cases = fake_cases(container, extra_ids=["dy-legal-1"])
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    assert [i.resource_id for i in plan.items] == ["yx-meal-1"]
    assert plan.dropped[-1]["resource_id"] == "dy-legal-1"


def test_drafting_again_creates_a_new_plan_and_supersedes_the_open_one(
    cases: CaseService, worker: User
) -> None:
    case = cases.create_case(elder_case(), worker)
    first = cases.draft_plan(case.id, worker)
    second = cases.draft_plan(case.id, worker)
    assert second.id != first.id
    assert cases.get_plan(first.id, worker).status == "superseded"
    with pytest.raises(Conflict):
        cases.confirm_plan(first.id, worker)


def test_edit_makes_a_new_version_and_keeps_every_old_one(
    container: Container, cases: CaseService, worker: User
) -> None:
    add_resource(container, "yx-bath-1", categories=["bathing_assistance"])
    case = cases.create_case(elder_case(), worker)
    plan = cases.draft_plan(case.id, worker)
    bath = PlanItem(need="洗澡困难", category="bathing_assistance", resource_id="yx-bath-1")
    edited = cases.edit_plan(plan.id, edit(1, [*plan.items, bath], notes="加上助浴"), worker)
    assert edited.version == 2 and edited.status == "edited" and edited.version_by == worker.name
    assert [i.resource_id for i in edited.items] == ["yx-meal-1", "yx-bath-1"]
    assert edited.items[1].resource_name == "测试老年幸福食堂"  # filled in from the catalog
    assert edited.follow_ups == plan.follow_ups  # omitted sections are kept
    removed = cases.edit_plan(plan.id, edit(2, [bath], follow_ups=[]), worker)
    versions = cases.plan_versions(plan.id, worker)
    assert [(v.version, v.kind, len(v.items)) for v in versions] == [
        (1, "draft", 1),
        (2, "edit", 2),
        (3, "edit", 1),
    ]
    assert versions[1].notes == "加上助浴" and removed.follow_ups == []


def test_edit_based_on_a_stale_version_is_refused(cases: CaseService, worker: User) -> None:
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    cases.edit_plan(plan.id, edit(1, plan.items, notes="甲"), worker)
    with pytest.raises(Conflict) as info:
        cases.edit_plan(plan.id, edit(1, plan.items, notes="乙"), worker)
    assert info.value.extra["current_version"] == 2


@pytest.mark.parametrize(
    "rid,overrides,expected",
    [
        ("dy-meal-1", {"county": DY}, "服务区域"),
        ("yx-kids-1", {"target_groups": ["left_behind_child"], "minimum_age": None}, "服务对象限于"),
        ("yx-old-1", {"minimum_age": 80}, "要求年满80周岁"),
        ("yx-paused-1", {"status": "temporarily closed"}, "暂停服务"),
        ("yx-full-1", {"capacity": {"available": 0, "maximum": 10}}, "名额已满"),
    ],
)
def test_added_item_must_be_eligible_now_else_422_naming_item_and_reason(
    container: Container,
    cases: CaseService,
    worker: User,
    rid: str,
    overrides: dict[str, object],
    expected: str,
) -> None:
    county = str(overrides.pop("county", YX))
    add_resource(container, rid, county=county, **overrides)
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    bad = PlanItem(need="另一项需求", category="meal_assistance", resource_id=rid)
    with pytest.raises(Invalid) as info:
        cases.edit_plan(plan.id, edit(1, [*plan.items, bad]), worker)
    assert rid in info.value.message and "第 2 条" in info.value.message and expected in info.value.message
    assert info.value.extra["items"][0]["index"] == 1
    assert cases.get_plan(plan.id, worker).version == 1


def test_added_item_citing_an_unknown_resource_is_refused(cases: CaseService, worker: User) -> None:
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    ghost = PlanItem(need="x", category="meal_assistance", resource_id="no-such-resource")
    with pytest.raises(Invalid, match="资源不存在"):
        cases.edit_plan(plan.id, edit(1, [ghost]), worker)


def test_caseworker_may_add_an_eligible_resource_the_matcher_did_not_offer(
    container: Container, cases: CaseService, worker: User
) -> None:
    add_resource(container, "city-legal-1", county="420200", categories=["legal_aid"], target_groups=[])
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    legal = PlanItem(need="赡养纠纷", category="legal_aid", resource_id="city-legal-1")
    assert cases.edit_plan(plan.id, edit(1, [*plan.items, legal]), worker).version == 2


def test_member_need_is_judged_on_the_member_not_the_applicant(container: Container, worker: User) -> None:
    add_resource(
        container,
        "yx-tutor-1",
        categories=["tutoring"],
        target_groups=["left_behind_child"],
        minimum_age=6,
        maximum_age=15,
    )
    grandson = Person(relation="孙子", age=9, groups=["left_behind_child"])
    cases = fake_cases(container, needs=[Need(text="孙子功课跟不上", category="tutoring", person=grandson)])
    case = cases.create_case(
        elder_case(members=[{"relation": "孙子", "age": 9, "groups": ["left_behind_child"]}]), worker
    )
    plan = cases.draft_plan(case.id, worker)
    assert [i.resource_id for i in plan.items] == ["yx-tutor-1"]
    confirmed = cases.confirm_plan(plan.id, worker)
    assert confirmed.referrals[0].person_relation == "孙子"


def test_confirm_opens_referrals_reserves_places_and_schedules_follow_ups(
    container: Container, cases: CaseService, worker: User
) -> None:
    case = cases.create_case(elder_case(), worker)
    plan = cases.draft_plan(case.id, worker)
    confirmed = cases.confirm_plan(plan.id, worker, version=1)
    assert confirmed.status == "confirmed" and confirmed.decided_by == worker.name
    assert [(r.resource_id, r.status, r.place_reserved) for r in confirmed.referrals] == [
        ("yx-meal-1", "pending", True)
    ]
    assert available(container, "yx-meal-1") == 4
    assert sorted(
        (t.due_date - confirmed.follow_up_tasks[0].due_date).days for t in confirmed.follow_up_tasks
    ) == [
        0,
        23,
    ]
    assert cases.get_case(case.id, worker).status == "planned"
    with pytest.raises(Conflict):
        cases.confirm_plan(plan.id, worker)
    with pytest.raises(Conflict):
        cases.edit_plan(plan.id, edit(1, plan.items), worker)


def test_confirm_rechecks_catalog_and_reports_items_no_longer_valid(
    container: Container, cases: CaseService, worker: User
) -> None:
    add_resource(container, "yx-bath-1", categories=["bathing_assistance"])
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    bath = PlanItem(need="洗澡困难", category="bathing_assistance", resource_id="yx-bath-1")
    cases.edit_plan(plan.id, edit(1, [*plan.items, bath]), worker)
    paused = ResourceData.model_validate(
        resource_payload("yx-bath-1", categories=["bathing_assistance"], status="inactive")
    )
    container.catalog.update("yx-bath-1", paused, None)

    with pytest.raises(Conflict) as info:
        cases.confirm_plan(plan.id, worker)
    assert [(p["resource_id"], p["reason_code"]) for p in info.value.extra["invalid"]] == [
        ("yx-bath-1", "not_eligible")
    ]
    assert "停用" in info.value.message
    assert cases.get_plan(plan.id, worker).status == "edited"
    assert available(container, "yx-meal-1") == 5  # nothing reserved

    confirmed = cases.confirm_plan(plan.id, worker, skip_invalid=True)
    assert [r.resource_id for r in confirmed.referrals] == ["yx-meal-1"]
    assert [s.resource_id for s in confirmed.skipped] == ["yx-bath-1"]
    assert confirmed.version == 3 and [i.resource_id for i in confirmed.items] == ["yx-meal-1"]
    assert available(container, "yx-meal-1") == 4


def test_confirm_when_every_item_failed_confirms_nothing_even_when_skipping(
    container: Container, cases: CaseService, worker: User
) -> None:
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    full = ResourceData.model_validate(
        resource_payload("yx-meal-1", capacity={"available": 0, "maximum": 30})
    )
    container.catalog.update("yx-meal-1", full, None)
    with pytest.raises(Conflict) as info:
        cases.confirm_plan(plan.id, worker, skip_invalid=True)
    assert info.value.extra["invalid"][0]["reason_code"] == "no_capacity"
    with container.db.session() as session:
        assert session.scalars(select(Referral)).all() == []
        assert session.scalars(select(FollowUpTask)).all() == []


def test_unlimited_resource_is_referred_without_reserving(container: Container, worker: User) -> None:
    add_resource(container, "yx-meal-open", capacity={"available": None, "maximum": None})
    cases = fake_cases(container)
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    referral = cases.confirm_plan(plan.id, worker).referrals[0]
    assert referral.place_reserved is False and available(container, "yx-meal-open") is None


def test_rejected_plan_cannot_be_confirmed_or_edited(cases: CaseService, worker: User) -> None:
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    with pytest.raises(Invalid):
        cases.reject_plan(plan.id, "   ", worker)
    rejected = cases.reject_plan(plan.id, "家属不同意", worker)
    assert (rejected.status, rejected.reject_reason) == ("rejected", "家属不同意")
    with pytest.raises(Conflict):
        cases.confirm_plan(plan.id, worker)
    with pytest.raises(Conflict):
        cases.edit_plan(plan.id, edit(1, plan.items), worker)


def test_revise_goes_through_the_planner_and_makes_a_version(cases: CaseService, worker: User) -> None:
    plan = cases.draft_plan(cases.create_case(elder_case(), worker).id, worker)
    revised = cases.revise_plan(plan.id, "改为每周三次，联系电话13907141234", 1, worker)
    assert revised.version == 2 and revised.summary.startswith("已按意见修改")
    assert "13907141234" not in revised.summary and "13907141234" not in revised.notes


def test_other_county_caseworker_gets_403_and_unknown_ids_404(
    cases: CaseService, worker: User, make_user: MakeUser
) -> None:
    case = cases.create_case(elder_case(), worker)
    plan = cases.draft_plan(case.id, worker)
    other = make_user("caseworker", DY)
    for call in (
        lambda: cases.get_case(case.id, other),
        lambda: cases.get_plan(plan.id, other),
        lambda: cases.confirm_plan(plan.id, other),
        lambda: cases.draft_plan(case.id, other),
    ):
        with pytest.raises(Forbidden):
            call()
    with pytest.raises(NotFound):
        cases.get_case("case-missing", worker)
    with pytest.raises(NotFound):
        cases.get_plan("plan-missing", worker)
    city = make_user("caseworker", "420200")
    assert cases.get_case(case.id, city).id == case.id


def test_listing_shows_only_own_county_with_filters_and_paging(
    cases: CaseService, worker: User, make_user: MakeUser
) -> None:
    admin = make_user("admin", YX)
    for _ in range(3):
        cases.create_case(elder_case(), worker)
    cases.create_case(elder_case(county=DY), admin)
    page = cases.list_cases(worker, limit=2)
    assert page.total == 3 and len(page.items) == 2 and {c.county for c in page.items} == {YX}
    assert cases.list_cases(admin).total == 4
    assert cases.list_cases(admin, county=DY).total == 1
    assert cases.list_cases(worker, status="closed").total == 0
    with pytest.raises(Forbidden):
        cases.list_cases(worker, county=DY)


def test_a_later_plan_cannot_book_a_service_the_person_already_has(
    container: Container, cases: CaseService, worker: User
) -> None:
    case = cases.create_case(elder_case(), worker)
    cases.confirm_plan(cases.draft_plan(case.id, worker).id, worker)
    again = cases.draft_plan(case.id, worker)
    with pytest.raises(Conflict) as info:
        cases.confirm_plan(again.id, worker)
    assert info.value.extra["invalid"][0]["reason_code"] == "duplicate"
    assert "进行中的工单" in info.value.message
    assert available(container, "yx-meal-1") == 4
