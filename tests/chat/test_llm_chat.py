"""LLM mode: LangChain tool calling over the case tools, streamed, grounded and redacted.

A scripted fake chat model stands in for the OpenAI-compatible server (no network)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from assistant.app.container import Container
from assistant.auth.models import User
from assistant.auth.service import create_user
from assistant.chat.agent import ThinkFilter
from assistant.chat.service import ChatService
from tests.chat.conftest import HSG

Step = Callable[[list[BaseMessage]], AIMessage]
CITED = re.compile(r"「[^」]+」（([a-z]+-[a-z]+-\d{3})）")


class ScriptedChatModel(BaseChatModel):
    """Answers each call with the next step of a script; streams tool calls and text in pieces."""

    script: list[Any]
    calls: list[list[BaseMessage]] = []
    bound: list[str] = []
    fail: bool = False

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        self.bound = [t.name for t in tools]
        return self

    def _next(self, messages: list[BaseMessage]) -> AIMessage:
        if self.fail:
            raise ConnectionError("LLM server down")
        self.calls.append(list(messages))
        return self.script.pop(0)(messages)  # type: ignore[no-any-return]

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._next(messages))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._next(messages)
        for index, call in enumerate(message.tool_calls):
            import json

            args = json.dumps(call["args"], ensure_ascii=False)
            half = len(args) // 2
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        {"name": call["name"], "args": args[:half], "id": call["id"], "index": index}
                    ],
                )
            )
            yield ChatGenerationChunk(
                message=AIMessageChunk(
                    content="",
                    tool_call_chunks=[{"name": None, "args": args[half:], "id": None, "index": index}],
                )
            )
        text = str(message.content)
        for start in range(0, len(text), 7):
            yield ChatGenerationChunk(message=AIMessageChunk(content=text[start : start + 7]))


class Planner:
    def __init__(self, llm: BaseChatModel) -> None:
        self.llm = llm


def tool_call(name: str, **args: Any) -> AIMessage:
    return AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": f"call-{name}"}])


def last_tool_result(messages: list[BaseMessage]) -> str:
    return next(str(m.content) for m in reversed(messages) if isinstance(m, ToolMessage))


@pytest.fixture(scope="module")
def caseworker(chat_container: Container) -> User:
    with chat_container.db.session() as session:
        user, _ = create_user(session, name="llm-chat-caseworker", role="caseworker", county=HSG)
        session.flush()
        session.expunge(user)
    return user


def service(container: Container, llm: BaseChatModel) -> ChatService:
    return ChatService(
        container.settings, container.db, container.catalog, container.matcher, Planner(llm), container.cases
    )


def test_tool_calls_run_against_the_case_and_the_answer_streams(
    chat_container: Container,
    caseworker: User,
    new_case: Callable[..., dict[str, Any]],
    worker: dict[str, str],
) -> None:
    made = new_case()
    case_id = made["case"]["id"]

    def answer(messages: list[BaseMessage]) -> AIMessage:
        first = CITED.search(last_tool_result(messages))
        assert first is not None
        return AIMessage(content=f"<think>先看工具结果</think>建议改用「{first.group(0)}」，离家更近。")

    model = ScriptedChatModel(
        script=[lambda m: tool_call("find_alternatives", category="meal_assistance", near_home=True), answer]
    )
    turn = service(chat_container, model).ask(
        case_id, "有没有离家近一点的助餐点？我电话13912345678", caseworker
    )
    deltas = list(turn.deltas())
    text = "".join(deltas)
    assert len(deltas) > 2  # streamed in pieces
    assert "<think>" not in text and "先看工具结果" not in text
    proposed = turn.answer.proposed if turn.answer else []
    assert proposed and proposed[0] in text
    assert turn.message is not None and turn.message.meta["mode"] == "llm"
    assert turn.message.meta["model"] == "ScriptedChatModel"
    assert {"find_alternatives", "add_plan_item", "remove_plan_item", "check_eligibility"} <= set(model.bound)

    system, *_, human = model.calls[0]
    assert (
        isinstance(system, SystemMessage)
        and "匹配助手" in str(system.content)
        and case_id in str(system.content)
    )
    assert isinstance(human, HumanMessage)
    assert "13912345678" not in str(human.content) and "[电话]" in str(human.content)


def test_plan_edits_through_tools_are_saved(
    chat_container: Container,
    caseworker: User,
    new_case: Callable[..., dict[str, Any]],
    api: Any,
    worker: dict[str, str],
) -> None:
    made = new_case()
    first = made["plan"]["items"][0]["resource_id"]
    model = ScriptedChatModel(
        script=[
            lambda m: tool_call("remove_plan_item", resource_id=first),
            lambda m: AIMessage(content=f"已删除 {first}。"),
        ]
    )
    turn = service(chat_container, model).ask(made["case"]["id"], f"把 {first} 去掉", caseworker)
    turn.run()
    assert turn.answer is not None and turn.answer.plan_changed
    plan = api.get(f"/api/plans/{made['plan']['id']}", headers=worker).json()
    assert plan["version"] == 2
    assert first not in {i["resource_id"] for i in plan["items"]}


def test_ids_no_tool_returned_are_flagged(
    chat_container: Container, caseworker: User, new_case: Callable[..., dict[str, Any]]
) -> None:
    made = new_case()
    model = ScriptedChatModel(script=[lambda m: AIMessage(content="可以试试「虚构食堂」（hsg-meal-999）。")])
    turn = service(chat_container, model).ask(made["case"]["id"], "推荐一个助餐点", caseworker)
    text = turn.run()
    assert "hsg-meal-999" in text and "未经系统核实" in text
    assert turn.message is not None and turn.message.meta["unverified"] == ["hsg-meal-999"]


def test_llm_failure_falls_back_to_offline_answer(
    chat_container: Container, caseworker: User, new_case: Callable[..., dict[str, Any]]
) -> None:
    made = new_case()
    model = ScriptedChatModel(script=[], fail=True)
    text = service(chat_container, model).ask(made["case"]["id"], "为什么推荐第一个", caseworker).run()
    assert "大模型服务暂不可用" in text
    assert made["plan"]["items"][0]["resource_id"] in text


@pytest.mark.parametrize(
    "pieces,expected",
    [
        (["<think>a</think>答案"], "答案"),
        (["<thi", "nk>隐藏</th", "ink>显示"], "显示"),
        (["前文<", "b>后文"], "前文<b>后文"),
        (["正文", "<think>未结束"], "正文"),
    ],
)
def test_think_blocks_are_hidden_even_when_split(pieces: list[str], expected: str) -> None:
    think = ThinkFilter()
    assert "".join(think.feed(p) for p in pieces) + think.flush() == expected
