"""The structured-output adapter: parsing real-world replies, one repair, typed failures."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import BaseMessage, HumanMessage
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.planning.llm import (
    LLMFailure,
    build_chat_model,
    candidate_methods,
    extract_json,
    invoke_structured,
    model_label,
    strip_reasoning,
)
from tests.planning.conftest import RecordingFakeChat, fake_llm


class Answer(BaseModel):
    goals: list[str]
    days: int = Field(default=7, ge=0, le=365)


QUESTION = [HumanMessage("请输出")]


def test_think_blocks_are_stripped_even_when_unterminated() -> None:
    assert strip_reasoning('<think>先想想{"a":1}</think>\n{"goals": []}') == '{"goals": []}'
    assert strip_reasoning("<think>想到一半被截断") == ""


@pytest.mark.parametrize(
    "reply",
    [
        '{"goals": ["助餐"]}',
        '```json\n{"goals": ["助餐"]}\n```',
        '好的，方案如下：\n```\n{"goals": ["助餐"]}\n```\n请审阅。',
        '<think>用户要一个方案…{"goals": ["错"]}</think>{"goals": ["助餐"]}',
        '方案：{"goals": ["助餐"]} 以上。',
    ],
)
def test_json_is_found_in_the_shapes_real_models_answer(reply: str) -> None:
    assert extract_json(reply) == {"goals": ["助餐"]}


def test_text_without_json_is_an_error() -> None:
    with pytest.raises(ValueError, match="没有 JSON"):
        extract_json("抱歉，我无法完成。")


def test_valid_answer_from_a_plain_chat_model() -> None:
    model = fake_llm({"goals": ["助餐"], "days": 30})
    answer = invoke_structured(model, Answer, QUESTION)
    assert answer.value == Answer(goals=["助餐"], days=30)
    assert (answer.method, answer.attempts) == ("plain", 1)


def test_invalid_answer_gets_one_repair_request_with_the_error() -> None:
    model = fake_llm('{"goals": "不是列表"}', {"goals": ["助餐"]})
    answer = invoke_structured(model, Answer, QUESTION)
    assert answer.value.goals == ["助餐"]
    assert answer.attempts == 2
    repair = model.seen[1][-1]
    assert "goals" in str(repair.content) and "不符合结构" in str(repair.content)


def test_two_invalid_answers_raise_invalid() -> None:
    model = fake_llm("不是 JSON", '{"days": 999}')
    with pytest.raises(LLMFailure) as caught:
        invoke_structured(model, Answer, QUESTION)
    assert caught.value.kind == "invalid"
    assert len(model.seen) == 2


def test_empty_answer_is_a_failure_not_an_empty_plan() -> None:
    model = fake_llm("", "<think>只有思考</think>")
    with pytest.raises(LLMFailure) as caught:
        invoke_structured(model, Answer, QUESTION)
    assert caught.value.kind == "empty"


def test_model_errors_are_unavailable_and_not_retried() -> None:
    class Broken(RecordingFakeChat):
        def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Any:
            self.seen.append(messages)
            raise RuntimeError("boom")

    model = Broken(messages=iter([]), seen=[])
    with pytest.raises(LLMFailure) as caught:
        invoke_structured(model, Answer, QUESTION)
    assert caught.value.kind == "unavailable"
    assert len(model.seen) == 1


def test_repair_request_does_not_echo_personal_data() -> None:
    model = fake_llm("电话13871234567，不是 JSON", {"goals": []})
    invoke_structured(model, Answer, QUESTION)
    assert "13871234567" not in str(model.seen[1][-1].content)


def test_no_llm_is_built_without_a_base_url() -> None:
    assert build_chat_model(Settings(llm_base_url="")) is None


def test_chat_openai_is_configured_for_openai_compatible_servers() -> None:
    model = build_chat_model(
        Settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="qwen2.5-7b-instruct", llm_timeout=12)
    )
    assert isinstance(model, ChatOpenAI)
    assert model_label(model) == "qwen2.5-7b-instruct"
    assert model.max_tokens is None  # would be sent as max_completion_tokens, which many servers ignore
    assert model.extra_body == {"max_tokens": 4096}
    assert (model.request_timeout, model.max_retries) == (12, 0)


def test_auto_tries_all_methods_and_a_configured_one_only_itself() -> None:
    model = build_chat_model(Settings(llm_base_url="http://127.0.0.1:9/v1"))
    assert model is not None
    assert candidate_methods(model, "auto") == ["json_schema", "function_calling", "json_mode"]
    assert candidate_methods(model, "json_mode") == ["json_mode"]
    assert candidate_methods(FakeListChatModel(responses=["x"]), "json_schema") == ["plain"]
