"""Case files: a malformed line is reported by line number and field, nothing is half-read."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.evaluation.cases import CaseFileError, load_cases
from assistant.matching.types import Person
from tests.evaluation.conftest import case_line, write_cases


def test_valid_file_loads_and_split_filters(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path / "cases.jsonl",
        [
            case_line("a", split="dev"),
            "",
            "# comments and blank lines are skipped",
            case_line("b", members=[{"relation": "孙子", "age": 9, "groups": ["left_behind_child"]}]),
        ],
    )
    assert [c.id for c in load_cases(path)] == ["a", "b"]
    assert [c.id for c in load_cases(path, "dev")] == ["a"]
    assert [c.id for c in load_cases(path, "test")] == ["b"]


def test_broken_line_is_reported_with_line_number_and_field(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path / "cases.jsonl",
        [case_line("a"), case_line("b"), case_line("c", expected_categories=["meal_assistance", "flying"])],
    )
    with pytest.raises(CaseFileError) as info:
        load_cases(path)
    [error] = info.value.errors
    assert (error.line, error.field) == (3, "expected_categories")
    assert "flying" in str(info.value) and "第 3 行" in str(info.value)


def test_invalid_json_and_missing_field_are_each_reported(tmp_path: Path) -> None:
    missing = case_line("b")
    del missing["county"]
    path = write_cases(tmp_path / "cases.jsonl", [case_line("a"), '{"id": "x", ', missing])
    with pytest.raises(CaseFileError) as info:
        load_cases(path)
    assert [(e.line, e.field) for e in info.value.errors] == [(2, ""), (3, "county")]
    assert "JSON" in info.value.errors[0].message and "缺少" in info.value.errors[1].message


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"split": "train"}, "split"),
        ({"county": "110000"}, "county"),
        ({"groups": ["elderly", "alien"]}, "groups"),
        ({"age": -3}, "age"),
        ({"expected_categories": []}, "expected_categories"),
        ({"relevant_resources": {"r1": 3}}, "relevant_resources.r1"),
        ({"members": [{"relation": "孙子", "age": "nine"}]}, "members.0.age"),
        ({"absent_categories": ["meal_assistance"]}, ""),
    ],
)
def test_each_contract_field_is_checked(tmp_path: Path, overrides: dict, field: str) -> None:
    path = write_cases(tmp_path / "cases.jsonl", [case_line("a", **overrides)])
    with pytest.raises(CaseFileError) as info:
        load_cases(path)
    assert info.value.errors[0].line == 1
    assert info.value.errors[0].field == field


def test_duplicate_id_names_the_first_line(tmp_path: Path) -> None:
    path = write_cases(tmp_path / "cases.jsonl", [case_line("a"), case_line("b"), case_line("a")])
    with pytest.raises(CaseFileError) as info:
        load_cases(path)
    assert info.value.errors[0].line == 3 and "第 1 行" in info.value.errors[0].message


def test_empty_or_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CaseFileError):
        load_cases(write_cases(tmp_path / "empty.jsonl", [""]))
    with pytest.raises(CaseFileError, match="不存在"):
        load_cases(tmp_path / "nope.jsonl")


def test_request_carries_the_facts_but_never_the_labels(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path / "cases.jsonl",
        [case_line("a", members=[{"relation": "孙子", "age": 9, "groups": ["left_behind_child"]}])],
    )
    [case] = load_cases(path)
    request = case.request(top_k=10)
    assert (request.county, request.groups, request.age, request.top_k) == ("420222", ["elderly"], 82, 10)
    assert request.members[0].relation == "孙子"
    assert "expected" not in request.model_dump_json()


def test_person_takes_the_case_age_and_adds_the_groups_the_matcher_read(tmp_path: Path) -> None:
    path = write_cases(
        tmp_path / "cases.jsonl",
        [case_line("a", members=[{"relation": "孙子", "age": 9, "groups": ["left_behind_child"]}])],
    )
    [case] = load_cases(path)
    grandson = case.person(Person(relation="孙子", age=40, groups=["dibao"]))
    assert grandson.age == 9 and grandson.groups == ["left_behind_child", "dibao"]
    applicant = case.person(Person())
    assert applicant.age == 82 and applicant.groups == ["elderly"]
    # A member the text names but the case does not list: the matcher's reading is all there is.
    named = Person(relation="孙女", age=7, groups=["left_behind_child"])
    assert case.person(named) == named


def test_applicant_age_read_by_the_matcher_is_used_when_the_case_gives_none(tmp_path: Path) -> None:
    path = write_cases(tmp_path / "cases.jsonl", [case_line("a", age=None)])
    [case] = load_cases(path)
    assert case.person(Person(age=75)).age == 75
