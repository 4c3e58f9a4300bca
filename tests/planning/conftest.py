"""Hand-built cases for planning tests: a small catalog, a match result, fake chat models."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from assistant.config import Settings
from assistant.matching.types import Match, MatchRequest, MatchResult, Need, NeedMatches, Person, Unmet
from assistant.planning import llm as llm_module
from assistant.planning.service import PlanningService
from tests.utils.factories import resource_payload

ID_NUMBER = "420202194601011236"  # valid GB 11643 check digit
MOBILE = "13871234567"
ASSESSMENT = (
    f"王秀英，女，78岁，独居，身份证{ID_NUMBER}，联系电话{MOBILE}。"
    "腿脚不便，做饭困难，常吃剩饭；一个多月没洗澡；最近情绪低落，常说活着没意思。"
)


def resource(rid: str, category: str, **overrides: Any) -> dict[str, Any]:
    return resource_payload(rid, county="420203", categories=[category], name=f"{rid} 服务点", **overrides)


CATALOG = {
    r["id"]: r
    for r in [
        resource(
            "meal-1",
            "meal_assistance",
            organization="月亮山社区居委会",
            schedule_description="周一至周六11:00-12:30",
        ),
        resource("meal-2", "meal_assistance", organization="河口镇人民政府"),
        resource(
            "bath-1",
            "bathing_assistance",
            organization="福寿康养老服务有限公司",
            cost_description="上门助浴每次120元",
        ),
        resource("closed-1", "bathing_assistance", status="inactive"),
        resource("psych-far", "psychological_support", service_areas=["420222"]),
    ]
}


class FakeCatalog:
    """``get_many`` over a dict, counting calls."""

    def __init__(self, resources: dict[str, dict[str, Any]] | None = None) -> None:
        self.resources = dict(CATALOG if resources is None else resources)
        self.calls = 0

    def get_many(self, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        self.calls += 1
        return {i: self.resources[i] for i in ids if i in self.resources}


def match(rid: str, **overrides: Any) -> Match:
    data = CATALOG.get(rid) or resource(rid, "meal_assistance")
    values: dict[str, Any] = {
        "resource_id": rid,
        "name": data["name"],
        "categories": data["categories"],
        "service_areas": data["service_areas"],
        "target_groups": data["target_groups"],
        "score": 0.9,
        "reasons": ["服务区域覆盖西塞山区"],
        "organization": data["organization"],
        "schedule_description": data["schedule_description"],
        "cost_description": data["cost_description"],
    }
    values.update(overrides)
    return Match(**values)


def make_request(text: str = ASSESSMENT) -> MatchRequest:
    return MatchRequest(text=text, county="420203", groups=["elderly", "dibao"], age=78)


def make_result(*, closed: bool = False) -> MatchResult:
    """Two needs with matches (meal: two options; bathing: one), one unmet (psychological support)."""
    person = Person(relation="申请人", age=78, groups=["elderly", "dibao"])
    bath_matches = [match("bath-1")] + ([match("closed-1")] if closed else [])
    return MatchResult(
        needs=[
            NeedMatches(
                need=Need(text="做饭困难，常吃剩饭", category="meal_assistance", person=person),
                matches=[match("meal-1"), match("meal-2")],
            ),
            NeedMatches(
                need=Need(text="一个多月没洗澡", category="bathing_assistance", person=person),
                matches=bath_matches,
            ),
        ],
        unmet=[
            Unmet(
                text="最近情绪低落，常说活着没意思",
                category="psychological_support",
                reason="西塞山区暂无心理疏导资源",
                reason_code="no_resource_in_area",
                person=person,
            )
        ],
    )


def plan_json(*resource_ids: str, summary: str = "为老人安排助餐和助浴。") -> dict[str, Any]:
    """What a well-behaved model answers: a PlanContent citing ``resource_ids``."""
    categories = {"meal-1": "meal_assistance", "meal-2": "meal_assistance", "bath-1": "bathing_assistance"}
    return {
        "goals": ["保障一日三餐", "保持个人清洁"],
        "items": [
            {
                "need": "做饭困难",
                "category": categories.get(rid, "meal_assistance"),
                "resource_id": rid,
                "resource_name": "模型写的名字",
                "action": "到食堂就餐",
                "frequency": "每周5次",
                "duration": "6个月",
                "responsible": "模型编的机构",
                "start": "确认后一周内",
            }
            for rid in resource_ids
        ],
        "follow_ups": [
            {"due_in_days": 7, "method": "电话回访", "focus": "服务是否开始", "success_criteria": "已开始"}
        ],
        "unmet": [],
        "summary": summary,
    }


class RecordingFakeChat(GenericFakeChatModel):
    """A LangChain fake chat model that records the messages it was sent and answers from a callable."""

    answer: Callable[[list[BaseMessage]], str] | None = None
    seen: list[list[BaseMessage]] = []

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Any:
        self.seen.append(list(messages))
        if self.answer is not None:
            from langchain_core.outputs import ChatGeneration, ChatResult

            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.answer(messages)))])
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def fake_llm(*answers: str | dict[str, Any]) -> RecordingFakeChat:
    """A fake model answering ``answers`` in order (dicts are sent as JSON text)."""
    texts = [a if isinstance(a, str) else json.dumps(a, ensure_ascii=False) for a in answers]
    return RecordingFakeChat(messages=iter([AIMessage(content=t) for t in texts]), seen=[])


def sent_text(model: RecordingFakeChat) -> str:
    return "\n".join(str(m.content) for call in model.seen for m in call)


@pytest.fixture(autouse=True)
def _forget_structured_methods() -> None:
    llm_module.forget_methods()


@pytest.fixture
def plan_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", environment="test")


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog()


@pytest.fixture
def planner_factory(plan_settings: Settings, catalog: FakeCatalog) -> Callable[..., PlanningService]:
    def build(llm: Any = None, **settings_overrides: Any) -> PlanningService:
        settings = plan_settings.model_copy(update=settings_overrides)
        return PlanningService(settings, catalog, llm)

    return build
