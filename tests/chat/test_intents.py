"""Offline reading of caseworkers' Chinese phrasings (no store, no model)."""

from __future__ import annotations

import pytest

from assistant.chat.intents import find_categories, parse

KNOWN = {"hsg-meal-001": "花湖街道老年幸福食堂", "yx-bath-001": "“富水暖阳”流动助浴车下乡"}


@pytest.mark.parametrize(
    "text,kind,categories,wishes",
    [
        ("有没有离家近一点的助餐点", "alternatives", ["meal_assistance"], {"near"}),
        ("换一个周末也开的", "alternatives", [], {"weekend"}),
        ("有没有不要钱的助餐", "alternatives", ["meal_assistance"], {"free"}),
        ("需要能送餐上门的", "alternatives", ["meal_assistance"], {"at_home"}),
        ("他能申请助浴吗", "eligibility", ["bathing_assistance"], set()),
        ("把助浴去掉", "drop", ["bathing_assistance"], set()),
        ("不需要助洁了", "drop", ["cleaning_assistance"], set()),
        ("再加上心理疏导", "add", ["psychological_support"], set()),
        ("现在的方案是什么", "summary", [], set()),
        ("你好", "help", [], set()),
    ],
)
def test_phrasings_map_to_intents(text: str, kind: str, categories: list[str], wishes: set[str]) -> None:
    intent = parse(text, KNOWN)
    assert intent.kind == kind
    assert intent.categories[: len(categories)] == categories
    assert intent.wishes == wishes


def test_resource_named_by_full_name_or_id_is_recognised() -> None:
    why = parse("为什么推荐花湖街道老年幸福食堂？", KNOWN)
    assert (why.kind, why.resource_ids) == ("why", ["hsg-meal-001"])
    quoted = parse("yx-bath-001 的条件是什么，他符合吗", KNOWN)
    assert (quoted.kind, quoted.resource_ids) == ("eligibility", ["yx-bath-001"])
    unquoted = parse("为什么选富水暖阳流动助浴车下乡", KNOWN)
    assert unquoted.resource_ids == ["yx-bath-001"]


def test_replacement_separates_old_and_new() -> None:
    swap = parse("把 hsg-meal-001 换成第二个", KNOWN)
    assert swap.kind == "replace"
    assert swap.old_resource_ids == ["hsg-meal-001"]
    assert swap.ordinals == [1]
    use = parse("用富水暖阳流动助浴车下乡替换助浴", KNOWN)
    assert (use.kind, use.resource_ids, use.old_categories) == (
        "replace",
        ["yx-bath-001"],
        ["bathing_assistance"],
    )


def test_replace_without_a_named_resource_asks_for_alternatives() -> None:
    intent = parse("换成周末也开的", KNOWN)
    assert intent.kind == "alternatives"
    assert intent.wishes == {"weekend"}


def test_free_wish_is_not_read_as_dropping() -> None:
    assert parse("不要钱的有没有", KNOWN).kind == "alternatives"


def test_longest_term_decides_the_category() -> None:
    assert find_categories("送餐上门") == ["meal_assistance"]
    assert find_categories("想找个助浴点，再看看助餐")[:2] == ["bathing_assistance", "meal_assistance"]
