"""Never an ineligible resource in any result, over generated catalogs and cases (hypothesis)."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.app.container import Container
from assistant.catalog.schemas import ResourceData
from assistant.matching.engine import MatchingEngine
from assistant.matching.types import MatchRequest, Member, Person
from assistant.taxonomy import get_taxonomy

TAXONOMY = get_taxonomy()
CATEGORIES = list(TAXONOMY.categories)
GROUPS = list(TAXONOMY.groups)
COUNTIES = TAXONOMY.counties
AREAS = list(TAXONOMY.areas)
TEXTS = [
    "独居老人，做饭困难，洗澡需要人帮忙。",
    "孙子9岁放学后没人管，作业没人辅导，奶奶腿脚不便。",
    "精神分裂症病情稳定，想参加社区康复，家属照顾多年很累。",
    "想找工作，想学技能；家里卫生差，屋里垃圾堆积。",
    "卫生间地面湿滑，摔倒过；轮椅坏了；情绪低落，想不开。",
    "赡养纠纷需要法律援助；每月复查没人陪同。",
]
counter = itertools.count()

resource_strategy = st.fixed_dictionaries(
    {
        "categories": st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=3, unique=True),
        "service_areas": st.lists(st.sampled_from(AREAS), min_size=1, max_size=2, unique=True),
        "target_groups": st.lists(st.sampled_from(GROUPS), max_size=3, unique=True),
        "minimum_age": st.one_of(st.none(), st.integers(0, 80)),
        "span": st.one_of(st.none(), st.integers(0, 60)),
        "status": st.sampled_from(
            ["active", "active", "active", "inactive", "temporarily closed", "defunct"]
        ),
        "available": st.one_of(st.none(), st.integers(0, 3)),
    }
)

case_strategy = st.fixed_dictionaries(
    {
        "text": st.sampled_from(TEXTS),
        "county": st.sampled_from(COUNTIES),
        "groups": st.lists(st.sampled_from(GROUPS), max_size=3, unique=True),
        "age": st.one_of(st.none(), st.integers(0, 100)),
        "child": st.one_of(st.none(), st.integers(0, 17)),
    }
)


def _resource(spec: dict) -> ResourceData:
    n = next(counter)
    low = spec["minimum_age"]
    high = None if spec["span"] is None else min(120, (low or 0) + spec["span"])
    return ResourceData(
        id=f"gen-{n:05d}",
        name=f"生成资源{n}",
        description=f"{TAXONOMY.category_label(spec['categories'][0])}服务",
        categories=spec["categories"],
        service_areas=spec["service_areas"],
        target_groups=spec["target_groups"],
        minimum_age=low,
        maximum_age=high,
        status=spec["status"],
        capacity={"available": spec["available"], "maximum": None if spec["available"] is None else 5},
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(resources=st.lists(resource_strategy, min_size=1, max_size=12), case=case_strategy)
def test_no_result_ever_offers_an_ineligible_resource(
    engine_with_hash: MatchingEngine, container: Container, resources: list[dict], case: dict
) -> None:
    container.catalog.import_resources([_resource(r) for r in resources])
    members = (
        [Member(relation="孙子", age=case["child"], groups=["left_behind_child"])] if case["child"] else []
    )
    request = MatchRequest(
        text=case["text"], county=case["county"], groups=case["groups"], age=case["age"], members=members
    )
    for config in ("hybrid", "dense", "bm25"):
        result = engine_with_hash.match(request, config=config, record_unmet=False)
        for item in result.needs:
            person: Person = item.need.person
            for match in item.matches:
                stored = container.catalog.get(match.resource_id)
                assert engine_with_hash.eligible(stored, person, case["county"]), (config, stored, person)
