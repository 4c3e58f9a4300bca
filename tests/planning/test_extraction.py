"""LLM need extraction: taxonomy codes only, negations dropped, persons mapped, rules as the fallback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from assistant.config import Settings
from assistant.matching.types import MatchRequest, Member, Need
from assistant.planning.extraction import LLMNeedExtractor, negates
from assistant.planning.llm import build_chat_model
from assistant.taxonomy import get_taxonomy
from tests.planning.conftest import ID_NUMBER, MOBILE, fake_llm, sent_text
from tests.utils.llm_stub import LLMStub, Reply

TEXT = f"李奶奶82岁，身份证{ID_NUMBER}，电话{MOBILE}。做饭困难，不需要送餐，女儿每天送饭。孙子10岁，父母在外打工，放学后无人看管。"


class RuleStub:
    """Stands in for the rule-based extractor."""

    def __init__(self) -> None:
        self.calls = 0

    def extract(self, request: MatchRequest) -> list[Need]:
        self.calls += 1
        return [Need(text="规则", category="home_care")]


def request(text: str = TEXT) -> MatchRequest:
    return MatchRequest(
        text=text,
        county="420222",
        groups=["elderly", "dibao"],
        age=82,
        members=[Member(relation="孙子", age=10)],
    )


def needs(*items: dict[str, Any]) -> dict[str, Any]:
    return {"needs": list(items)}


def test_only_taxonomy_codes_are_kept_and_negated_needs_dropped() -> None:
    model = fake_llm(
        needs(
            {"text": "放学后无人看管", "category": "child_care", "person": "孙子"},
            {"text": "不需要送餐", "category": "meal_assistance"},
            {"text": "女儿每天送饭", "category": "meal_assistance", "negated": True},
            {"text": "想要一套房子", "category": "housing"},
            {"text": "腿脚不好", "category": "mobility_assistance"},
        )
    )
    rules = RuleStub()
    found = LLMNeedExtractor(model, rules).extract(request())
    assert [(n.category, n.person.relation) for n in found] == [
        ("child_care", "孙子"),
        ("mobility_assistance", "申请人"),
    ]
    assert found[0].person.age == 10 and found[0].person.groups == ["dibao"]  # household status carries over
    assert found[1].person.age == 82
    assert rules.calls == 0


def test_child_services_go_to_the_child_even_when_the_model_says_applicant() -> None:
    model = fake_llm(needs({"text": "放学后无人看管", "category": "tutoring", "person": "申请人"}))
    found = LLMNeedExtractor(model, RuleStub()).extract(request())
    assert found[0].person.relation == "孙子"


def test_duplicates_of_one_category_for_one_person_are_merged() -> None:
    model = fake_llm(needs({"text": "a", "category": "visiting"}, {"text": "b", "category": "visiting"}))
    assert len(LLMNeedExtractor(model, RuleStub()).extract(request())) == 1


@pytest.mark.parametrize(
    "answer",
    ["完全不是 JSON", '{"needs": "错"}'],
)
def test_any_failure_falls_back_to_the_rules(answer: str) -> None:
    rules = RuleStub()
    found = LLMNeedExtractor(fake_llm(answer, answer), rules).extract(request())
    assert [n.category for n in found] == ["home_care"] and rules.calls == 1


def test_nothing_found_falls_back_to_the_rules() -> None:
    rules = RuleStub()
    LLMNeedExtractor(fake_llm(needs()), rules).extract(request())
    assert rules.calls == 1


def test_the_model_sees_a_redacted_assessment_and_the_category_codes() -> None:
    model = fake_llm(needs({"text": "做饭困难", "category": "meal_assistance"}))
    LLMNeedExtractor(model, RuleStub()).extract(request())
    sent = sent_text(model)
    assert ID_NUMBER not in sent and MOBILE not in sent
    assert "meal_assistance" in sent and "legal_aid" in sent
    assert "<assessment>" in sent and "孙子（10岁）" in sent


def test_negation_is_recognised_near_the_category_words() -> None:
    taxonomy = get_taxonomy()
    assert negates("不需要送餐", "meal_assistance", taxonomy)
    assert negates("暂时不需要助浴服务", "bathing_assistance", taxonomy)
    assert not negates("希望有人帮忙洗澡，不需要送餐", "bathing_assistance", taxonomy)
    assert not negates("不会做饭", "meal_assistance", taxonomy)


@pytest.fixture
def stub() -> Iterator[LLMStub]:
    with LLMStub() as server:
        yield server


@pytest.mark.integration
def test_extraction_through_chat_openai_and_fallback_on_server_error(stub: LLMStub) -> None:
    model = build_chat_model(Settings(llm_base_url=stub.base_url, llm_timeout=5))
    assert model is not None
    rules = RuleStub()
    extractor = LLMNeedExtractor(model, rules)
    stub.push(Reply.structured(needs({"text": "做饭困难", "category": "meal_assistance"})))
    assert [n.category for n in extractor.extract(request())] == ["meal_assistance"]
    stub.push(Reply.error(503))
    assert [n.category for n in extractor.extract(request())] == ["home_care"]
    assert ID_NUMBER not in stub.sent_text()
