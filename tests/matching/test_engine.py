"""The engine over a real Chroma store: sync through the change hook, drift checks, rebuilds, unmet causes."""

from __future__ import annotations

import pytest

from assistant.app.container import Container
from assistant.catalog.schemas import ResourceData
from assistant.matching.engine import MatchingEngine
from assistant.matching.types import MatchRequest, Member
from assistant.matching.vector_index import IndexMismatch, VectorIndex
from tests.utils.factories import resource_payload

YX = "420222"


def _add(container: Container, rid: str, **fields: object) -> None:
    container.catalog.create(ResourceData.model_validate(resource_payload(rid, county=YX, **fields)))


def test_an_edit_reaches_the_index_through_the_hook_without_rebuild(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    _add(container, "meal-1")
    request = MatchRequest(text="老人做饭困难", county=YX, groups=["elderly"], age=75)
    assert [m.resource_id for n in engine_with_hash.match(request).needs for m in n.matches] == ["meal-1"]

    current = container.catalog.get("meal-1")
    data = ResourceData.model_validate(
        {k: v for k, v in current.items() if k not in ("last_modified", "version")}
        | {"capacity": {"available": 0, "maximum": 30}}
    )
    container.catalog.update("meal-1", data, current["version"])
    result = engine_with_hash.match(request)
    assert result.needs == []
    assert [(u.category, u.reason_code) for u in result.unmet] == [("meal_assistance", "all_full")]
    assert engine_with_hash.check_index().ok


def test_index_check_reports_drift_and_rebuild_mends_it(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    _add(container, "meal-1")
    _add(container, "meal-2")
    assert engine_with_hash.index is not None
    engine_with_hash.index.delete(["meal-2"])  # as if a crash lost an index write
    with container.db.session() as session:  # a change that bypassed the hook
        from assistant.catalog.models import Resource

        session.get(Resource, "meal-1").description = "改过的描述"  # type: ignore[union-attr]
    report = engine_with_hash.check_index()
    assert report.missing == ["meal-2"] and report.stale_text == ["meal-1"] and not report.ok
    assert engine_with_hash.rebuild_index() == 2
    assert engine_with_hash.check_index().ok


def test_unmet_need_names_its_cause_and_is_logged(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    _add(
        container,
        "tutor-1",
        categories=["tutoring"],
        target_groups=["left_behind_child"],
        minimum_age=6,
        maximum_age=16,
    )
    request = MatchRequest(
        text="孙子作业没人辅导，学习跟不上。",
        county=YX,
        groups=["elderly"],
        age=70,
        members=[Member(relation="孙子", age=4, groups=["left_behind_child"])],
    )
    result = engine_with_hash.match(request, case_id="case-x")
    assert [(u.category, u.reason_code) for u in result.unmet] == [("tutoring", "age_mismatch")]
    from sqlalchemy import select

    from assistant.matching.models import UnmetNeedRecord

    with container.db.session() as session:
        rows = session.scalars(select(UnmetNeedRecord)).all()
        assert [(r.category, r.county, r.case_id) for r in rows] == [("tutoring", YX, "case-x")]


def test_member_need_uses_member_eligibility(engine_with_hash: MatchingEngine, container: Container) -> None:
    _add(
        container,
        "tutor-1",
        categories=["tutoring"],
        target_groups=["left_behind_child"],
        minimum_age=6,
        maximum_age=16,
    )
    request = MatchRequest(
        text="孙子作业没人辅导。",
        county=YX,
        groups=["elderly"],
        age=70,
        members=[Member(relation="孙子", age=9, groups=["left_behind_child"])],
    )
    [need] = engine_with_hash.match(request).needs
    assert need.need.person.relation == "孙子" and need.matches[0].resource_id == "tutor-1"
    assert any("孙子" in reason for reason in need.matches[0].reasons)


def test_a_different_embedder_never_mixes_vectors(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    _add(container, "meal-1")
    with pytest.raises(IndexMismatch):
        VectorIndex(engine_with_hash.client, "another-model", 64)


def test_bad_county_is_a_clear_error(engine_with_hash: MatchingEngine) -> None:
    with pytest.raises(ValueError, match="区县代码"):
        engine_with_hash.match(MatchRequest(text="做饭难", county="999999"))


def test_chroma_where_and_the_in_memory_mask_select_the_same_resources(
    engine_with_hash: MatchingEngine, container: Container
) -> None:
    """The eligibility rule exists twice — as a Chroma ``where`` (server-side search) and as a vectorised mask
    (the hot path); both must pick exactly the resources ``eligibility.check`` accepts."""
    from assistant.matching.eligibility import chroma_where
    from assistant.matching.types import Person

    _add(container, "open-1", target_groups=[], minimum_age=None)
    _add(container, "old-1", minimum_age=60)
    _add(container, "full-1", capacity={"available": 0, "maximum": 5})
    _add(container, "shut-1", status="temporarily closed")
    _add(
        container,
        "kids-1",
        categories=["tutoring"],
        target_groups=["left_behind_child"],
        minimum_age=6,
        maximum_age=16,
    )
    _add(container, "dy-1", service_areas=["420281"])
    index = engine_with_hash.index
    assert index is not None
    for person in (
        Person(age=70, groups=["elderly"]),
        Person(age=9, groups=["left_behind_child"]),
        Person(age=None, groups=[]),
    ):
        where = chroma_where(person, YX)
        found = index.collection.get(where=where)["ids"]
        mask = engine_with_hash._mask(person, YX)
        masked = {index.ids[i] for i in mask.nonzero()[0]}
        rule = {rid for rid in index.ids if engine_with_hash.eligible(container.catalog.get(rid), person, YX)}
        assert set(found) == masked == rule, person
