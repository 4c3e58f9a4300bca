"""Two caseworkers confirm the last place of a resource at the same moment: exactly one gets it.

Real threads, each confirmation in its own session, on the SQLite file store of the test (or on
PostgreSQL when ASSISTANT_DATABASE_URL points to one: the body is the same).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from sqlalchemy import select

from assistant.app.container import Container
from assistant.cases.models import Referral
from assistant.cases.schemas import PlanEdit
from assistant.cases.service import CaseService
from assistant.errors import Conflict
from assistant.matching.types import Person
from tests.cases.conftest import MakeUser, elder_case
from tests.cases.fakes import FakeMatcher, FakePlanner, add_resource

ROUNDS = 5


class SlowMatcher(FakeMatcher):
    """Widens the window between the eligibility check and the reservation, where a race would bite."""

    def eligible(self, resource: dict[str, Any], person: Person, county: str) -> bool:
        verdict = super().eligible(resource, person, county)
        time.sleep(0.05)
        return verdict


def race(service: CaseService, plan_ids: list[str], users: list[Any]) -> list[object]:
    barrier = threading.Barrier(len(plan_ids))
    outcomes: list[object] = [None] * len(plan_ids)

    def confirm(slot: int) -> None:
        barrier.wait()
        try:
            outcomes[slot] = service.confirm_plan(plan_ids[slot], users[slot])
        except Exception as exc:  # collected and asserted on below
            outcomes[slot] = exc

    threads = [threading.Thread(target=confirm, args=(slot,)) for slot in range(len(plan_ids))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_confirmations_racing_for_the_last_place_exactly_one_wins(
    container: Container, make_user: MakeUser
) -> None:
    workers = [make_user("caseworker", "420222"), make_user("caseworker", "420222")]
    for _ in range(ROUNDS):
        rid = f"last-place-{uuid.uuid4().hex[:8]}"
        add_resource(container, rid, capacity={"available": 1, "maximum": 20})
        matcher = SlowMatcher(container.catalog, only={rid})
        service = CaseService(container.db, container.catalog, matcher, FakePlanner())
        plan_ids = []
        for worker in workers:
            case = service.create_case(elder_case(), worker)
            plan = service.draft_plan(case.id, worker)
            assert rid in [i.resource_id for i in plan.items]
            plan_ids.append(plan.id)

        outcomes = race(service, plan_ids, workers)

        winners = [o for o in outcomes if not isinstance(o, Exception)]
        losers = [o for o in outcomes if isinstance(o, Exception)]
        assert len(winners) == 1, outcomes
        assert len(losers) == 1 and isinstance(losers[0], Conflict), outcomes
        lost = [p for p in losers[0].extra["invalid"] if p["resource_id"] == rid]
        assert lost and lost[0]["reason_code"] == "no_capacity"
        assert container.catalog.get(rid)["capacity"]["available"] == 0
        with container.db.session() as session:
            referrals = session.scalars(select(Referral).where(Referral.resource_id == rid)).all()
        assert len(referrals) == 1


def test_two_edits_of_the_same_version_at_once_keep_one_and_refuse_the_other(
    container: Container, make_user: MakeUser
) -> None:
    rid = f"edit-race-{uuid.uuid4().hex[:8]}"
    add_resource(container, rid)
    service = CaseService(
        container.db, container.catalog, FakeMatcher(container.catalog, only={rid}), FakePlanner()
    )
    worker = make_user("caseworker", "420222")
    plan = service.draft_plan(service.create_case(elder_case(), worker).id, worker)
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def edit(slot: int) -> None:
        barrier.wait()
        try:
            body = {"base_version": 1, "items": [i.model_dump() for i in plan.items], "notes": f"修改{slot}"}
            outcomes[slot] = service.edit_plan(plan.id, PlanEdit.model_validate(body), worker)
        except Exception as exc:  # collected and asserted on below
            outcomes[slot] = exc

    threads = [threading.Thread(target=edit, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "PlanOut"], outcomes
    assert [v.version for v in service.plan_versions(plan.id, worker)] == [1, 2]
