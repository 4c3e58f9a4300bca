"""Metrics on small hand-made results; each expected figure is worked out by hand in the comments."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.evaluation.cases import EvalCase
from assistant.evaluation.metrics import (
    ResultView,
    bootstrap_ci,
    eligibility_violations,
    graded_scores,
    paired_bootstrap_difference,
    per_category,
    score_case,
    summarize,
    worst_cases,
)
from assistant.matching.types import Person
from tests.evaluation.conftest import case_line, match, need, result

GRANDSON = [{"relation": "孙子", "age": 9, "groups": ["left_behind_child"]}]


def make_case(case_id: str, **overrides: Any) -> EvalCase:
    return EvalCase.model_validate(case_line(case_id, **overrides))


# Case A expects 助餐 and 助医. The 助餐 need finds a 助餐 resource only at rank 3; the resource carrying
# medical_escort was matched for a home_care need, so it must NOT count for medical_escort.
CASE_A = make_case(
    "A",
    expected_categories=["meal_assistance", "medical_escort"],
    absent_categories=["bathing_assistance"],
)
RESULT_A = result(
    need(
        "meal_assistance",
        match("r1", "home_care"),
        match("r2", "cleaning_assistance"),
        match("r3", "meal_assistance", "home_care"),
    ),
    need("home_care", match("r4", "medical_escort")),
)

# Case B expects 课业辅导 (for the grandson) and 心理疏导 (reported unmet). The visiting need comes first
# and has six matches, so the tutoring resource sits at flattened position 7 while being rank 1 of its need.
# 助餐 is ruled out by the text: r8 carries it as PRIMARY category at rank 3 (a false positive); 助洁 is
# primary only at rank 6 and r7 carries 助餐 only as a secondary category (neither counts).
CASE_B = make_case(
    "B",
    age=67,
    members=GRANDSON,
    expected_categories=["tutoring", "psychological_support"],
    absent_categories=["meal_assistance", "cleaning_assistance"],
)
RESULT_B = result(
    need(
        "visiting",
        match("r6", "visiting"),
        match("r7", "home_care", "meal_assistance"),
        match("r8", "meal_assistance", "visiting"),
        match("r9", "visiting"),
        match("r10", "visiting"),
        match("r11", "cleaning_assistance"),
    ),
    need("tutoring", match("r5", "tutoring"), relation="孙子"),
    unmet=("psychological_support",),
)


def test_recall_counts_a_resource_only_for_the_need_it_was_matched_for() -> None:
    a = score_case(CASE_A, RESULT_A)
    assert a.found(1) == set() and a.found(3) == {"meal_assistance"} and a.found(5) == {"meal_assistance"}
    assert a.missed(5) == ["medical_escort"]
    assert a.detected == {"meal_assistance"}


def test_unmet_need_counts_as_found_and_is_reported_separately() -> None:
    b = score_case(CASE_B, RESULT_B)
    assert b.found(1) == {"tutoring", "psychological_support"}
    assert b.covered[5] == {"tutoring"} and b.unmet_expected == {"psychological_support"}


def test_absent_false_positive_needs_primary_category_within_top_five() -> None:
    assert score_case(CASE_B, RESULT_B).absent_hits == {"meal_assistance"}
    as_need = result(need("cleaning_assistance", match("x", "home_care")))
    assert score_case(CASE_B, as_need).absent_hits == {"cleaning_assistance"}
    assert score_case(CASE_B, result(unmet=("meal_assistance",))).absent_hits == {"meal_assistance"}


def test_summary_micro_averages_over_case_category_pairs() -> None:
    summary = summarize([score_case(CASE_A, RESULT_A), score_case(CASE_B, RESULT_B)])
    # 4 expected pairs: A found nothing at 1, meal at 3; B found both at 1 (tutoring + unmet psych).
    assert summary["recall@1"] == pytest.approx(2 / 4)
    assert summary["recall@3"] == pytest.approx(3 / 4)
    assert summary["recall@5"] == pytest.approx(3 / 4)
    assert summary["resource_recall@5"] == pytest.approx(2 / 4)
    assert summary["found_unmet@5"] == pytest.approx(1 / 4)
    # Flattened: B's tutoring resource is 7th of the whole list, so only the unmet need counts within 5.
    assert summary["flat_recall@5"] == pytest.approx(2 / 4)
    assert summary["need_detection_recall"] == pytest.approx(3 / 4)
    # Claimed categories: A {meal, home_care}, B {visiting, tutoring, psych}: 3 of 5 expected.
    assert summary["need_precision"] == pytest.approx(3 / 5)
    # Absent pairs: A bathing (clean), B meal (hit), B cleaning (clean).
    assert summary["absent_fp_rate"] == pytest.approx(1 / 3)
    assert summary["unmet_rate"] == pytest.approx(1 / 5)
    assert summary["returned"] == 11
    assert summary["eligibility_violations"] == 0 and summary["eligibility_violation_rate"] == 0.0
    assert summary["nDCG@5"] is None and summary["graded_cases"] == 0


def test_whole_text_need_without_category_is_judged_by_resource_categories() -> None:
    baseline = result(need("", match("b1", "meal_assistance"), match("b2", "home_care", "medical_escort")))
    score = score_case(CASE_A, baseline)
    assert score.found(1) == {"meal_assistance"}
    assert score.found(3) == {"meal_assistance", "medical_escort"}
    assert score.detected == set() and score.claimed == set()


def test_single_list_result_is_merged_back_by_score_whatever_groups_it_is_shown_in() -> None:
    # The baseline shows its top resources grouped by primary category; its real order is by score.
    shown = result(
        need("home_care", scored("h1", 0.9, "home_care", "medical_escort"), scored("h2", 0.5, "home_care")),
        need("meal_assistance", scored("m1", 0.7, "meal_assistance")),
        need("medical_escort", scored("e1", 0.4, "medical_escort")),
    )
    view = ResultView.of(shown, single_list=True)
    assert [i.resource_id for i in view.items] == ["h1", "m1", "h2", "e1"]
    assert [i.rank for i in view.items] == [1, 2, 3, 4]
    score = score_case(CASE_A, view)
    # h1 carries medical_escort only as a secondary category under its home_care group: not a cover.
    assert score.found(1) == set() and score.found(3) == {"meal_assistance"}
    assert score.found(5) == {"meal_assistance", "medical_escort"}
    assert score.claimed == set()  # a ranked list asserts no needs
    # Read as shown, each group would be a claimed need found at rank 1.
    assert score_case(CASE_A, shown).found(1) == {"meal_assistance", "medical_escort"}


def scored(resource_id: str, value: float, *categories: str) -> Any:
    m = match(resource_id, *categories)
    m.score = value
    return m


def test_scores_read_the_json_contract_shape_too() -> None:
    assert score_case(CASE_B, RESULT_B.to_json()).found(5) == score_case(CASE_B, RESULT_B).found(5)


def test_latency_percentiles() -> None:
    scores = [score_case(CASE_A, RESULT_A, latency_ms=float(ms)) for ms in range(1, 101)]
    summary = summarize(scores)
    assert summary["latency_p50_ms"] == pytest.approx(50.5)
    assert summary["latency_p95_ms"] == pytest.approx(95.05)


def eligible_by_age(resource: dict[str, Any], person: Person, county: str) -> bool:
    return county in resource["areas"] and (person.age or 0) <= resource["max_age"]


RESOURCES = {
    "r5": {"areas": ["420222"], "max_age": 15},
    "r6": {"areas": ["420222"], "max_age": 120},
}


def test_eligibility_uses_the_case_facts_of_the_person_the_need_names() -> None:
    # The result says the grandson is 40: the check must use the case's own age (9) instead.
    grandson_need = need("tutoring", match("r5", "tutoring"), relation="孙子")
    grandson_need.need.person.age = 40
    assert eligibility_violations(CASE_B, result(grandson_need), RESOURCES, eligible_by_age) == []
    # The same 0-15 resource offered to the 67-year-old applicant is a violation.
    for_applicant = result(need("tutoring", match("r5", "tutoring")))
    [violation] = eligibility_violations(CASE_B, for_applicant, RESOURCES, eligible_by_age)
    assert (violation.resource_id, violation.problem, violation.person) == ("r5", "ineligible", "申请人")


def test_resource_missing_from_catalog_or_out_of_county_is_a_violation() -> None:
    other_county = make_case("C", county="420281")
    found = eligibility_violations(
        other_county,
        result(need("visiting", match("r6", "visiting"), match("gone", "visiting"))),
        RESOURCES,
        eligible_by_age,
    )
    assert [(v.resource_id, v.problem) for v in found] == [("r6", "ineligible"), ("gone", "missing")]
    score = score_case(other_county, RESULT_A, violations=found)
    assert summarize([score])["eligibility_violation_rate"] == pytest.approx(2 / 4)


def test_graded_metrics_match_hand_computed_ndcg() -> None:
    graded = make_case("A", relevant_resources={"r3": 2, "r99": 1})
    # Run r1, r2, r3, r4: DCG = 2/log2(4) = 1; IDCG = 2 + 1/log2(3) = 2.63093 (linear gain, trec_eval).
    scores = graded_scores([graded], {"A": RESULT_A})
    assert scores["A"]["nDCG@5"] == pytest.approx(1 / 2.630930, abs=1e-5)
    assert scores["A"]["nDCG@10"] == pytest.approx(1 / 2.630930, abs=1e-5)
    assert scores["A"]["R@10"] == pytest.approx(0.5)


def test_graded_run_keeps_each_resource_at_its_first_position() -> None:
    graded = make_case("A", relevant_resources={"r3": 2, "r9": 1})
    twice = result(
        need("visiting", match("r9", "visiting")), need("meal_assistance", match("r9"), match("r3"))
    )
    assert ResultView.of(twice).ranked_ids() == ["r9", "r3"]
    # DCG = 1/1 + 2/log2(3) = 2.26186; IDCG = 2.63093.
    scores = graded_scores([graded], {"A": twice})
    assert scores["A"]["nDCG@5"] == pytest.approx(2.261860 / 2.630930, abs=1e-5)
    assert scores["A"]["R@10"] == pytest.approx(1.0)


def test_graded_case_with_empty_result_scores_zero_and_ungraded_cases_are_left_out() -> None:
    graded = make_case("A", relevant_resources={"r3": 2})
    scores = graded_scores([graded, CASE_B], {"A": result(), "B": RESULT_B})
    assert scores == {"A": {"nDCG@5": 0.0, "nDCG@10": 0.0, "R@10": 0.0}}


def test_per_category_recall_and_absent_rates() -> None:
    table = per_category([score_case(CASE_A, RESULT_A), score_case(CASE_B, RESULT_B)])
    assert table["meal_assistance"]["cases"] == 1
    assert (table["meal_assistance"]["recall@1"], table["meal_assistance"]["recall@3"]) == (0.0, 1.0)
    assert table["meal_assistance"]["absent_fp_rate"] == 1.0
    assert table["medical_escort"]["recall@5"] == 0.0
    assert table["psychological_support"]["recall@1"] == 1.0
    assert table["cleaning_assistance"] == {
        "cases": 0,
        "recall@1": None,
        "recall@3": None,
        "recall@5": None,
        "absent": 1,
        "absent_fp_rate": 0.0,
    }


def test_bootstrap_interval_brackets_the_estimate() -> None:
    perfect = [score_case(CASE_B, RESULT_B)] * 10
    assert bootstrap_ci(perfect) == (1.0, 1.0)
    mixed = [score_case(CASE_A, RESULT_A)] * 10 + [score_case(CASE_B, RESULT_B)] * 10
    low, high = bootstrap_ci(mixed)  # type: ignore[misc]
    assert low < summarize(mixed)["recall@5"] < high
    assert bootstrap_ci([]) is None


def test_paired_difference_is_zero_for_identical_runs_and_positive_for_a_dominating_one() -> None:
    cases = [make_case(f"c{i}", expected_categories=["meal_assistance"]) for i in range(20)]
    hit = result(need("meal_assistance", match("m", "meal_assistance")))
    miss = result(need("home_care", match("h", "home_care")))
    good = [score_case(c, hit) for c in cases]
    half = [score_case(c, hit if i % 2 else miss) for i, c in enumerate(cases)]
    same = paired_bootstrap_difference(good, good)
    assert same is not None and same["difference"] == same["low"] == same["high"] == 0.0
    better = paired_bootstrap_difference(good, half)
    assert better is not None and better["difference"] == pytest.approx(0.5) and better["low"] > 0
    assert paired_bootstrap_difference(half, good)["high"] < 0  # type: ignore[index]


def test_bootstrap_of_ndcg_uses_only_graded_cases() -> None:
    def graded(case_id: str, value: float) -> Any:
        case = make_case(case_id, expected_categories=["meal_assistance"])
        return score_case(case, RESULT_A, ir=dict.fromkeys(("nDCG@5", "nDCG@10", "R@10"), value))

    ungraded = [score_case(CASE_B, RESULT_B)]
    low, high = bootstrap_ci([graded("g1", 0.2), graded("g2", 0.4), *ungraded], "nDCG@10")  # type: ignore[misc]
    assert 0.2 <= low <= high <= 0.4
    assert bootstrap_ci(ungraded, "nDCG@10") is None
    better = [graded("g1", 0.5), graded("g2", 0.7)]
    worse = [graded("g1", 0.3), graded("g2", 0.5)]
    diff = paired_bootstrap_difference(better, worse, "nDCG@10")
    assert diff is not None and diff["difference"] == pytest.approx(0.2) and diff["low"] == pytest.approx(0.2)


def test_worst_cases_put_violations_first_then_lowest_recall() -> None:
    a = score_case(CASE_A, RESULT_A)
    b = score_case(CASE_B, RESULT_B)
    clean = score_case(
        make_case("D", expected_categories=["visiting"]), result(need("visiting", match("v", "visiting")))
    )
    broken = score_case(
        CASE_B,
        RESULT_B,
        violations=eligibility_violations(
            CASE_B, result(need("tutoring", match("r5", "tutoring"))), RESOURCES, eligible_by_age
        ),
    )
    assert [s.case_id for s in worst_cases([clean, b, a, broken])] == ["B", "A", "B"]
    assert worst_cases([clean]) == []


def eligible_by_group(resource: dict[str, Any], person: Person, county: str) -> bool:
    return bool(set(resource["groups"]) & set(person.groups))


def test_groups_are_the_case_facts_plus_what_the_matcher_read() -> None:
    resources = {"dibao-only": {"groups": ["dibao"]}, "elderly-only": {"groups": ["elderly"]}}
    # The matcher carried the household's 低保 status to the grandson: not a violation.
    household = need("tutoring", match("dibao-only", "tutoring"), relation="孙子")
    household.need.person.groups = ["left_behind_child", "dibao"]
    assert eligibility_violations(CASE_B, result(household), resources, eligible_by_group) == []
    # A baseline states no person at all: the applicant's groups come from the case (elderly).
    bare = result(need("", match("elderly-only", "visiting")))
    assert eligibility_violations(CASE_B, bare, resources, eligible_by_group) == []
    [violation] = eligibility_violations(
        CASE_B, result(need("", match("dibao-only"))), resources, eligible_by_group
    )
    assert violation.resource_id == "dibao-only"
