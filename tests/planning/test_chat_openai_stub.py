"""The real ChatOpenAI → openai → HTTP path against a local OpenAI-compatible stub (tests/utils/llm_stub.py)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from assistant.config import Settings
from assistant.planning.service import PlanningService
from tests.planning.conftest import ID_NUMBER, MOBILE, FakeCatalog, make_request, make_result, plan_json
from tests.utils.llm_stub import LLMStub, Reply

pytestmark = pytest.mark.integration

MODEL = "stub-qwen2.5"


@pytest.fixture
def stub() -> Iterator[LLMStub]:
    with LLMStub(model=MODEL) as server:
        yield server


@pytest.fixture
def planner(stub: LLMStub, plan_settings: Settings) -> Callable[..., PlanningService]:
    def build(**overrides: Any) -> PlanningService:
        settings = plan_settings.model_copy(
            update={"llm_base_url": stub.base_url, "llm_model": MODEL, "llm_timeout": 5.0, **overrides}
        )
        return PlanningService(settings, FakeCatalog())

    return build


def draft(planner: PlanningService) -> Any:
    return planner.draft(make_request(), make_result(), names=["王秀英"])


def test_valid_plan_through_chat_openai(stub: LLMStub, planner: Callable[..., PlanningService]) -> None:
    stub.push(Reply.structured(plan_json("meal-1", "bath-1")))
    plan = draft(planner())
    assert plan.author == MODEL and plan.fallback_reason == ""
    assert [i.resource_id for i in plan.items] == ["meal-1", "bath-1"]
    body = stub.last()
    assert body["model"] == MODEL
    assert body["response_format"]["type"] == "json_schema"
    assert body["max_tokens"] == 4096 and "max_completion_tokens" not in body


def test_made_up_resource_id_is_dropped(stub: LLMStub, planner: Callable[..., PlanningService]) -> None:
    stub.push(Reply.structured(plan_json("meal-1", "hs-meal-404")))
    plan = draft(planner())
    assert [i.resource_id for i in plan.items] == ["meal-1"]
    assert plan.dropped[0]["resource_id"] == "hs-meal-404"


def test_invalid_json_is_repaired_once_then_falls_back(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    stub.push(Reply.text('{"goals": ["助餐",'), Reply.text("对不起，我无法输出 JSON"))
    plan = draft(planner())
    assert plan.author == "offline" and plan.fallback_reason
    assert len(stub.requests) == 2
    repair = stub.requests[1]["messages"][-1]["content"]
    assert "无法使用" in repair and "JSON" in repair


def test_invalid_json_then_a_valid_repair_is_used(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    stub.push(Reply.text("方案：略"), Reply.structured(plan_json("bath-1")))
    plan = draft(planner())
    assert plan.author == MODEL and [i.resource_id for i in plan.items] == ["bath-1"]


def test_timeout_falls_back_quickly_without_error(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    stub.push(Reply.hang(10))
    started = time.monotonic()
    plan = draft(planner(llm_timeout=0.5))
    assert time.monotonic() - started < 4
    assert plan.author == "offline" and "连接" in plan.fallback_reason
    assert len(stub.requests) == 1  # no retries, no method switching on a dead server


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_fall_back_without_error(
    stub: LLMStub, planner: Callable[..., PlanningService], status: int
) -> None:
    stub.push(Reply.error(status))
    plan = draft(planner())
    assert plan.author == "offline" and str(status) in plan.fallback_reason
    assert len(stub.requests) == 1


def test_unreachable_server_falls_back(plan_settings: Settings) -> None:
    with LLMStub() as gone:
        url = gone.base_url
    settings = plan_settings.model_copy(update={"llm_base_url": url, "llm_timeout": 2.0})
    plan = PlanningService(settings, FakeCatalog()).draft(make_request(), make_result())
    assert plan.author == "offline" and plan.fallback_reason


def test_think_block_before_the_json_is_stripped(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    import json

    stub.push(
        Reply.text("<think>先分析需求，可能用 evil-1 吗？不行。</think>\n" + json.dumps(plan_json("meal-1")))
    )
    plan = draft(planner())
    assert plan.author == MODEL and [i.resource_id for i in plan.items] == ["meal-1"]


def test_json_in_code_fences_is_accepted(stub: LLMStub, planner: Callable[..., PlanningService]) -> None:
    import json

    stub.push(Reply.text("```json\n" + json.dumps(plan_json("bath-1"), ensure_ascii=False) + "\n```"))
    assert [i.resource_id for i in draft(planner()).items] == ["bath-1"]


def test_no_identity_number_phone_or_name_in_any_request(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    stub.push(Reply.text("不是 JSON"), Reply.structured(plan_json("meal-1")))
    service = planner()
    plan = draft(service)
    service.revise(
        plan, f"请联系家属，电话{MOBILE}，再加一次助浴", make_request(), make_result(), names=["王秀英"]
    )
    sent = stub.sent_text()
    assert len(stub.requests) >= 3
    assert ID_NUMBER not in sent and MOBILE not in sent and "王秀英" not in sent
    assert "[身份证号]" in sent and "[电话]" in sent


def test_auto_switches_method_when_the_server_rejects_json_schema_and_remembers(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    def server(body: dict[str, Any]) -> Reply:
        if (body.get("response_format") or {}).get("type") == "json_schema":
            return Reply.reject("response_format json_schema is not supported")
        return Reply.structured(plan_json("meal-1"))

    stub.responder = server
    service = planner()
    plan = draft(service)
    assert plan.author == MODEL
    assert [("tools" in b) for b in stub.requests] == [False, True]
    stub.requests.clear()
    draft(service)
    assert len(stub.requests) == 1 and "tools" in stub.requests[0]  # remembered: straight to function calling


def test_empty_structured_answer_makes_auto_try_the_next_method(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    stub.push(Reply.text(None), Reply.structured(plan_json("bath-1")))
    plan = draft(planner())
    assert plan.author == MODEL
    assert "tools" in stub.requests[1]


def test_configured_json_mode_is_used_as_is(stub: LLMStub, planner: Callable[..., PlanningService]) -> None:
    stub.push(Reply.structured(plan_json("meal-1")))
    plan = draft(planner(llm_structured_method="json_mode"))
    assert plan.author == MODEL
    assert stub.last()["response_format"] == {"type": "json_object"}


def test_configured_method_rejected_by_the_server_falls_back(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    stub.push(Reply.reject("tools are not supported"))
    plan = draft(planner(llm_structured_method="function_calling"))
    assert plan.author == "offline" and len(stub.requests) == 1


def test_stub_streams_for_chat_clients(stub: LLMStub, plan_settings: Settings) -> None:
    from assistant.planning.llm import build_chat_model

    stub.push(Reply.text("您好，这是助手。"))
    model = build_chat_model(plan_settings.model_copy(update={"llm_base_url": stub.base_url}))
    assert model is not None
    chunks = [c.content for c in model.stream("你好")]
    assert "".join(str(c) for c in chunks) == "您好，这是助手。"
    assert stub.last()["stream"] is True


def test_answer_cut_off_at_the_token_limit_is_not_taken_as_a_partial_plan(
    stub: LLMStub, planner: Callable[..., PlanningService]
) -> None:
    import json

    truncated = json.dumps(plan_json("meal-1", "bath-1"))[:120]
    stub.push(Reply("text", content=truncated, finish_reason="length"), Reply.structured(plan_json("bath-1")))
    plan = draft(planner())
    assert [i.resource_id for i in plan.items] == ["bath-1"]
    assert "截断" in stub.requests[1]["messages"][-1]["content"]
