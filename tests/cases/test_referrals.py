"""Referral life cycle, capacity release, case closure and follow-up tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from assistant.app.container import Container
from assistant.audit.models import AuditEvent
from assistant.auth.models import User
from assistant.cases.gaps import local_today
from assistant.cases.schemas import CaseClose, ReferralStatusUpdate
from assistant.cases.service import CaseService
from assistant.errors import Conflict, Forbidden, Invalid, NotFound
from tests.cases.conftest import MakeUser, elder_case
from tests.cases.fakes import DY, YX


def confirmed_referral(cases: CaseService, worker: User) -> tuple[str, str]:
    case = cases.create_case(elder_case(), worker)
    plan = cases.confirm_plan(cases.draft_plan(case.id, worker).id, worker)
    return case.id, plan.referrals[0].id


def move(cases: CaseService, rid: str, user: User, status: str, reason: str | None = None) -> object:
    return cases.update_referral(rid, ReferralStatusUpdate(status=status, reason_code=reason), user)


def available(container: Container) -> int | None:
    return container.catalog.get("yx-meal-1")["capacity"]["available"]


def test_referral_walks_pending_accepted_in_service_completed_with_a_timeline(
    cases: CaseService, worker: User
) -> None:
    case_id, rid = confirmed_referral(cases, worker)
    move(cases, rid, worker, "accepted")
    move(cases, rid, worker, "in_service")
    assert cases.get_case(case_id, worker).status == "in_service"
    done = cases.update_referral(rid, ReferralStatusUpdate(status="completed", note="服务三个月"), worker)
    assert done.status == "completed" and done.allowed_next == []
    assert [(e.from_status, e.to_status) for e in done.events] == [
        (None, "pending"),
        ("pending", "accepted"),
        ("accepted", "in_service"),
        ("in_service", "completed"),
    ]


@pytest.mark.parametrize(
    "path,illegal",
    [
        ([], "completed"),
        ([], "in_service"),
        (["accepted", "in_service"], "accepted"),
        (["accepted"], "pending"),
    ],
)
def test_illegal_transition_is_409_naming_the_allowed_ones(
    cases: CaseService, worker: User, path: list[str], illegal: str
) -> None:
    _, rid = confirmed_referral(cases, worker)
    for status in path:
        move(cases, rid, worker, status)
    current = cases.get_referral(rid, worker)
    with pytest.raises(Conflict) as info:
        move(cases, rid, worker, illegal)
    assert info.value.extra["allowed"] == current.allowed_next
    assert all(s in info.value.message for s in current.allowed_next)


def test_finished_referral_cannot_move(cases: CaseService, worker: User) -> None:
    _, rid = confirmed_referral(cases, worker)
    move(cases, rid, worker, "cancelled", "no_longer_interested")
    with pytest.raises(Conflict) as info:
        move(cases, rid, worker, "accepted")
    assert info.value.extra["allowed"] == []


def test_decline_needs_a_known_reason_and_gives_the_place_back(
    container: Container, cases: CaseService, worker: User
) -> None:
    _, rid = confirmed_referral(cases, worker)
    assert available(container) == 4
    with pytest.raises(Invalid, match="原因代码"):
        move(cases, rid, worker, "declined")
    with pytest.raises(Invalid, match="未知的原因代码"):
        move(cases, rid, worker, "declined", "too_far")
    with pytest.raises(Invalid, match="未知的工单状态"):
        move(cases, rid, worker, "lost")
    declined = move(cases, rid, worker, "declined", "no_capacity")
    assert declined.reason_label == "名额不足" and declined.place_reserved is False  # type: ignore[attr-defined]
    assert available(container) == 5
    with container.db.session() as session:
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "resource")).all()
    assert actions.count("resource.reserve") == 1 and actions.count("resource.release") == 1


def test_referrals_of_another_county_are_403_and_unknown_404(
    cases: CaseService, worker: User, make_user: MakeUser
) -> None:
    _, rid = confirmed_referral(cases, worker)
    other = make_user("caseworker", DY)
    with pytest.raises(Forbidden):
        cases.get_referral(rid, other)
    with pytest.raises(Forbidden):
        move(cases, rid, other, "accepted")
    with pytest.raises(NotFound):
        cases.get_referral("ref-missing", worker)
    assert cases.list_referrals(other).total == 0
    assert cases.list_referrals(worker, status="pending").total == 1
    assert cases.list_referrals(make_user("admin", DY), county=YX).total == 1


def test_closing_with_open_referrals_needs_explicit_cancel_which_frees_places(
    container: Container, cases: CaseService, worker: User
) -> None:
    case_id, rid = confirmed_referral(cases, worker)
    with pytest.raises(Conflict) as info:
        cases.close_case(case_id, CaseClose(reason="moved_away"), worker)
    assert info.value.extra["active_referrals"] == [rid]
    closed = cases.close_case(case_id, CaseClose(reason="moved_away", cancel_open_referrals=True), worker)
    assert (closed.status, closed.close_reason_label) == ("closed", "迁出本辖区")
    assert closed.referrals[0].status == "cancelled" and closed.referrals[0].reason_code == "case_closed"
    assert available(container) == 5
    assert cases.list_followups(worker).total == 0
    with pytest.raises(Conflict):
        cases.draft_plan(case_id, worker)
    with pytest.raises(Conflict):
        cases.close_case(case_id, CaseClose(reason="other", note="x"), worker)


def test_case_closes_as_completed_when_every_referral_completed(cases: CaseService, worker: User) -> None:
    case_id, rid = confirmed_referral(cases, worker)
    for status in ("accepted", "in_service", "completed"):
        move(cases, rid, worker, status)
    assert cases.close_case(case_id, CaseClose(), worker).close_reason == "services_completed"


def test_closing_without_referrals_needs_a_reason(cases: CaseService, worker: User) -> None:
    case = cases.create_case(elder_case(), worker)
    plan = cases.draft_plan(case.id, worker)
    with pytest.raises(Invalid, match="结案原因"):
        cases.close_case(case.id, CaseClose(), worker)
    with pytest.raises(Invalid, match="其他"):
        cases.close_case(case.id, CaseClose(reason="other"), worker)
    cases.close_case(case.id, CaseClose(reason="declined_services"), worker)
    assert cases.get_plan(plan.id, worker).status == "withdrawn"


def test_follow_ups_are_due_from_confirmation_and_listed_for_their_caseworker(
    cases: CaseService, worker: User, make_user: MakeUser
) -> None:
    confirmed_referral(cases, worker)
    mine = cases.list_followups(worker)
    assert [f.due_date for f in mine.items] == [local_today() + timedelta(days=d) for d in (7, 30)]
    assert cases.list_followups(worker, due_before=local_today() + timedelta(days=7)).total == 1
    colleague = make_user("caseworker", YX)
    assert cases.list_followups(colleague).total == 0
    assert cases.list_followups(make_user("admin", DY)).total == 2

    done = cases.complete_followup(mine.items[0].id, "老人反映送餐准时", worker)
    assert (done.status, done.done_by, done.note) == ("done", worker.name, "老人反映送餐准时")
    assert cases.list_followups(worker).total == 1
    assert cases.list_followups(worker, status="done").total == 1
    with pytest.raises(Conflict):
        cases.complete_followup(mine.items[0].id, "", worker)
    with pytest.raises(Forbidden):
        cases.complete_followup(mine.items[1].id, "", make_user("caseworker", DY))
    with pytest.raises(NotFound):
        cases.complete_followup("fu-missing", "", worker)
