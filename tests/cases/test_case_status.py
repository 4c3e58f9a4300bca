"""A case's status follows its plans: 待制定方案 → 方案待确认 (a draft exists) → 方案已确认 → 服务中 → 已结案."""

from __future__ import annotations

from alembic import command
from sqlalchemy import select

from assistant.auth.models import User
from assistant.cases.models import Case
from assistant.cases.schemas import CaseClose, PlanEdit, ReferralStatusUpdate
from assistant.cases.service import CaseService
from tests.cases.conftest import elder_case


def test_a_case_with_a_draft_plan_reads_plan_awaiting_confirmation(cases: CaseService, worker: User) -> None:
    case = cases.create_case(elder_case(), worker)
    assert (case.status, case.status_label) == ("open", "待制定方案")
    plan = cases.draft_plan(case.id, worker)
    drafted = cases.get_case(case.id, worker)
    assert (drafted.status, drafted.status_label) == ("drafted", "方案待确认")
    body = {"base_version": 1, "items": [i.model_dump() for i in plan.items], "notes": "改频次"}
    cases.edit_plan(plan.id, PlanEdit.model_validate(body), worker)
    assert cases.get_case(case.id, worker).status == "drafted"
    assert [c.id for c in cases.list_cases(worker, status="drafted").items] == [case.id]
    assert cases.list_cases(worker, status="open").total == 0

    cases.confirm_plan(plan.id, worker)
    confirmed = cases.get_case(case.id, worker)
    assert (confirmed.status, confirmed.status_label) == ("planned", "方案已确认")


def test_rejecting_the_only_draft_puts_the_case_back_to_awaiting_a_plan(
    cases: CaseService, worker: User
) -> None:
    case = cases.create_case(elder_case(), worker)
    first = cases.draft_plan(case.id, worker)
    second = cases.draft_plan(case.id, worker)  # supersedes the first
    assert cases.get_case(case.id, worker).status == "drafted"
    cases.reject_plan(second.id, "家属不同意", worker)
    assert cases.get_case(case.id, worker).status == "open"
    assert cases.get_plan(first.id, worker).status == "superseded"


def test_a_new_draft_never_moves_a_confirmed_case_back(cases: CaseService, worker: User) -> None:
    case = cases.create_case(elder_case(), worker)
    referral = cases.confirm_plan(cases.draft_plan(case.id, worker).id, worker).referrals[0]
    later = cases.draft_plan(case.id, worker)
    assert cases.get_case(case.id, worker).status == "planned"
    cases.reject_plan(later.id, "暂不需要", worker)
    assert cases.get_case(case.id, worker).status == "planned"
    for status in ("accepted", "in_service"):
        cases.update_referral(referral.id, ReferralStatusUpdate(status=status), worker)
    cases.draft_plan(case.id, worker)
    assert cases.get_case(case.id, worker).status == "in_service"


def test_closing_a_drafted_case_withdraws_the_draft(cases: CaseService, worker: User) -> None:
    case = cases.create_case(elder_case(), worker)
    plan = cases.draft_plan(case.id, worker)
    closed = cases.close_case(case.id, CaseClose(reason="moved_away"), worker)
    assert closed.status == "closed" and cases.get_plan(plan.id, worker).status == "withdrawn"


def test_migration_moves_stored_open_cases_with_an_unconfirmed_plan_to_drafted(
    cases: CaseService, worker: User
) -> None:
    with_draft = cases.create_case(elder_case(), worker)
    cases.draft_plan(with_draft.id, worker)
    without = cases.create_case(elder_case(), worker)
    rejected = cases.create_case(elder_case(), worker)
    cases.reject_plan(cases.draft_plan(rejected.id, worker).id, "不需要", worker)
    ids = [with_draft.id, without.id, rejected.id]

    def statuses() -> list[str]:
        with cases.db.session() as session:
            rows = session.execute(select(Case.id, Case.status).where(Case.id.in_(ids)))
            found = {row.id: row.status for row in rows}
        return [found[i] for i in ids]

    # The store as it was before the status existed, then migrated again.
    command.downgrade(cases.db.alembic_config(), "0003_cases")
    assert statuses() == ["open", "open", "open"]
    cases.db.migrate()
    assert statuses() == ["drafted", "open", "open"]
