"""Grounding: only eligible matches of this case that exist and are active in the catalog may be cited."""

from __future__ import annotations

import logging

import pytest

from assistant.planning.grounding import NOT_ELIGIBLE, UNKNOWN, ground
from assistant.planning.schemas import DraftPlan, PlanItem
from tests.planning.conftest import CATALOG, ID_NUMBER, FakeCatalog, make_result


def item(rid: str, category: str = "meal_assistance", **fields: str) -> PlanItem:
    return PlanItem(need=fields.pop("need", "做饭困难"), category=category, resource_id=rid, **fields)


def test_plan_never_cites_ineligible_resource() -> None:
    plan = DraftPlan(items=[item("meal-1"), item("psych-far", "psychological_support"), item("made-up-1")])
    grounded = ground(plan, make_result(), FakeCatalog())
    assert [i.resource_id for i in grounded.items] == ["meal-1"]
    assert {d["resource_id"]: d["reason"] for d in grounded.dropped} == {
        "psych-far": NOT_ELIGIBLE,
        "made-up-1": NOT_ELIGIBLE,
    }


def test_resource_missing_from_the_catalog_is_dropped() -> None:
    catalog = FakeCatalog({k: v for k, v in CATALOG.items() if k != "bath-1"})
    grounded = ground(DraftPlan(items=[item("bath-1", "bathing_assistance")]), make_result(), catalog)
    assert grounded.items == []
    assert grounded.dropped[0]["reason"] == UNKNOWN


def test_resource_that_went_inactive_since_matching_is_dropped() -> None:
    result = make_result(closed=True)  # the matcher offered closed-1 (stale), the catalog says inactive
    grounded = ground(DraftPlan(items=[item("closed-1", "bathing_assistance")]), result, FakeCatalog())
    assert grounded.items == []
    assert "inactive" in grounded.dropped[0]["reason"]


def test_duplicate_items_are_dropped() -> None:
    grounded = ground(DraftPlan(items=[item("meal-1"), item("meal-1")]), make_result(), FakeCatalog())
    assert len(grounded.items) == 1
    assert grounded.dropped[0]["reason"].startswith("与前一条")


def test_names_and_organisations_come_from_the_catalog_not_the_writer() -> None:
    plan = DraftPlan(items=[item("meal-1", resource_name="编造的名字", responsible="编造的机构")])
    kept = ground(plan, make_result(), FakeCatalog()).items[0]
    assert kept.resource_name == CATALOG["meal-1"]["name"]
    assert kept.responsible == "月亮山社区居委会"


def test_category_is_corrected_to_the_need_the_resource_was_matched_for() -> None:
    kept = ground(DraftPlan(items=[item("bath-1", "legal_aid")]), make_result(), FakeCatalog()).items[0]
    assert kept.category == "bathing_assistance"


def test_dropped_items_are_logged_without_personal_data(caplog: pytest.LogCaptureFixture) -> None:
    plan = DraftPlan(items=[item("made-up-1", need=f"身份证{ID_NUMBER}")])
    with caplog.at_level(logging.WARNING, logger="assistant.planning.grounding"):
        grounded = ground(plan, make_result(), FakeCatalog())
    assert "made-up-1" in caplog.text
    assert ID_NUMBER not in caplog.text
    assert ID_NUMBER not in grounded.dropped[0]["need"]


def test_earlier_drops_are_kept() -> None:
    plan = DraftPlan(items=[item("x-1")], dropped=[{"resource_id": "y", "reason": "先前"}])
    assert len(ground(plan, make_result(), FakeCatalog()).dropped) == 2


def test_one_catalog_lookup_for_the_whole_plan() -> None:
    catalog = FakeCatalog()
    ground(DraftPlan(items=[item("meal-1"), item("bath-1", "bathing_assistance")]), make_result(), catalog)
    assert catalog.calls == 1
